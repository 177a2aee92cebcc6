#include "options.h"

#include <functional>
#include <stdexcept>

namespace oc::app {
namespace {

struct Row {
  const char* name;  // the key subcommands use
  const char* flag;  // CLI11 flag spec
  const char* env;   // environment variable, or ""
  const char* help;
  std::function<CLI::Option*(CLI::App&, Options&, const Row&)> bind;
};

template <typename T>
auto bind_member(T Options::*member) {
  return [member](CLI::App& cmd, Options& o, const Row& row) {
    return cmd.add_option(row.flag, o.*member, row.help)->capture_default_str();
  };
}

auto bind_flag(bool Options::*member) {
  return [member](CLI::App& cmd, Options& o, const Row& row) { return cmd.add_flag(row.flag, o.*member, row.help); };
}

const std::vector<Row>& table() {
  static const std::vector<Row> rows = {
      {"model", "-m,--model", "ONNX_CHAT_MODEL", "model folder, hub repo id, or repo id/PRESET",
       bind_member(&Options::model)},
      {"preset", "--preset", "ONNX_CHAT_PRESET", "quantization preset: Q4_MIXED, QUANTIZED, FP16, FP32",
       bind_member(&Options::preset)},
      {"model-arg", "model", "", "hub repo id (org/name[@revision][/PRESET]), a cached model's name, or a folder",
       bind_member(&Options::model)},
      {"revision", "--revision", "", "hub branch, tag or commit (default main; also org/name@REV)",
       bind_member(&Options::revision)},
      {"modalities", "--modalities", "ONNX_CHAT_MODALITIES",
       "inputs to fetch encoders for (comma-separated: text, image, audio, all); `text` saves disk; encoders load on "
       "first use",
       bind_member(&Options::modalities)},
      {"cache-dir", "--cache-dir", "HF_HUB_CACHE",
       "hub cache folder shared with huggingface_hub (default $HF_HOME/hub, ~/.cache/huggingface/hub); "
       "HF_HOME, HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE are honoured too",
       bind_member(&Options::cache_dir)},
      {"verify", "--verify", "", "re-hash cached files against the hub's sha256 and fetch corrupted ones again",
       bind_flag(&Options::verify)},
      {"download-workers", "--download-workers", "ONNX_CHAT_DOWNLOAD_WORKERS", "files downloaded at once",
       bind_member(&Options::download_workers)},
      {"download-retries", "--download-retries", "ONNX_CHAT_DOWNLOAD_RETRIES",
       "attempts after a failed download (each resumes where the last stopped)",
       bind_member(&Options::download_retries)},
      {"provider", "--provider", "ONNX_CHAT_PROVIDER", "execution provider: cpu, cuda, ...",
       bind_member(&Options::provider)},
      {"device-id", "--device-id", "ONNX_CHAT_DEVICE_ID", "accelerator index for the execution provider",
       bind_member(&Options::device_id)},
      {"threads", "--threads", "ONNX_CHAT_THREADS", "intra-op threads per session (0: one per physical core available)",
       bind_member(&Options::threads)},
      {"spin", "--spin", "ONNX_CHAT_SPIN",
       "intra-op threads spin waiting for work during a run: faster on cores the server has to itself, slower "
       "where other processes share them (they still stop once a run returns)",
       bind_flag(&Options::spin)},
      {"matmul-precision", "--matmul-precision", "ONNX_CHAT_MATMUL_PRECISION",
       "compute of 4-bit quantized matmuls: auto (int8 activations on CPU, the export's own elsewhere), exact (as "
       "exported), int8, fp16, fp32",
       [](CLI::App& cmd, Options& o, const Row& row) {
         return cmd.add_option(row.flag, o.matmul_precision, row.help)
             ->capture_default_str()
             ->check(CLI::IsMember({"auto", "exact", "int8", "fp16", "fp32"}, CLI::ignore_case));
       }},
      {"host", "--host", "ONNX_CHAT_HOST", "address to listen on", bind_member(&Options::host)},
      {"port", "--port", "COMFYAI_ONNX_PORT", "port to listen on", bind_member(&Options::port)},
      {"api-key", "--api-key", "ONNX_CHAT_API_KEY", "require 'Authorization: Bearer KEY' on /v1 routes",
       bind_member(&Options::api_key)},
      {"cors-origins", "--cors-origins", "ONNX_CHAT_CORS_ORIGINS",
       "allowed CORS origins, comma-separated ('*' for any); none: no CORS headers",
       [](CLI::App& cmd, Options& o, const Row& row) {
         return cmd.add_option(row.flag, o.cors_origins, row.help)->delimiter(',');
       }},
      {"max-body-bytes", "--max-body-bytes", "ONNX_CHAT_MAX_BODY_BYTES", "largest request body accepted (413 beyond)",
       bind_member(&Options::max_body_bytes)},
      {"http-threads", "--http-threads", "ONNX_CHAT_HTTP_THREADS",
       "HTTP connections served at once (each streaming request holds one)", bind_member(&Options::http_threads)},
      {"shutdown-timeout", "--shutdown-timeout", "ONNX_CHAT_SHUTDOWN_TIMEOUT",
       "seconds in-flight requests may run after SIGINT/SIGTERM before they are cancelled",
       bind_member(&Options::shutdown_timeout)},
      {"max-images", "--max-images", "ONNX_CHAT_MAX_IMAGES", "images per chat request (400 beyond)",
       bind_member(&Options::max_images)},
      {"max-audio-clips", "--max-audio-clips", "ONNX_CHAT_MAX_AUDIO_CLIPS", "audio clips per chat request (400 beyond)",
       bind_member(&Options::max_audio_clips)},
      {"max-image-pixels", "--max-image-pixels", "ONNX_CHAT_MAX_IMAGE_PIXELS",
       "largest image (width x height, read from the header before decoding; 400 beyond)",
       bind_member(&Options::max_image_pixels)},
      {"max-audio-seconds", "--max-audio-seconds", "ONNX_CHAT_MAX_AUDIO_SECONDS",
       "longest audio clip or transcription upload in seconds (400 beyond)", bind_member(&Options::max_audio_seconds)},
      {"max-media-mb", "--max-media-mb", "ONNX_CHAT_MAX_MEDIA_MB",
       "largest encoded image or audio file in MB (after base64 decoding; 400 beyond)",
       bind_member(&Options::max_media_mb)},
      {"encoder-cache-mb", "--encoder-cache-mb", "ONNX_CHAT_ENCODER_CACHE_MB",
       "memory for image/audio encoder outputs reused across requests (0: no cache)",
       bind_member(&Options::encoder_cache_mb)},
      {"media-url-allow", "--media-url-allow", "ONNX_CHAT_MEDIA_URL_ALLOW",
       "hosts http(s) image URLs may be fetched from, comma-separated ('*' any, '*.example.com' subdomains); "
       "none: such URLs are refused",
       [](CLI::App& cmd, Options& o, const Row& row) {
         return cmd.add_option(row.flag, o.media_url_allow, row.help)->delimiter(',');
       }},
      {"media-file-allow", "--media-file-allow", "ONNX_CHAT_MEDIA_FILE_ALLOW",
       "folders file:// image URLs may read from, comma-separated (symlinks and .. resolved); none: refused",
       [](CLI::App& cmd, Options& o, const Row& row) {
         return cmd.add_option(row.flag, o.media_file_allow, row.help)->delimiter(',');
       }},
      {"media-fetch-timeout", "--media-fetch-timeout", "ONNX_CHAT_MEDIA_FETCH_TIMEOUT",
       "seconds allowed to fetch one image URL", bind_member(&Options::media_fetch_timeout)},
      {"queue-size", "--queue-size", "ONNX_CHAT_QUEUE_SIZE",
       "requests waiting beyond the running ones; more answer 429", bind_member(&Options::queue_size)},
      {"parallel", "--parallel", "ONNX_CHAT_PARALLEL",
       "requests running at once (their sequences decode in one batched run where the model allows)",
       bind_member(&Options::parallel)},
      {"kv-budget-mb", "--kv-budget-mb", "ONNX_CHAT_KV_BUDGET_MB",
       "memory for KV caches of running requests and cached prefixes; requests wait beyond it (0: unlimited; "
       "default: half the memory available at start)",
       bind_member(&Options::kv_budget_mb)},
      {"step-tokens", "--step-tokens", "ONNX_CHAT_STEP_TOKENS",
       "prompt tokens prefilled per step while other requests decode (smaller: smoother streams)",
       bind_member(&Options::step_tokens)},
      {"prefill-chunk", "--prefill-chunk", "ONNX_CHAT_PREFILL_CHUNK",
       "prompt tokens per decoder run when nothing else decodes", bind_member(&Options::prefill_chunk)},
      {"no-prefix-cache", "--no-prefix-cache", "ONNX_CHAT_NO_PREFIX_CACHE",
       "do not keep finished sequences for reuse by prompts that start the same way",
       bind_flag(&Options::no_prefix_cache)},
      {"request-timeout", "--request-timeout", "ONNX_CHAT_REQUEST_TIMEOUT",
       "seconds a request may take from arrival to its last token (0: no limit)",
       bind_member(&Options::request_timeout)},
      {"context", "--context", "ONNX_CHAT_CONTEXT", "context length limit in tokens (0: the model's)",
       bind_member(&Options::context)},
      {"system", "--system", "ONNX_CHAT_SYSTEM", "system prompt of the interactive chat",
       bind_member(&Options::system_prompt)},
      {"log-level", "--log-level", "ONNX_CHAT_LOG_LEVEL", "debug, info, warn, error, off",
       bind_member(&Options::log_level)},
      {"log-format", "--log-format", "ONNX_CHAT_LOG_FORMAT",
       "log lines as text or json (one object a line; the request log lines carry their fields either way)",
       [](CLI::App& cmd, Options& o, const Row& row) {
         return cmd.add_option(row.flag, o.log_format, row.help)
             ->capture_default_str()
             ->check(CLI::IsMember({"text", "json"}));
       }},
      {"json", "--json", "", "machine-readable JSON output", bind_flag(&Options::json)},
      {"check", "--check", "",
       "inspect: also load the model and run it (encoder rows per image and per 5 s clip, the logits of a short "
       "prompt, whether a greedy reply ends in EOS)",
       bind_flag(&Options::check)},
      {"messages", "--messages", "",
       "JSON file: the messages (an array), or a request body with messages, tools, documents, chat_template_kwargs",
       bind_member(&Options::messages_file)},
      {"tools", "--tools", "", "JSON file: the tools (an array of tool definitions)",
       bind_member(&Options::tools_file)},
      {"no-generation-prompt", "--no-generation-prompt", "", "render without the assistant generation prompt",
       bind_flag(&Options::no_generation_prompt)},
      {"prompt", "--prompt", "", "generate: raw prompt text, no chat template", bind_member(&Options::prompt)},
      {"max-tokens", "--max-tokens", "", "generate, run: most tokens per reply (run without it: up to the context)",
       bind_member(&Options::max_tokens)},
      {"temperature", "--temperature", "",
       "generate, run: sampling temperature (0: greedy; run without it: the model's defaults)",
       bind_member(&Options::temperature)},
      {"seed", "--seed", "", "generate, run: sampling seed (-1: random)", bind_member(&Options::seed)},
      {"decode", "--decode", "", "tokenize: read ids and print text", bind_flag(&Options::decode)},
      {"no-special", "--no-special", "",
       "tokenize: encode without adding special tokens; decode skipping special tokens",
       bind_flag(&Options::no_special)},
  };
  return rows;
}

}  // namespace

void add_options(CLI::App& cmd, Options& options, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    const Row* found = nullptr;
    for (const auto& row : table())
      if (name == row.name) found = &row;
    if (!found) throw std::logic_error("option not in the table: " + name);
    CLI::Option* opt = found->bind(cmd, options, *found);
    if (*found->env) opt->envname(found->env);
  }
}

}  // namespace oc::app
