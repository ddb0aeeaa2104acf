#include "core/token_format.h"

#include <openssl/rand.h>

#include <array>
#include <zlib.h>

namespace tokenledger::core {
namespace {

constexpr std::string_view kBase62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

constexpr bool IsBase62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

}  // namespace

// zlib's crc32 (word-at-a-time) rather than a byte-wise table: every validation checks one.
std::uint32_t Crc32(std::string_view bytes) {
  return static_cast<std::uint32_t>(
      ::crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

std::string Base62Checksum(std::uint32_t value) {
  std::string out(kTokenChecksumChars, '0');
  for (size_t i = kTokenChecksumChars; i-- > 0;) {
    out[i] = kBase62[value % 62];
    value /= 62;
  }
  return out;
}

bool IsWellFormedToken(std::string_view text) noexcept {
  if (text.size() != kTokenLength || text.substr(0, kTokenPrefix.size()) != kTokenPrefix)
    return false;
  for (size_t i = kTokenPrefix.size(); i < kTokenLength; ++i)
    if (!IsBase62(text[i])) return false;
  std::uint32_t crc = Crc32(text.substr(0, kTokenLength - kTokenChecksumChars));
  for (size_t i = kTokenLength; i-- > kTokenLength - kTokenChecksumChars;) {
    if (text[i] != kBase62[crc % 62]) return false;
    crc /= 62;
  }
  return true;
}

Result<std::string> RandomBase62(size_t n) {
  std::string out;
  out.reserve(n);
  std::array<unsigned char, 64> pool{};
  while (out.size() < n) {
    if (RAND_bytes(pool.data(), static_cast<int>(pool.size())) != 1)
      return Status::IoError("OpenSSL RAND_bytes failed");
    for (unsigned char b : pool) {
      // 248 = 4 * 62: rejecting the top 8 byte values keeps every character equally likely.
      if (b < 248 && out.size() < n) out.push_back(kBase62[b % 62]);
    }
  }
  return out;
}

Result<std::string> GenerateTokenSecret() {
  Result<std::string> random = RandomBase62(kTokenRandomChars);
  if (!random.ok()) return random.status();
  std::string secret(kTokenPrefix);
  secret += *random;
  secret += Base62Checksum(Crc32(secret));
  return secret;
}

Result<std::string> GenerateTokenId() {
  Result<std::string> random = RandomBase62(kTokenIdRandomChars);
  if (!random.ok()) return random.status();
  return std::string(kTokenIdPrefix) + *random;
}

bool IsWellFormedTokenId(std::string_view text) noexcept {
  if (text.size() != kTokenIdPrefix.size() + kTokenIdRandomChars ||
      text.substr(0, kTokenIdPrefix.size()) != kTokenIdPrefix)
    return false;
  for (size_t i = kTokenIdPrefix.size(); i < text.size(); ++i)
    if (!IsBase62(text[i])) return false;
  return true;
}

}  // namespace tokenledger::core
