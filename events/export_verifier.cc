#include "events/export_verifier.h"

#include <algorithm>
#include <vector>

#include "events/event_json.h"

namespace tokenledger::events {
namespace {

constexpr size_t kMaxRecordBytes = 64 * 1024;

// The chain checks, one event at a time.
class ChainCheck {
 public:
  // given_head_seq: the seq of a head given apart from the file, whose hash is remembered
  // when the chain passes it (an earlier head must be inside the export).
  ChainCheck(ExportReport& report, std::optional<std::uint64_t> given_head_seq)
      : report_(report), given_head_seq_(given_head_seq) {}

  bool Fail(std::uint64_t seq, std::string problem) {
    report_.first_bad_seq = seq;
    report_.problem = "seq " + std::to_string(seq) + ": " + std::move(problem);
    return false;
  }
  bool FailAtLine(size_t line, std::string problem) {
    // A line that cannot be read names the seq that should have been there.
    std::uint64_t expected = report_.events == 0 ? 1 : report_.last_seq + 1;
    return Fail(expected, "line " + std::to_string(line) + ": " + std::move(problem));
  }

  bool Add(const Event& e) {
    if (report_.events > 0 && e.seq != report_.last_seq + 1) {
      std::uint64_t expected = report_.last_seq + 1;
      if (e.seq > expected)
        return Fail(expected, "missing: the export jumps from seq " + std::to_string(report_.last_seq) + " to " +
                                  std::to_string(e.seq) + " (an event was dropped or lines were reordered)");
      return Fail(expected, "out of order: seq " + std::to_string(e.seq) + " follows seq " +
                                std::to_string(report_.last_seq) + " (lines were reordered or repeated)");
    }
    if (!HashMatchesContent(e))
      return Fail(e.seq, "the hash does not match the event's content (the line was edited)");
    if (report_.events == 0) {
      report_.first_seq = e.seq;
      report_.starts_at_genesis = e.seq == 1;
      if (e.seq == 1 && e.prev_hash != core::Sha256Digest{})
        return Fail(1, "the first event must chain from 32 zero bytes");
    } else if (e.prev_hash != report_.last_hash) {
      return Fail(e.seq, "prev_hash is not the hash of seq " + std::to_string(report_.last_seq) +
                             " (the chain is broken)");
    }
    report_.last_seq = e.seq;
    report_.last_hash = e.hash;
    if (given_head_seq_ && e.seq == *given_head_seq_) given_head_hash_ = e.hash;
    ++report_.events;
    return true;
  }

  // A head given apart from the file: signed by the trusted key, and its seq inside the export
  // with the same hash (an earlier audit's head still vouches for the prefix it signed).
  bool CheckGivenHead(const SignedHead& head, const core::PublicKey& trusted) {
    core::Status signature = VerifySignedHead(head, trusted);
    if (!signature.ok()) return Fail(head.seq, "the given head: " + signature.message());
    if (!given_head_hash_)
      return Fail(head.seq, "the given head's seq is not in the export (it holds seq " +
                                std::to_string(report_.first_seq) + "-" + std::to_string(report_.last_seq) + ")");
    if (*given_head_hash_ != head.hash)
      return Fail(head.seq, "the export's event has another hash than the given head (history was rewritten)");
    if (head.seq == report_.last_seq) report_.head = head;
    return true;
  }

  // The export must end at this head, signed by the trusted key.
  bool CheckHead(const SignedHead& head, const core::PublicKey& trusted, std::string_view where) {
    std::uint64_t at = report_.events == 0 ? head.seq : report_.last_seq;
    core::Status signature = VerifySignedHead(head, trusted);
    if (!signature.ok()) return Fail(at, std::string(where) + ": " + signature.message());
    if (report_.events == 0) return Fail(head.seq, "the export holds no event to check against the head");
    if (head.seq != report_.last_seq || head.hash != report_.last_hash)
      return Fail(report_.last_seq + (head.seq > report_.last_seq ? 1 : 0),
                  std::string(where) + " is seq " + std::to_string(head.seq) +
                      ", but the export ends at seq " + std::to_string(report_.last_seq) +
                      (head.seq == report_.last_seq ? " with another hash" : ""));
    report_.head = head;
    return true;
  }

