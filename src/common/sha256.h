// SHA-256 (FIPS 180-4), incremental: checks downloaded LFS blobs and keys cached encoder outputs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace oc {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Lower-case hex digest; the object must not be updated afterwards.
  std::string hex_digest();

 private:
  void block(const std::uint8_t* p);
  std::array<std::uint32_t, 8> h_;
  std::array<std::uint8_t, 64> buf_{};
  std::size_t buf_len_ = 0;
  std::uint64_t total_ = 0;
};

std::string sha256_hex(std::string_view data);
// The digest of a whole file; throws oc::Error(ModelLoad) on a read error.
std::string sha256_file(const std::filesystem::path& path);
// Feeds the first `limit` bytes of a file (fewer if it is shorter) to a hasher.
void sha256_update_from_file(Sha256& hasher, const std::filesystem::path& path, std::uint64_t limit);

}  // namespace oc
