// The active-token view used by validation: secret digest -> token id, namespace, created_at,
// expires_at, and when a validation last found the token active.
//
// Built for the hot path and for memory. Each active token is one 64-byte record (one cache
// line) in a chunked array that never moves; an open-addressing table of 8-byte slots maps the
// digest to the record, each slot holding a 32-bit tag of the digest so a probe touches a
// record only when the tag matches. The table is kept 35-70% full, so at 1M tokens the index
// costs 64 B + 11-23 B of slots + under 1 B of chunk slack per active token (ApproxBytes()
// reports it; docs/benchmarks.md has the measured figure).
//
// The last use lives in the record (its id packed into 15 bytes to make room), so recording it
// costs no extra cache line: a reader compares it with `now` and stores only when it moved a
// minute (kLastUseResolution); the writer harvests the stored times (ForEachUsedSince).
//
// Readers take no lock, do not allocate and never wait for the writer: records are written
// before the slot that publishes them, and an erased record (or a replaced slot table) is
// reused (freed) only through epoch-based reclamation once no reader can still see it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/digest.h"
#include "core/status.h"
#include "core/token_format.h"
#include "projections/epoch_reclaimer.h"

namespace tokenledger::projections {

// What validation learns about an active token, copied out of the index. namespace_id views a
// string the index keeps for its whole life.
struct ActiveToken {
  std::array<char, core::kTokenIdPrefix.size() + core::kTokenIdRandomChars> id_chars{};
  std::string_view namespace_id;
  core::Timestamp created_at = 0;
  core::Timestamp expires_at = 0;
  std::string_view token_id() const { return {id_chars.data(), id_chars.size()}; }
};

// Whether a validation counts as a use of the token (last_used_at); a historical check does not.
enum class Use { kRecord, kDontRecord };
// A token's last use is kept to this many seconds (stored when it moves at least this much).
inline constexpr std::uint32_t kLastUseResolution = 60;

// kMalformed: not a token at all (format or checksum), rejected before any lookup.
enum class Validity { kMalformed, kInactive, kWrongNamespace, kActive };
std::string_view ValidityName(Validity v);

// One writer thread calls Insert/Erase/Reclaim; any number of threads call Validate concurrently.
class ActiveTokenIndex {
 public:
  ActiveTokenIndex();
  ~ActiveTokenIndex();
  ActiveTokenIndex(const ActiveTokenIndex&) = delete;
  ActiveTokenIndex& operator=(const ActiveTokenIndex&) = delete;

  // Writer only. Adds or replaces the token with this digest. InvalidArgument when token_id is
  // not a well-formed id (core::IsWellFormedTokenId) or a time is outside 1970-2106 (the record
  // keeps 32-bit seconds; the ledger never mints such a token).
  // Writer only: sizes the slot table for n active tokens at once (a start-up load knows how
  // many are coming), instead of rebuilding it as it fills.
  void Reserve(size_t n);
  // last_used: what the token's last use was when it was last indexed (0: none known).
  core::Status Insert(const core::Sha256Digest& digest, std::string_view token_id,
                      std::string_view namespace_id, core::Timestamp created_at,
                      core::Timestamp expires_at, core::Timestamp last_used = 0);
  // Writer only. Changes the expires_at of the token with this digest (a rotation's deadline)
  // with no moment where a reader misses the token. NotFound when it is not there.
  core::Status SetExpiry(const core::Sha256Digest& digest, core::Timestamp expires_at);
  // The last use recorded for the token with this digest; nullopt when it is not indexed or
  // has no recorded use. Any thread.
  std::optional<core::Timestamp> LastUsed(const core::Sha256Digest& digest) const;
  // Writer only: calls visit(token id, last use) for every indexed token last used at or after
  // `since` (the writer's periodic harvest; a full pass over the table).
  void ForEachUsedSince(core::Timestamp since, const std::function<void(std::string_view, core::Timestamp)>& visit) const;
  // Writer only. Removes the token with this digest, if any.
  void Erase(const core::Sha256Digest& digest);
  // Writer only: recycles records and frees tables no reader can reach any more.
  void Reclaim() { reclaimer_.Reclaim(); }

