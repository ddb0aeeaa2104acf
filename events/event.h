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

// A token was rotated: new_token_id (created by the event just before this one, in the same
// append) replaces it. The old token stays valid until revoke_at (the rotation's grace period,
// at most its expires_at), then is revoked: at once by a token.revoked in the same append when
// revoke_at is the rotation's own time, else by the sweeper at revoke_at (effective then
// whenever it is written). A token is rotated at most once.
struct TokenRotated {
  std::string token_id;  // the old token
  std::string namespace_id;
  std::string new_token_id;
  core::Timestamp revoke_at = 0;
  bool operator==(const TokenRotated&) const = default;
};

// Closed set of event payloads. A new fact is a new alternative (and a new type tag).
using EventPayload = std::variant<TokenCreated, TokenRevoked, TokenExpired, TokenRotated>;

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

// "token.created", "token.revoked", "token.expired", "token.rotated".
std::string_view EventTypeName(const EventPayload& payload);
// The token the event is about.
const std::string& TokenIdOf(const EventPayload& payload);
// The namespace of that token.
const std::string& NamespaceOf(const EventPayload& payload);
// The other token the event changes, if any: a rotation's new token (its rotated_from).
const std::string* SecondTokenIdOf(const EventPayload& payload);

}  // namespace tokenledger::events
