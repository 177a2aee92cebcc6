// The one option table: every flag of every subcommand, with its env var, default and help.
// A subcommand asks for the rows it uses by name; nothing else defines flags.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace oc::app {

struct Options {
  // model selection
  std::string model;   // folder, repo id, or repo id/PRESET
  std::string preset;  // Q4_MIXED, QUANTIZED, FP16, FP32
  // runtime
  std::string provider = "cpu";
  int device_id = 0;
  int threads = 0;
  bool spin = false;  // intra-op threads spin waiting for work during a run
  std::string matmul_precision = "auto";
  // hub: model resolution, cache and downloads
  std::string revision;            // hub branch, tag or commit
  std::string modalities = "all";  // inputs to fetch encoders for: text, image, audio, all
  std::string cache_dir;           // empty: HF_HUB_CACHE / $HF_HOME/hub
  bool verify = false;
  int download_workers = 4;
  int download_retries = 5;
  // server
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string api_key;
  std::vector<std::string> cors_origins;  // "*" or exact origins; empty: no CORS headers
  size_t max_body_bytes = 64u << 20;
  int http_threads = 64;
  int shutdown_timeout = 10;  // seconds in-flight requests may take to finish on SIGINT/SIGTERM
  // media input
  int max_images = 8;                         // image parts per request
  int max_audio_clips = 4;                    // audio parts per request
  uint64_t max_image_pixels = 40'000'000;     // width x height, from the header
  double max_audio_seconds = 600;             // one clip (chat) or upload (transcriptions)
  double max_media_mb = 32;                   // encoded size of one image or audio clip
  double encoder_cache_mb = 512;              // encoder outputs kept for reuse; 0: off
  std::vector<std::string> media_url_allow;   // hosts http(s) image URLs may name; "*": any
  std::vector<std::string> media_file_allow;  // folders file:// image URLs may name
  int media_fetch_timeout = 10;               // seconds per image URL
  // engine
  int queue_size = 64;
  int parallel = 16;
  int context = 0;           // 0: the model's
  double kv_budget_mb = -1;  // < 0: from the machine's memory; 0: unlimited
  int step_tokens = 64;
  int prefill_chunk = 256;
  bool no_prefix_cache = false;
  double request_timeout = 0;  // seconds; 0: none
  std::string log_level = "info";
  std::string log_format = "text";
  // interactive chat (run); it shares --max-tokens/--temperature/--seed with generate, but when
  // they are not given it replies up to the context with the model's sampling defaults
  std::string system_prompt;
  // output
  bool json = false;
  bool check = false;  // inspect: run the model's checks
  // generate (one prompt, no server)
  std::string prompt;
  int max_tokens = 32;
  double temperature = 0;
  int64_t seed = -1;
  // tokenize
  bool decode = false;      // ids -> text instead of text -> ids
  bool no_special = false;  // encode without special tokens / decode skipping them
  // chat template rendering (`onnx-chat template`)
  std::string messages_file;
  std::string tools_file;
  bool no_generation_prompt = false;
};

// Adds the named rows of the table to a (sub)command. Unknown names are a programming error.
void add_options(CLI::App& cmd, Options& options, const std::vector<std::string>& names);

}  // namespace oc::app
