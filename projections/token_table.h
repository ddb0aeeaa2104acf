// The state of every token, derived from events only (the "evolve" half of event sourcing),
// with a per-namespace ordering for listing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "events/event.h"
#include "events/lifecycle_rules.h"
#include "projections/stable_vector.h"

namespace tokenledger::projections {

// One token as the ledger records it. created_seq orders tokens (newest = highest).
struct TokenRecord {
  std::string id;
  std::string namespace_id;
  std::string name;
  core::Sha256Digest secret_digest{};
  core::Timestamp created_at = 0;
  std::string created_by;
  std::uint64_t created_seq = 0;
  core::Timestamp expires_at = 0;
  events::TokenStatus status = events::TokenStatus::kActive;  // as recorded by events
  core::Timestamp revoked_at = 0;  // set when status is revoked
  std::string revoked_by;
  std::string revoke_reason;
  core::Timestamp expired_at = 0;  // when token.expired was recorded
  std::uint64_t last_seq = 0;      // the last event applied to this token
  // Rotation (events::TokenRotated). On the old token: its successor, when it stops validating
  // and the rotation's seq. On the new one: the token it replaced (set by the rotation, the
  // event right after its creation).
  std::string rotated_to;
  core::Timestamp revoke_at = 0;
  std::uint64_t rotated_seq = 0;
  std::string rotated_from;
  // When validations last found it active (0: never), to about a minute. Not a fact of the
  // ledger: kept in its own column family (last_use_store.h), absent from projection rows and
  // as-of answers, and ignored by == (a replay cannot know it).
  struct LastUse {
    core::Timestamp at = 0;
    bool operator==(const LastUse&) const { return true; }
  } last_used;
  bool operator==(const TokenRecord&) const = default;
};

// The lifecycle rules' view of a record (events/lifecycle_rules.h).
inline events::TokenState StateOf(const TokenRecord& r) { return {r.status, r.expires_at, r.revoke_at}; }
inline events::TokenStatus StatusAt(const TokenRecord& r, core::Timestamp now) {
  return events::EffectiveStatus(StateOf(r), now);
}

// The record as the ledger held it right after event `seq`, or nullopt when the token was
// created later. Exact because a token has at most three events, each numbered in the record:
// its creation (created_seq; a rotation's new token is rotated the event after), its rotation
// (rotated_seq) and its end (last_seq when recorded): a replay cut at seq yields the same record.
std::optional<TokenRecord> RecordAsOf(const TokenRecord& record, std::uint64_t seq);

// A point in the ledger's history: the state after event `seq`, with expiry judged at `time`
// (a token is invalid at and after expires_at whether or not token.expired was written yet).
struct AsOf {
  std::uint64_t seq = 0;
  core::Timestamp time = 0;
};

enum class StatusFilter { kAll, kActive, kRevoked, kExpired };

// Parses "all", "active", "revoked", "expired".
core::Result<StatusFilter> ParseStatusFilter(std::string_view text);

// Not thread-safe: callers guard it (see Ledger). Apart from last_used, records hold only what
// events say. Records are never removed, so a record's
// address is stable for the table's lifetime, and its id, namespace, secret_digest and
// expires_at never change after creation.
//
// Records live in a StableVector (stable addresses, one allocation per 4096); ids are found through an
// open-addressing index of 8-byte slots (32 bits of the id's hash as a tag, the record's
// position), which a replay prefetches ahead of applying (see Prefetch).
class TokenTable {
 public:
  TokenTable() = default;
  // Movable (records keep their addresses); not copyable: the orderings point at the records.
  TokenTable(TokenTable&&) = default;
  TokenTable& operator=(TokenTable&&) = default;
  TokenTable(const TokenTable&) = delete;
  TokenTable& operator=(const TokenTable&) = delete;

  // Applies one event. Applying an event whose seq this token already reflects changes nothing,
  // so replaying an overlap after a crash is harmless. Corruption if the event contradicts the
  // state (a second create of an id, a revoke of an unknown or finished token).
  core::Status Apply(const events::Event& event);

  // Inserts a record loaded from a snapshot, in any order. Corruption on a duplicate id.
  // Call FinishRestore() after the last one, before any List or Apply.
  core::Status Restore(TokenRecord record);
  void FinishRestore();

  // Makes room for n tokens at once (a replay knows about how many are coming).
  void Reserve(size_t n);
  // Starts loading the index slot of id into the cache: a replay calls it some events ahead.
  void Prefetch(std::string_view id) const;

  const TokenRecord* Find(std::string_view id) const;
  // Raises the token's last_used to t (never lowers it); false for an unknown id.
  bool SetLastUsed(std::string_view id, core::Timestamp t);
  size_t size() const { return records_.size(); }
  // Every record, in the order they were added.
  const StableVector<TokenRecord>& records() const { return records_; }

  struct Page {
    std::vector<TokenRecord> tokens;
    std::optional<std::uint64_t> next_cursor;  // created_seq to continue below; none at the end
  };
  // Tokens of ns, newest first, whose effective status at `now` passes filter, starting below
  // created_seq `cursor` when given; at most limit of them. With as_of, the tokens and their
  // records as they stood then (see RecordAsOf), judged at as_of->time instead of now. With
  // expires_by, only tokens active then whose expires_at is at or before it (expiry warnings).
  Page List(std::string_view ns, StatusFilter filter, size_t limit, std::optional<std::uint64_t> cursor,
            core::Timestamp now, std::optional<AsOf> as_of = std::nullopt,
            std::optional<core::Timestamp> expires_by = std::nullopt) const;

  // Equal iff both hold the same token records (the orderings are derived from them).
  bool operator==(const TokenTable& other) const;

 private:
  static std::uint64_t HashOf(std::string_view id);
  // The slot holding id, or the empty slot where it would go.
  size_t SlotOf(std::string_view id, std::uint64_t hash) const;
  TokenRecord* FindMutable(std::string_view id);
  // Appends record (moved from only then) and indexes it; null, record untouched, when its id
  // is already there.
  TokenRecord* Add(TokenRecord&& record);
  void Grow();

  StableVector<TokenRecord> records_;
  // 0: empty; else (tag << 32) | (position + 1), tag = the hash's high 32 bits.
  std::vector<std::uint64_t> slots_;
  // Per namespace, records in created_seq order (ascending).
  std::map<std::string, std::vector<const TokenRecord*>, std::less<>> by_namespace_;
};

}  // namespace tokenledger::projections
