// The text forms of events: the JSON object of the API, NDJSON exports and tokenctl, the CSV
// row of CSV exports, and the way back from an export line to an event (offline verification).
// docs/audit.md specifies both formats.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "events/event.h"

namespace tokenledger::events {

// One JSON object, no newline: {"seq","type","recorded_at","namespace","token_id","actor",
// type fields ("name","secret_digest","expires_at" | "reason" | "new_token_id","revoke_at"),
// "prev_hash","hash"}. Times are
// RFC 3339 UTC, digests and hashes lowercase hex.
void AppendEventJson(const Event& event, std::string& out);

// The CSV header row and one event's row (RFC 4180: CRLF line ends, fields quoted when they
// hold a comma, quote, CR or LF, quotes doubled). Columns absent for a type are empty.
inline constexpr std::string_view kCsvHeader =
    "seq,type,recorded_at,namespace,token_id,actor,name,secret_digest,expires_at,reason,new_token_id,revoke_at,"
    "prev_hash,hash\r\n";
// The header of exports written before token.rotated existed; still verifiable.
inline constexpr std::string_view kCsvHeaderV1 =
    "seq,type,recorded_at,namespace,token_id,actor,name,secret_digest,expires_at,reason,prev_hash,hash\r\n";
void AppendEventCsv(const Event& event, std::string& out);

// Parses one JSON event as AppendEventJson writes it. Strict: every field of the type present
// with the right type, no unknown field. InvalidArgument saying what is wrong. Safe on
// untrusted input (size and depth bounded).
core::Result<Event> ParseEventJson(std::string_view text);

// Builds an event from the fields of a CSV row (in kCsvHeader's order, or kCsvHeaderV1's);
// InvalidArgument when a field is missing or malformed.
core::Result<Event> EventFromCsvFields(const std::vector<std::string>& fields);

// Reads RFC 4180 records one at a time from a text (quoted fields may span lines).
class CsvReader {
 public:
  explicit CsvReader(std::string_view text) : text_(text) {}
  // The next record's fields; false at the end. InvalidArgument for a malformed quote.
  core::Result<bool> Next(std::vector<std::string>& fields);
  // The 1-based line the last record started on.
  size_t line() const { return record_line_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  size_t line_ = 1;
  size_t record_line_ = 0;
};

// True iff the event's hash equals SHA-256(prev_hash || canonical bytes).
bool HashMatchesContent(const Event& event);

}  // namespace tokenledger::events
