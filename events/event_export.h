// Streams a range of the log as text, piece by piece, with flat memory whatever the range:
// the event feed (GET /v1/events, tokenctl events) and exports (GET /v1/export, tokenctl
// export). Formats are specified in docs/audit.md.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"
#include "events/event_codec.h"
#include "events/event_store.h"
#include "events/signed_head.h"

namespace tokenledger::events {

enum class ExportFormat {
  kNdjson,  // one event JSON object a line
  kJsonl,   // the same, then the signed head of the range's last event as the last line
  kCsv,     // the header row, then one row per event (RFC 4180)
};

// "jsonl" / "csv" (exports); InvalidArgument otherwise.
core::Result<ExportFormat> ParseExportFormat(std::string_view text);

struct ExportRange {
  std::uint64_t first_seq = 1;
  std::uint64_t last_seq = 0;                // inclusive; below first_seq: nothing
  std::optional<std::string> namespace_id;  // only this namespace's events
  std::uint64_t limit = std::numeric_limits<std::uint64_t>::max();  // at most this many events
};

// A point of the ledger's history as users write it: a seq (digits only) or an RFC 3339 time.
struct LedgerPoint {
  std::optional<std::uint64_t> seq;
  core::Timestamp time = 0;  // when seq is not set
};
core::Result<LedgerPoint> ParseLedgerPoint(std::string_view text);

// The seq range of the events recorded within [from, to] (either bound optional, inclusive),
// up to head. Seqs count as events too: from=5 starts at event 5, to=9 ends at event 9.
core::Result<ExportRange> ResolveRange(const EventStore& store, std::uint64_t head,
                                       const std::optional<LedgerPoint>& from,
                                       const std::optional<LedgerPoint>& to);

// Not thread-safe; one caller at a time (pieces in order).
class EventExporter {
 public:
  // Signs the hash of event seq (the JSONL export's last line). Null: no signed head line.
  using SignFn = std::function<core::Result<SignedHead>(std::uint64_t seq, const core::Sha256Digest& hash)>;

  // store must outlive the exporter.
  EventExporter(const EventStore& store, ExportFormat format, ExportRange range, SignFn sign = nullptr);

  // Appends about target_bytes of output (at least one event's, unless at the end) to out.
  // Returns true while more follows, false once everything is written. Corruption when a
  // stored event does not match its hash; I/O errors as the store reports them.
  core::Result<bool> Next(std::string& out, size_t target_bytes = 64 * 1024);

  std::uint64_t events_written() const { return written_; }
  std::uint64_t events_scanned() const { return scanned_; }

 private:
  const EventStore& store_;
  ExportFormat format_;
  ExportRange range_;
  SignFn sign_;
  std::unique_ptr<EventCursor> cursor_;  // opened at the first piece
  StoredEventDecoder decoder_;
  Event event_;  // reused for every event
  std::uint64_t next_seq_;
  std::uint64_t written_ = 0, scanned_ = 0;
  core::Sha256Digest last_hash_{};
  bool started_ = false, finished_ = false;
};

}  // namespace tokenledger::events
