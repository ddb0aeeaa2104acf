// The ledger's event log on RocksDB: append-only, gapless, hash-chained.
//
// There is deliberately no way to change or delete an event through this class or any other
// in the code base.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "events/event.h"
#include "events/signed_head.h"
#include "events/storage.h"

namespace rocksdb {
class Iterator;
}

namespace tokenledger::events {

class EventCursor;

// Thread safety: Append is for one writer thread at a time (it is serialised internally as a
// guard, but ordering decisions belong to that one writer). Reads and the head accessors are
// safe from any thread.
class EventStore {
 public:
  // Reads the head (last seq and hash) of the log in storage. storage must outlive the store.
  // Corruption if the last stored event does not decode.
  static core::Result<std::unique_ptr<EventStore>> Open(Storage& storage);

  // Numbers events head+1, head+2 ..., chains their hashes and writes them as one RocksDB
  // WriteBatch with sync=true: all are durable when this returns them, or none is written.
  // After a failed write the store refuses every further append (Unavailable): RocksDB may or
  // may not have persisted the batch, so guessing would risk a fork of the chain. A restart
  // recovers from what is on disk.
  core::Result<std::vector<Event>> Append(std::vector<NewEvent> events);

  // Seq of the last event (0 when empty) and its hash (32 zero bytes when empty).
  std::uint64_t head_seq() const { return head_seq_.load(std::memory_order_acquire); }
  core::Sha256Digest head_hash() const;
  // Both at once (the pair of one moment).
  std::pair<std::uint64_t, core::Sha256Digest> head() const;
  // True once an append has failed; see Append.
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  // Successful Append calls so far, i.e. fsync'd WriteBatches (events per batch shows how much
  // group commit shares each fsync).
  std::uint64_t batches_written() const { return batches_written_.load(std::memory_order_relaxed); }

  // Visits events with seq >= from in seq order, until visit returns false or the log ends.
  // The Event passed to visit is reused for the next one: copy what you keep.
  // Each event's own hash is checked while decoding (Corruption on mismatch); chain linkage and
  // gaps are the caller's to check (see projections/ledger_verifier.h).
  core::Status Scan(std::uint64_t from, const std::function<bool(const Event&)>& visit) const;

  // A cursor reading from seq `from` (see EventCursor).
  std::unique_ptr<EventCursor> OpenCursor(std::uint64_t from) const;

  // Visits the raw stored key seq and value of events with seq >= from, without decoding.
  core::Status ScanRaw(std::uint64_t from,
                       const std::function<bool(std::uint64_t, std::string_view)>& visit) const;

  // Reads the event with this seq; NotFound if there is none.
  core::Result<Event> Read(std::uint64_t seq) const;

  // The last seq whose event was recorded at or before t (0 when none), by binary search:
  // recorded_at never decreases along the log (the ledger's writer guarantees it).
  core::Result<std::uint64_t> LastSeqAtOrBefore(core::Timestamp t) const;

  // The latest signed head saved in the data dir (nullopt when none was saved), and saving one
  // (not fsync'd: it is an attestation the ledger can always make again).
  core::Result<std::optional<SignedHead>> LoadSignedHead() const;
  core::Status SaveSignedHead(const SignedHead& head);

  // For a secondary instance: catch up with the primary's writes and re-read the head.
  core::Status Refresh();

 private:
  explicit EventStore(Storage& storage) : storage_(storage) {}
  core::Status LoadHead();

  Storage& storage_;
  std::mutex append_mutex_;
  mutable std::mutex head_mutex_;  // guards head_hash_
  std::atomic<std::uint64_t> head_seq_{0};
  core::Sha256Digest head_hash_{};
  std::atomic<bool> failed_{false};
  std::atomic<std::uint64_t> batches_written_{0};
};

// Reads the raw stored events in seq order from a position, across calls: an export reads its
// range in pieces through one RocksDB iterator (a fresh iterator per piece would re-read and
// re-decompress blocks each time). It sees the log as it was when opened, and pins what that
// view needs until destroyed. Not thread-safe.
class EventCursor {
 public:
  EventCursor(const Storage& storage, std::uint64_t from);
  ~EventCursor();
  // Visits events from the current position until visit returns false (that event counts as
  // read) or the log ends.
  core::Status Read(const std::function<bool(std::uint64_t, std::string_view)>& visit);

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
};

// Visits the raw stored events of storage with seq >= from, without decoding them and without
// needing a readable head (the verifier uses it on damaged logs).
core::Status ScanStoredEvents(const Storage& storage, std::uint64_t from,
                              const std::function<bool(std::uint64_t, std::string_view)>& visit);

// The 8-byte big-endian key of seq, so RocksDB's bytewise order is seq order.
std::string EventKey(std::uint64_t seq);
// The seq an EventKey holds; Corruption unless key is exactly 8 bytes.
core::Result<std::uint64_t> SeqFromKey(std::string_view key);

}  // namespace tokenledger::events
