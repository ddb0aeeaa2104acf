#include "core/digest.h"

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but OpenSSL 3.0's
// EVP_DigestInit_ex allocates a provider context on every call (measured: one malloc per
// digest, even on a reused EVP_MD_CTX), and this digest is on the validation hot path, which
// must not allocate. The low-level API runs the same assembly on a stack context.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace tokenledger::core {
namespace {

[[noreturn]] void DieOpenSsl() {
  std::fputs("fatal: OpenSSL SHA-256 failed\n", stderr);
  std::abort();
}

Sha256Digest Digest(const void* a, size_t a_len, const void* b, size_t b_len) {
  SHA256_CTX ctx;
  Sha256Digest out{};
  if (SHA256_Init(&ctx) != 1 || (a_len > 0 && SHA256_Update(&ctx, a, a_len) != 1) ||
      (b_len > 0 && SHA256_Update(&ctx, b, b_len) != 1) || SHA256_Final(out.data(), &ctx) != 1)
    DieOpenSsl();
  return out;
}

}  // namespace

Sha256Digest Sha256(std::string_view data) { return Digest(data.data(), data.size(), nullptr, 0); }

Sha256Digest Sha256Chained(const Sha256Digest& prefix, std::string_view data) {
  return Digest(prefix.data(), prefix.size(), data.data(), data.size());
}

std::string ToHex(const Sha256Digest& digest) {
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kHex[b >> 4];
    out[2 * i + 1] = kHex[b & 0xf];
  }
  return out;
}

Result<std::string> HexDecode(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return Status::InvalidArgument("hex text has an odd length");
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("hex text holds a non-hex character");
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

Result<Sha256Digest> DigestFromHex(std::string_view hex) {
  auto bytes = HexDecode(hex);
  if (!bytes.ok() || bytes->size() != 32) return Status::InvalidArgument("a digest must be 64 hex characters");
  Sha256Digest d{};
  std::copy_n(bytes->data(), 32, d.begin());
  return d;
}

Sha256Digest HmacSha256(std::string_view key, std::string_view data) {
  Sha256Digest mac{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), mac.data(), &length) == nullptr ||
      length != mac.size())
    std::abort();  // as Sha256: OpenSSL's HMAC-SHA256 does not fail on valid arguments
  return mac;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tokenledger::core
