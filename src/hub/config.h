// Where the hub and its cache are, read from the environment as Python's huggingface_hub reads it:
// HF_HOME (default $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface), HF_HUB_CACHE (legacy
// HUGGINGFACE_HUB_CACHE; default $HF_HOME/hub), HF_ENDPOINT (default https://huggingface.co),
// HF_TOKEN (legacy HUGGING_FACE_HUB_TOKEN; else the file HF_TOKEN_PATH, default $HF_HOME/token),
// HF_HUB_OFFLINE (1/ON/YES/TRUE), HF_HUB_ETAG_TIMEOUT and HF_HUB_DOWNLOAD_TIMEOUT (seconds).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace oc::hub {

struct HubConfig {
  std::string endpoint = "https://huggingface.co";  // no trailing slash
  std::filesystem::path hf_home;
  std::filesystem::path cache_dir;  // the hub cache: models--ORG--NAME folders live here
  std::string token;                // empty: anonymous
  bool offline = false;
  long etag_timeout_s = 10;      // connect timeout of metadata requests
  long download_timeout_s = 10;  // connect timeout, and stall limit, of downloads
};

// Reads the configuration from an environment lookup (getenv by default, replaceable in tests).
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;
HubConfig config_from_env(const EnvLookup& env = {});

// huggingface_hub's truthy environment values: 1, ON, YES, TRUE (any case).
bool env_true(std::string_view value);

}  // namespace oc::hub
