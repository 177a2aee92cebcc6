#include "hub/config.h"

#include <cstdlib>

#include "common/fs.h"
#include "common/strings.h"

namespace oc::hub {
namespace {

std::filesystem::path expand_user(const std::string& p, const EnvLookup& env) {
  if (p == "~" || starts_with(p, "~/")) {
    auto home = env("HOME");
    if (home && !home->empty()) return std::filesystem::path(*home) / p.substr(p.size() > 1 ? 2 : 1);
  }
  return p;
}

long env_seconds(const EnvLookup& env, const char* name, long fallback) {
  auto v = env(name);
  if (!v || v->empty()) return fallback;
  char* end = nullptr;
  double d = std::strtod(v->c_str(), &end);
  if (end == v->c_str() || d <= 0) return fallback;
  return d < 1 ? 1 : static_cast<long>(d + 0.5);
}

}  // namespace

bool env_true(std::string_view value) {
  std::string v = to_lower(value);
  return v == "1" || v == "on" || v == "yes" || v == "true";
}

HubConfig config_from_env(const EnvLookup& lookup) {
  EnvLookup env = lookup ? lookup : [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (!v) return std::nullopt;
    return std::string(v);
  };
  auto get = [&](const char* name) -> std::optional<std::string> {
    auto v = env(name);
    if (v && v->empty()) return std::nullopt;
    return v;
  };
  HubConfig c;
  if (auto home = get("HF_HOME")) {
    c.hf_home = expand_user(*home, env);
  } else {
    auto xdg = get("XDG_CACHE_HOME");
    c.hf_home = expand_user(xdg ? *xdg + "/huggingface" : std::string("~/.cache/huggingface"), env);
  }
  if (auto cache = get("HF_HUB_CACHE"))
    c.cache_dir = expand_user(*cache, env);
  else if (auto legacy = get("HUGGINGFACE_HUB_CACHE"))
    c.cache_dir = expand_user(*legacy, env);
  else
    c.cache_dir = c.hf_home / "hub";
  if (auto ep = get("HF_ENDPOINT")) {
    c.endpoint = *ep;
    while (!c.endpoint.empty() && c.endpoint.back() == '/') c.endpoint.pop_back();
  }
  if (auto t = get("HF_TOKEN")) {
    c.token = trim_ascii(*t);
  } else if (auto legacy_token = get("HUGGING_FACE_HUB_TOKEN")) {
    c.token = trim_ascii(*legacy_token);
  } else {
    auto path = get("HF_TOKEN_PATH");
    std::filesystem::path file = path ? expand_user(*path, env) : c.hf_home / "token";
    if (auto text = try_read_file(file)) c.token = trim_ascii(*text);
  }
  auto offline = get("HF_HUB_OFFLINE");
  if (!offline) offline = get("TRANSFORMERS_OFFLINE");
  c.offline = offline && env_true(*offline);
  c.etag_timeout_s = env_seconds(env, "HF_HUB_ETAG_TIMEOUT", c.etag_timeout_s);
  c.download_timeout_s = env_seconds(env, "HF_HUB_DOWNLOAD_TIMEOUT", c.download_timeout_s);
  return c;
}

}  // namespace oc::hub
