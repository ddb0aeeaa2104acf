#include "events/event_export.h"

#include <algorithm>
#include <charconv>

#include "core/time_format.h"
#include "events/event_codec.h"
#include "events/event_json.h"

namespace tokenledger::events {

core::Result<ExportFormat> ParseExportFormat(std::string_view text) {
  if (text == "jsonl") return ExportFormat::kJsonl;
  if (text == "csv") return ExportFormat::kCsv;
  return core::Status::InvalidArgument("format must be jsonl or csv");
}

core::Result<LedgerPoint> ParseLedgerPoint(std::string_view text) {
  LedgerPoint point;
  if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::uint64_t seq = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), seq);
    if (ec != std::errc()) return core::Status::InvalidArgument("the seq is too large");
    point.seq = seq;
    return point;
  }
  auto t = core::ParseRfc3339(text);
  if (!t.ok()) return core::Status::InvalidArgument("expected a seq or an RFC 3339 time: " + t.status().message());
  point.time = *t;
  return point;
}

core::Result<ExportRange> ResolveRange(const EventStore& store, std::uint64_t head,
                                       const std::optional<LedgerPoint>& from,
                                       const std::optional<LedgerPoint>& to) {
  ExportRange range;
  range.last_seq = head;
  if (from) {
    if (from->seq) {
      range.first_seq = std::max<std::uint64_t>(*from->seq, 1);
    } else {
      // The first event recorded at or after `from`.
      auto before = store.LastSeqAtOrBefore(from->time - 1);
      if (!before.ok()) return before.status();
      range.first_seq = *before + 1;
    }
  }
  if (to) {
    if (to->seq) {
      range.last_seq = std::min(*to->seq, head);
    } else {
      auto last = store.LastSeqAtOrBefore(to->time);
      if (!last.ok()) return last.status();
      range.last_seq = std::min(*last, head);
    }
  }
  return range;
}

EventExporter::EventExporter(const EventStore& store, ExportFormat format, ExportRange range, SignFn sign)
    : store_(store), format_(format), range_(std::move(range)), sign_(std::move(sign)), next_seq_(range_.first_seq) {}

core::Result<bool> EventExporter::Next(std::string& out, size_t target_bytes) {
  if (finished_) return false;
  if (!started_) {
    started_ = true;
    if (format_ == ExportFormat::kCsv) out.append(kCsvHeader);
  }
  size_t start = out.size();
  core::Status failure = core::Status::Ok();
  bool paused = false;  // the visitor stopped for the piece's size, not at the range's end
  bool range_done = next_seq_ > range_.last_seq || written_ >= range_.limit;
  if (!range_done) {
    if (!cursor_) cursor_ = store_.OpenCursor(next_seq_);
    core::Status scan = cursor_->Read([&](std::uint64_t seq, std::string_view bytes) {
      if (seq != next_seq_) {
        failure = core::Status::Corruption("the log has a gap before seq " + std::to_string(seq));
        return false;
      }
      core::Status decoded = decoder_.Decode(bytes, event_);
      if (!decoded.ok()) {
        failure = core::Status::Corruption("event " + std::to_string(seq) + ": " + decoded.message());
        return false;
      }
      const Event* event = &event_;
      ++next_seq_;
      ++scanned_;
      last_hash_ = event->hash;
      if (!range_.namespace_id || NamespaceOf(event->payload) == *range_.namespace_id) {
        if (format_ == ExportFormat::kCsv) {
          AppendEventCsv(*event, out);
        } else {
          AppendEventJson(*event, out);
          out.push_back('\n');
        }
        ++written_;
      }
      if (seq >= range_.last_seq || written_ >= range_.limit) return false;
      paused = out.size() - start >= target_bytes;
      return !paused;
    });
    if (!scan.ok()) return scan;
    if (!failure.ok()) return failure;
    // Not paused and short of last_seq: the log ended (a range beyond the head).
    range_done = !paused;
  }
  if (!range_done) return true;
  finished_ = true;
  if (format_ == ExportFormat::kJsonl && sign_ && scanned_ > 0) {
    auto head = sign_(next_seq_ - 1, last_hash_);
    if (!head.ok()) return head.status();
    out.append(SignedHeadJson(*head, /*as_export_line=*/true)).push_back('\n');
  }
  return false;
}

}  // namespace tokenledger::events
