// What a model argument names: a local folder, or a hub repo id with an optional @revision and an
// optional /PRESET ("onnx-community/gemma-3n-E2B-it-ONNX@main/Q4_MIXED").
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace oc::hub {

struct ModelRef {
  enum class Kind { LocalFolder, Repo };
  Kind kind = Kind::Repo;
  std::filesystem::path folder;  // LocalFolder
  std::string repo_id;           // Repo: "org/name" (or "name")
  std::string revision;          // Repo: "" for the default branch
  std::string preset;            // canonical preset name ("Q4_MIXED"), or "" when not given
};

// Parses a model argument. An existing directory is a local folder (also "DIR/PRESET" when DIR
// exists); a path-like argument ("/", "./", "../", "~") that does not exist is an error; anything
// else must be a valid repo id. Throws oc::Error(InvalidRequest) with one clear line.
ModelRef parse_model_ref(std::string_view arg);

// huggingface_hub's rules: one or two segments of [A-Za-z0-9_.-], no "--" or "..", no leading or
// trailing "-" or ".", at most 96 characters.
bool is_valid_repo_id(std::string_view repo_id);
// A full 40-hex-digit commit hash.
bool is_commit_hash(std::string_view revision);
// The default revision when none is given.
inline constexpr const char* kDefaultRevision = "main";

// "org/name[@rev][/PRESET]" back to text (the revision and preset only when set).
std::string to_string(const ModelRef& ref);

}  // namespace oc::hub
