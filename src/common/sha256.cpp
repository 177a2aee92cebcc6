#include "common/sha256.h"

#include <openssl/evp.h>

#include <cstdio>
#include <limits>
#include <vector>

#include "common/error.h"

namespace oc {

void Sha256::Free::operator()(evp_md_ctx_st* ctx) const noexcept { EVP_MD_CTX_free(ctx); }

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
    throw Error(ErrorKind::Internal, "OpenSSL: cannot start a SHA-256 digest");
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, std::size_t size) {
  if (size > 0 && EVP_DigestUpdate(ctx_.get(), data, size) != 1)
    throw Error(ErrorKind::Internal, "OpenSSL: SHA-256 update failed");
}

std::string Sha256::hex_digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), md, &len) != 1) throw Error(ErrorKind::Internal, "OpenSSL: SHA-256 final failed");
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.hex_digest();
}

void sha256_update_from_file(Sha256& hasher, const std::filesystem::path& path, std::uint64_t limit) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw Error(ErrorKind::ModelLoad, "cannot read " + path.string());
  std::vector<char> buf(1 << 20);
  while (limit > 0) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(limit, buf.size()));
    std::size_t got = std::fread(buf.data(), 1, want, f.get());
    if (got == 0) {
      if (std::ferror(f.get())) throw Error(ErrorKind::ModelLoad, "cannot read " + path.string());
      break;
    }
    hasher.update(buf.data(), got);
    limit -= got;
  }
}

std::string sha256_file(const std::filesystem::path& path) {
  Sha256 h;
  sha256_update_from_file(h, path, std::numeric_limits<std::uint64_t>::max());
  return h.hex_digest();
}

}  // namespace oc
