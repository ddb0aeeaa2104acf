// The token secret format, token ids and admin secrets: all random strings the ledger mints.
//
// Secret: "tlpat_" + 32 base62 characters from OpenSSL's CSPRNG + 6 base62 characters holding
// CRC32 (IEEE, as zlib's crc32) of the 38 ASCII bytes before them, most significant digit first,
// left-padded with '0'. Alphabet 0-9A-Za-z. 44 characters; documented in docs/api.md so secret
// scanners can match it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace tokenledger::core {

inline constexpr std::string_view kTokenPrefix = "tlpat_";
inline constexpr size_t kTokenRandomChars = 32;
inline constexpr size_t kTokenChecksumChars = 6;
inline constexpr size_t kTokenLength = 44;
inline constexpr std::string_view kTokenIdPrefix = "tok_";
inline constexpr size_t kTokenIdRandomChars = 20;

// CRC32 (IEEE) of bytes, as zlib's crc32(0, bytes, n).
std::uint32_t Crc32(std::string_view bytes);

// The 6 base62 digits of value, most significant first, zero-padded.
std::string Base62Checksum(std::uint32_t value);

// True iff text has the prefix, length, alphabet and a matching checksum. No allocation;
// safe to call on any untrusted input.
bool IsWellFormedToken(std::string_view text) noexcept;

// n base62 characters from OpenSSL's CSPRNG (unbiased). IoError if the CSPRNG fails.
Result<std::string> RandomBase62(size_t n);

// A fresh token secret in the format above.
Result<std::string> GenerateTokenSecret();

// A fresh token id: "tok_" + 20 base62 characters (about 119 random bits).
Result<std::string> GenerateTokenId();

// True iff text looks like a token id ("tok_" + 20 base62). Ids are not secrets.
bool IsWellFormedTokenId(std::string_view text) noexcept;

}  // namespace tokenledger::core
