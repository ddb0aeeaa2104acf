// The signed ledger head: an Ed25519 signature over (seq, hash, signed_at), so whoever holds
// the public key can check offline that an export ends at an event the ledger vouched for.
// Because each hash covers the one before it, signing the head commits to the whole log up
// to it. The exact signed bytes are specified in docs/audit.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/digest.h"
#include "core/signing.h"
#include "core/status.h"

namespace tokenledger::events {

struct SignedHead {
  std::uint64_t seq = 0;          // 0 for an empty ledger
  core::Sha256Digest hash{};      // the hash of event seq (32 zero bytes when empty)
  core::Timestamp signed_at = 0;
  std::string signature;          // 64 bytes
  core::PublicKey public_key{};
  bool operator==(const SignedHead&) const = default;
};

// The bytes that are signed: "tokenledger.head.v1 seq=<decimal> hash=<64 hex> signed_at=<RFC 3339>"
// in ASCII, without a trailing newline.
std::string SignedHeadMessage(std::uint64_t seq, const core::Sha256Digest& hash, core::Timestamp signed_at);

SignedHead SignHead(const core::SigningKey& key, std::uint64_t seq, const core::Sha256Digest& hash,
                    core::Timestamp signed_at);

// {"seq","hash","signed_at","signature","public_key"} (hex for the binary fields). With
// as_export_line, "type":"ledger.head" comes first: the last line of a JSONL export.
std::string SignedHeadJson(const SignedHead& head, bool as_export_line = false);

// Parses SignedHeadJson's output (either form). InvalidArgument saying what is wrong.
core::Result<SignedHead> ParseSignedHeadJson(std::string_view text);

// Ok iff the head is signed by trusted (its public_key must be trusted, and the signature
// valid); InvalidArgument saying which check failed.
core::Status VerifySignedHead(const SignedHead& head, const core::PublicKey& trusted);

}  // namespace tokenledger::events
