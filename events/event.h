// The facts of the ledger. Events are immutable and named in the past tense; docs/events.md is
// the catalogue, and the byte format that is hashed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "core/clock.h"
#include "core/digest.h"

namespace tokenledger::events {

// A token was minted. created_at is the envelope's recorded_at, created_by its actor.
struct TokenCreated {
  std::string token_id;
  std::string namespace_id;
  std::string name;
  core::Sha256Digest secret_digest{};  // SHA-256 of the secret; the secret itself is never kept
  core::Timestamp expires_at = 0;
  bool operator==(const TokenCreated&) const = default;
};

// A token was revoked by the envelope's actor. Final.
struct TokenRevoked {
  std::string token_id;
  std::string namespace_id;
  std::string reason;  // may be empty
  bool operator==(const TokenRevoked&) const = default;
};

// The expiry sweeper recorded that a token reached its expires_at. Final.
struct TokenExpired {
  std::string token_id;
  std::string namespace_id;
  bool operator==(const TokenExpired&) const = default;
};

// Closed set of event payloads. A new fact is a new alternative (and a new type tag).
using EventPayload = std::variant<TokenCreated, TokenRevoked, TokenExpired>;

// An event before the store has numbered and chained it.
struct NewEvent {
  core::Timestamp recorded_at = 0;
  std::string actor;
  EventPayload payload;
};

// An event as stored: numbered (seq 1, 2, 3 ... without gaps) and hash-chained:
// hash = SHA-256(prev_hash || canonical bytes), prev_hash of seq 1 = 32 zero bytes.
struct Event {
  std::uint64_t seq = 0;
  core::Timestamp recorded_at = 0;
  std::string actor;
  EventPayload payload;
  core::Sha256Digest prev_hash{};
  core::Sha256Digest hash{};
  bool operator==(const Event&) const = default;
};

// "token.created", "token.revoked", "token.expired".
std::string_view EventTypeName(const EventPayload& payload);
// The token the event is about.
const std::string& TokenIdOf(const EventPayload& payload);
// The namespace of that token.
const std::string& NamespaceOf(const EventPayload& payload);

}  // namespace tokenledger::events
