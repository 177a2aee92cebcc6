// What `onnx-chat list` and `onnx-chat rm` do with the cache: describe the cached models with the
// presets each snapshot holds, and remove a model, one revision of it, or one preset's files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "hub/cache.h"

namespace oc::hub {

struct CachedPreset {
  std::string name;                     // "Q4_MIXED"
  std::vector<std::string> modalities;  // complete ones: "text", "image", "audio"
  std::uint64_t size = 0;               // of its files (configs included) for those modalities
};

struct CachedModel {
  CachedRepo repo;
  // Parallel to repo.snapshots: the presets whose text components are cached in exactly their dtypes.
  std::vector<std::vector<CachedPreset>> presets;
};

std::vector<CachedModel> list_cached_models(const std::filesystem::path& cache_dir);

struct RemoveResult {
  std::string what;  // "org/name", "org/name@main", "org/name/FP32"
  std::uint64_t freed_bytes = 0;
  std::size_t removed_files = 0;  // snapshot entries removed
};

// `spec` is "org/name[@rev][/PRESET]" (or a bare cached name). Throws oc::Error(NotFound) when
// nothing of it is cached.
RemoveResult remove_cached(const std::filesystem::path& cache_dir, const std::string& spec);

}  // namespace oc::hub