  // Checks a presented secret: malformed (format or checksum) -> kMalformed without a lookup;
  // unknown or at/after expires_at -> kInactive; known but `required_namespace` given and
  // different -> kWrongNamespace; else kActive with *out filled, and (with Use::kRecord) `now`
  // kept as the token's last use when it moved by kLastUseResolution. Lock-free,
  // allocation-free.
  Validity Validate(std::string_view secret, std::optional<std::string_view> required_namespace,
                    core::Timestamp now, ActiveToken* out, Use use = Use::kRecord) const;

  // One validation of a batch (see ValidateBatch): fill secret and required_namespace; result
  // and token come back as from Validate.
  struct BatchItem {
    std::string_view secret;
    std::optional<std::string_view> required_namespace;
    Validity result = Validity::kMalformed;
    ActiveToken token;
    core::Sha256Digest digest{};  // internal
    std::uint64_t candidate = 0;  // internal: the first slot whose tag matched
  };
  // Validates every item exactly as Validate would (recording uses), but overlaps the lookups' memory accesses:
  // the slots of the whole batch are prefetched, then their records, then compared, so a
  // pipelined batch waits for memory about once rather than twice per token. Lock-free,
  // allocation-free.
  void ValidateBatch(BatchItem* items, size_t count, core::Timestamp now) const;

  // Number of active tokens; any thread (exact once the writer is quiet).
  size_t size() const { return live_.load(std::memory_order_relaxed); }
  // Bytes held for records, slots and namespace names; any thread (as of the last write).
  size_t ApproxBytes() const { return bytes_.load(std::memory_order_relaxed); }

 private:
  struct Record;
  struct Table;
  template <class T, unsigned kChunkBits, size_t kMaxChunks>
  class ChunkedArray;
  using Records = ChunkedArray<Record, 14, 65536>;                  // up to 2^30 records
  using NamespaceNames = ChunkedArray<const std::string*, 12, 4096>;  // up to 2^24 names

  // Where digest sits in t: the slot's position and value (value 0 when absent), read once.
  // Caller holds a ReadGuard (or is the writer).
  struct SlotRef {
    size_t pos = 0;
    std::uint64_t slot = 0;
  };
  SlotRef FindSlot(const Table& t, const core::Sha256Digest& digest, std::memory_order order) const;
  // Caller holds a ReadGuard (or is the writer). Null when absent.
  const Record* Find(const core::Sha256Digest& digest) const;
  // The verdict on a found (or absent) record; caller holds a ReadGuard.
  Validity Judge(const Record* r, std::optional<std::string_view> required_namespace, core::Timestamp now,
                 ActiveToken* out, Use use) const;
  core::Result<std::uint32_t> InternNamespace(std::string_view namespace_id);
  core::Result<std::uint32_t> AllocateRecord();
  void Rebuild(size_t capacity);
  void UpdateBytes();

  std::atomic<Table*> table_;
  std::unique_ptr<Records> records_;
  std::uint32_t records_allocated_ = 0;       // writer only: records ever handed out
  std::vector<std::uint32_t> free_records_;  // writer only: erased and safe to reuse
  std::unique_ptr<NamespaceNames> namespaces_;
  std::vector<std::unique_ptr<std::string>> namespace_storage_;              // writer only
  std::unordered_map<std::string_view, std::uint32_t> namespace_index_;      // writer only
  size_t namespace_bytes_ = 0;
  std::atomic<size_t> live_{0};
  std::atomic<size_t> bytes_{0};
  size_t used_ = 0;  // live slots plus tombstones in the current table
  EpochReclaimer reclaimer_;
};

}  // namespace tokenledger::projections
