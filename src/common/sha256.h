// SHA-256 through OpenSSL's EVP API, incremental: checks downloaded LFS blobs and keys cached
// encoder outputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace oc {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Lower-case hex digest; the object must not be updated afterwards.
  std::string hex_digest();

 private:
  struct Free {
    void operator()(evp_md_ctx_st* ctx) const noexcept;
  };
  std::unique_ptr<evp_md_ctx_st, Free> ctx_;
};

std::string sha256_hex(std::string_view data);
// The digest of a whole file; throws oc::Error(ModelLoad) on a read error.
std::string sha256_file(const std::filesystem::path& path);
// Feeds the first `limit` bytes of a file (fewer if it is shorter) to a hasher.
void sha256_update_from_file(Sha256& hasher, const std::filesystem::path& path, std::uint64_t limit);

}  // namespace oc
