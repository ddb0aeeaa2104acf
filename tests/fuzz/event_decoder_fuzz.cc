// Fuzzes every way bytes become an event: the stored encoding read back from RocksDB (the raw
// bytes, and the same bytes with a hash that matches so the cereal decoding behind the hash
// check is reached too), and the export formats tokenctl verify-export reads from untrusted
// files (a JSON line, CSV records). The first byte picks the decoder.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "events/event_codec.h"
#include "events/event_json.h"

using namespace tokenledger;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

// A decoded event must encode back to the very bytes it came from: the stored form has exactly
// one encoding per event, which is what lets the hash chain vouch for it.
void CheckStoredRoundTrip(std::string_view bytes) {
  auto event = events::DecodeStored(bytes);
  if (event.ok()) Check(events::EncodeStored(*event) == bytes);
}

// canonical bytes + any prev_hash + the hash that matches: reaches the decoding proper.
void DecodeWithMatchingHash(std::string_view input) {
  if (input.size() < 32) return;
  core::Sha256Digest prev{};
  std::copy_n(input.data(), 32, prev.begin());
  std::string_view canonical = input.substr(32);
  core::Sha256Digest hash = core::Sha256Chained(prev, canonical);
  std::string stored(canonical);
  stored.append(reinterpret_cast<const char*>(prev.data()), prev.size());
  stored.append(reinterpret_cast<const char*>(hash.data()), hash.size());
  CheckStoredRoundTrip(stored);
}

void ParseJsonLine(std::string_view line) {
  auto event = events::ParseEventJson(line);
  if (!event.ok()) return;
  // What parses is an event the exporter could have written: writing it gives a line that
  // parses back to the same event.
  std::string again;
  events::AppendEventJson(*event, again);
  auto reparsed = events::ParseEventJson(again);
  Check(reparsed.ok() && *reparsed == *event);
}

void ParseCsv(std::string_view text) {
  events::CsvReader reader(text);
  std::vector<std::string> fields;
  for (int records = 0; records < 64; ++records) {
    auto more = reader.Next(fields);
    if (!more.ok() || !*more) return;
    auto event = events::EventFromCsvFields(fields);
    if (event.ok()) {
      // Hex is accepted in either case but written in lower case: compare events, not text.
      std::string row;
      events::AppendEventCsv(*event, row);
      events::CsvReader back(row);
      std::vector<std::string> again;
      auto read = back.Next(again);
      Check(read.ok() && *read);
      auto reparsed = events::EventFromCsvFields(again);
      Check(reparsed.ok() && *reparsed == *event);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: CheckStoredRoundTrip(input); break;
    case 1: DecodeWithMatchingHash(input); break;
    case 2: ParseJsonLine(input); break;
    default: ParseCsv(input); break;
  }
  return 0;
}
