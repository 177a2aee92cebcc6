// The one entry point for the rest of the program: turn a model argument into a folder of files
// to load. A local folder is used as is; a hub repo id ("org/name[@rev][/PRESET]", or a bare name
// already in the cache) is resolved against the hub, and the files its preset needs are fetched
// into the shared huggingface_hub cache (or taken from it when offline).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hub/config.h"
#include "hub/download.h"
#include "hub/progress.h"

namespace oc::hub {

struct ResolveOptions {
  std::string preset;                              // overrides the argument's /PRESET; both empty: the default preset
  std::string revision;                            // overrides the argument's @revision; both empty: "main"
  std::vector<std::string> modalities = {"text"};  // see parse_modalities
  std::optional<HubConfig> config;                 // default: config_from_env()
  std::string cache_dir;                           // overrides the config's cache folder
  bool download = true;                            // false: never touch the network (as HF_HUB_OFFLINE=1)
  bool verify = false;                             // re-hash cached LFS files against the hub's sha256
  int workers = 4;
  int retries = 5;
  int backoff_ms = 500;
  ProgressFn progress;  // phases "resolving", "downloading", "done"
};

struct ResolvedComponent {
  std::string component;                    // "decoder_model_merged"
  std::string role;                         // "decoder"
  std::string wanted;                       // the preset's dtype
  std::string dtype;                        // the dtype found
  std::filesystem::path onnx;               // absolute
  std::vector<std::filesystem::path> data;  // absolute, external data files
};

struct ResolvedModel {
  enum class Source { LocalFolder, Cache, Hub };
  Source source = Source::LocalFolder;
  std::filesystem::path folder;  // the local folder or the snapshot folder
  std::string repo_id;           // empty for a local folder
  std::string revision;
  std::string commit;
  std::string preset;
  std::vector<std::string> modalities;
  std::vector<ResolvedComponent> components;
  std::vector<std::string> files;  // the selected files, relative to folder
  std::uint64_t size_bytes = 0;    // their total size
  DownloadResult download;
  std::vector<std::string> warnings;  // also logged
};

// Throws oc::Error with one clear line: InvalidRequest (bad argument), NotFound (repo, revision or
// file unknown; not in the cache while offline), Unauthorized (gated / private repo), Unavailable
// (hub unreachable, download failed), ModelLoad (checksum mismatch, disk space, cache not writable).
ResolvedModel resolve_model(const std::string& arg, const ResolveOptions& options = {});

const char* source_name(ResolvedModel::Source source);

}  // namespace oc::hub
