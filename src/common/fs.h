// Small file-system helpers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace oc {

namespace fs = std::filesystem;

// Reads a whole file; throws oc::Error(ModelLoad) naming the path when it cannot.
std::string read_file(const fs::path& path);
std::optional<std::string> try_read_file(const fs::path& path);
// Size of a regular file, following symbolic links; 0 when missing.
std::uint64_t file_size_or_zero(const fs::path& path);
// "1.2 GB"-style size for people.
std::string human_bytes(std::uint64_t bytes);

}  // namespace oc