 private:
  ExportReport& report_;
  std::optional<std::uint64_t> given_head_seq_;
  std::optional<core::Sha256Digest> given_head_hash_;
};

bool IsBlank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

// True when text holds an odd number of quotes: a CSV record continues on the next line.
bool InsideQuotes(std::string_view text) { return std::count(text.begin(), text.end(), '"') % 2 == 1; }

}  // namespace

core::Result<ExportReport> VerifyExport(std::istream& in, const ExportVerifyOptions& options) {
  ExportReport report;
  ChainCheck chain(report, options.head ? std::optional<std::uint64_t>(options.head->seq) : std::nullopt);
  std::optional<SignedHead> trailer;
  std::string line;
  size_t line_no = 0;
  bool csv = false, first = true;
  std::vector<std::string> fields;
  auto progress = [&] {
    if (options.progress && report.events % 65536 == 0) options.progress(report.events);
  };
  while (std::getline(in, line)) {
    ++line_no;
    if (first) {
      first = false;
      if (line.starts_with("seq,type,")) {
        csv = true;
        // Only the export's exact header row (with a CRLF or LF line end).
        auto is_header = [&](std::string_view header) {
          std::string_view expected = header.substr(0, header.size() - 2);
          return line == expected || line == std::string(expected) + "\r";
        };
        if (!is_header(kCsvHeader) && !is_header(kCsvHeaderV1))
          return (chain.FailAtLine(line_no, "the CSV header row is not the export's"), report);
        continue;
      }
    }
    if (trailer) {
      if (IsBlank(line)) continue;
      chain.FailAtLine(line_no, "lines follow the signed head line");
      return report;
    }
    if (csv) {
      size_t start_line = line_no;
      std::string record = line;
      while (InsideQuotes(record) && record.size() <= kMaxRecordBytes && std::getline(in, line)) {
        ++line_no;
        record += "\n" + line;
      }
      if (record.size() > kMaxRecordBytes) return (chain.FailAtLine(start_line, "a record is longer than 64 KiB"), report);
      if (IsBlank(record)) continue;
      if (!record.empty() && record.back() == '\r') record.pop_back();
      CsvReader reader(record);
      auto got = reader.Next(fields);
      if (!got.ok()) return (chain.FailAtLine(start_line, got.status().message()), report);
      auto event = EventFromCsvFields(fields);
      if (!event.ok()) return (chain.FailAtLine(start_line, event.status().message()), report);
      if (!chain.Add(*event)) return report;
      progress();
      continue;
    }
    if (IsBlank(line)) continue;
    if (line.size() > kMaxRecordBytes) return (chain.FailAtLine(line_no, "the line is longer than 64 KiB"), report);
    if (line.starts_with(R"({"type":"ledger.head")")) {  // SignedHeadJson puts "type" first
      auto head = ParseSignedHeadJson(line);
      if (!head.ok()) return (chain.FailAtLine(line_no, head.status().message()), report);
      trailer = *head;
      continue;
    }
    auto event = ParseEventJson(line);
    if (!event.ok()) return (chain.FailAtLine(line_no, event.status().message()), report);
    if (!chain.Add(*event)) return report;
    progress();
  }
  if (in.bad()) return core::Status::IoError("reading the export failed");
  if (trailer && !chain.CheckHead(*trailer, options.trusted_key, "the export's signed head line")) return report;
  if (options.head && !chain.CheckGivenHead(*options.head, options.trusted_key)) return report;
  if (!report.head) {
    if (report.events == 0) chain.Fail(1, "the export holds no events and no signed head");
    else chain.Fail(report.last_seq, "the export does not end at a signed head (JSONL exports end with one; for CSV pass --head)");
  }
  return report;
}

}  // namespace tokenledger::events
