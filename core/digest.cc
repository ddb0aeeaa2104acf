#include "core/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace tokenledger::core {
namespace {

// One fetched SHA-256 implementation for the process (EVP_MD_fetch is not free per call).
const EVP_MD* Sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

class DigestContext {
 public:
  DigestContext() : ctx_(EVP_MD_CTX_new()) {}
  ~DigestContext() { EVP_MD_CTX_free(ctx_); }
  DigestContext(const DigestContext&) = delete;
  DigestContext& operator=(const DigestContext&) = delete;
  EVP_MD_CTX* get() { return ctx_; }

 private:
  EVP_MD_CTX* ctx_;
};

[[noreturn]] void DieOpenSsl() {
  std::fputs("fatal: OpenSSL SHA-256 failed\n", stderr);
  std::abort();
}

Sha256Digest Digest(const void* a, size_t a_len, const void* b, size_t b_len) {
  thread_local DigestContext ctx;
  const EVP_MD* md = Sha256Md();
  Sha256Digest out{};
  unsigned int len = 0;
  if (md == nullptr || ctx.get() == nullptr || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
      (a_len > 0 && EVP_DigestUpdate(ctx.get(), a, a_len) != 1) ||
      (b_len > 0 && EVP_DigestUpdate(ctx.get(), b, b_len) != 1) ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size())
    DieOpenSsl();
  return out;
}

}  // namespace

Sha256Digest Sha256(std::string_view data) { return Digest(data.data(), data.size(), nullptr, 0); }

Sha256Digest Sha256Chained(const Sha256Digest& prefix, std::string_view data) {
  return Digest(prefix.data(), prefix.size(), data.data(), data.size());
}

std::string ToHex(const Sha256Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(digest.size() * 2, '0');
  for (size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tokenledger::core
