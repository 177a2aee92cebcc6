#include "hub/model_ref.h"

#include <algorithm>

#include "common/error.h"
#include "common/strings.h"
#include "models/variants.h"

namespace oc::hub {
namespace {

bool segment_ok(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  auto edge = [](char c) { return c == '-' || c == '.'; };
  return !edge(s.front()) && !edge(s.back());
}

std::string canonical_preset(std::string_view name) {
  const auto* p = models::preset_by_name(name);
  return p ? p->name : std::string();
}

bool path_like(std::string_view s) {
  return starts_with(s, "/") || starts_with(s, "./") || starts_with(s, "../") || s == "." || s == ".." ||
         starts_with(s, "~");
}

[[noreturn]] void bad(std::string message) { throw Error(ErrorKind::InvalidRequest, std::move(message), "model"); }

}  // namespace

bool is_valid_repo_id(std::string_view id) {
  if (id.empty() || id.size() > 96) return false;
  if (id.find("--") != std::string_view::npos || id.find("..") != std::string_view::npos) return false;
  auto parts = split(id, '/');
  if (parts.size() > 2) return false;
  return std::all_of(parts.begin(), parts.end(), [](const std::string& p) { return segment_ok(p); });
}

bool is_commit_hash(std::string_view rev) {
  return rev.size() == 40 &&
         std::all_of(rev.begin(), rev.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

ModelRef parse_model_ref(std::string_view arg_view) {
  std::string arg(arg_view);
  if (arg.empty()) bad("no model given: pass a folder or a hub repo id (org/name[@revision][/PRESET])");
  namespace fs = std::filesystem;
  std::error_code ec;
  ModelRef ref;
  if (fs::is_directory(arg, ec)) {
    ref.kind = ModelRef::Kind::LocalFolder;
    ref.folder = arg;
    return ref;
  }
  // "DIR/PRESET" with an existing DIR.
  if (auto slash = arg.find_last_of('/'); slash != std::string::npos && slash > 0) {
    std::string preset = canonical_preset(std::string_view(arg).substr(slash + 1));
    if (!preset.empty() && fs::is_directory(arg.substr(0, slash), ec) &&
        (path_like(arg) || !is_valid_repo_id(arg.substr(0, slash)))) {
      ref.kind = ModelRef::Kind::LocalFolder;
      ref.folder = arg.substr(0, slash);
      ref.preset = preset;
      return ref;
    }
  }
  if (path_like(arg)) bad("model folder not found: " + arg);

  // Repo id: split off "@revision"; a trailing "/PRESET" may sit before or after it.
  std::string head = arg, tail;
  if (auto at = arg.find('@'); at != std::string::npos) {
    head = arg.substr(0, at);
    tail = arg.substr(at + 1);
    if (tail.empty()) bad("empty revision after '@' in " + arg);
  }
  auto head_parts = split(head, '/');
  if (head_parts.size() == 3) {
    ref.preset = canonical_preset(head_parts[2]);
    if (ref.preset.empty())
      bad("unknown preset '" + head_parts[2] + "' in " + arg + " (presets: Q4_MIXED, QUANTIZED, FP16, FP32)");
    head = head_parts[0] + "/" + head_parts[1];
  }
  if (!tail.empty()) {
    if (auto slash = tail.find_last_of('/'); slash != std::string::npos) {
      std::string preset = canonical_preset(std::string_view(tail).substr(slash + 1));
      if (!preset.empty()) {
        if (!ref.preset.empty()) bad("two presets in " + arg);
        ref.preset = preset;
        tail = tail.substr(0, slash);
      }
    }
    if (tail.empty()) bad("empty revision after '@' in " + arg);
    ref.revision = tail;
  }
  if (!is_valid_repo_id(head))
    bad("not a model folder or a hub repo id: " + arg + " (expected a folder or org/name[@revision][/PRESET])");
  ref.repo_id = head;
  return ref;
}

std::string to_string(const ModelRef& ref) {
  if (ref.kind == ModelRef::Kind::LocalFolder)
    return ref.folder.string() + (ref.preset.empty() ? "" : "/" + ref.preset);
  std::string s = ref.repo_id;
  if (!ref.revision.empty()) s += "@" + ref.revision;
  if (!ref.preset.empty()) s += "/" + ref.preset;
  return s;
}

}  // namespace oc::hub
