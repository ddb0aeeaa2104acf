// SHA-256 digests (OpenSSL) and their hex form.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace tokenledger::core {

using Sha256Digest = std::array<std::uint8_t, 32>;

// SHA-256 of data (OpenSSL). Thread-safe and allocation-free (the validation hot path relies on
// it). Aborts the process if OpenSSL itself fails, which its SHA-256 does not do in practice.
Sha256Digest Sha256(std::string_view data);

// SHA-256(prefix || data), the hash-chain step.
Sha256Digest Sha256Chained(const Sha256Digest& prefix, std::string_view data);

// HMAC-SHA256 (RFC 2104) of data under key (OpenSSL): the signature of outgoing webhooks.
Sha256Digest HmacSha256(std::string_view key, std::string_view data);

// 64 lowercase hex characters.
std::string ToHex(const Sha256Digest& digest);
// Lowercase hex of bytes, and back (InvalidArgument on an odd length or a non-hex character;
// upper case is accepted).
std::string HexEncode(std::string_view bytes);
Result<std::string> HexDecode(std::string_view hex);
// The digest in 64 hex characters; InvalidArgument otherwise.
Result<Sha256Digest> DigestFromHex(std::string_view hex);

// Constant-time equality of two byte strings of the same length (OpenSSL CRYPTO_memcmp);
// false when the lengths differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace tokenledger::core
