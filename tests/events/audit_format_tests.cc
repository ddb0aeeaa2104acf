// The audit formats: event JSON and CSV, signed heads, the exporter and offline verification.
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <sstream>

#include "core/signing.h"
#include "events/event_codec.h"
#include "events/event_export.h"
#include "events/event_json.h"
#include "events/event_store.h"
#include "events/export_verifier.h"
#include "events/memory_input_archive.h"
#include "events/signed_head.h"
#include <cereal/types/string.hpp>
#include "tests/test_util.h"

using namespace tokenledger;
using namespace tokenledger::events;
using tokenledger::testing::TempDir;

namespace {

constexpr core::Timestamp kT0 = 1796412188;  // 2026-12-04T19:23:08Z

// A chained log in memory: creates of tok_1..tok_n, a rotation of tok_1 to tok_r (created just
// before it), then a revoke of tok_1 and an expiry of tok_2.
std::vector<Event> Chain(int creates, const std::string& name = "deploy") {
  std::vector<NewEvent> news;
  for (int i = 1; i <= creates; ++i)
    news.push_back({kT0 + i, "alice", TokenCreated{"tok_" + std::to_string(i), i % 2 ? "acme" : "beta", name,
                                                   core::Sha256("s" + std::to_string(i)), kT0 + 1000}});
  news.push_back({kT0 + creates, "carol", TokenCreated{"tok_r", "acme", name, core::Sha256("sr"), kT0 + 2000}});
  news.push_back({kT0 + creates, "carol", TokenRotated{"tok_1", "acme", "tok_r", kT0 + creates + 600}});
  news.push_back({kT0 + creates + 1, "bob", TokenRevoked{"tok_1", "acme", "leaked, \"oops\"\nin CI"}});
  news.push_back({kT0 + creates + 2, "system:expiry", TokenExpired{"tok_2", "beta"}});
  std::vector<Event> chain;
  core::Sha256Digest prev{};
  std::uint64_t seq = 0;
  for (NewEvent& n : news) {
    Event e{++seq, n.recorded_at, n.actor, n.payload, prev, {}};
    e.hash = core::Sha256Chained(prev, EncodeCanonical(e.seq, e.recorded_at, e.actor, e.payload));
    prev = e.hash;
    chain.push_back(std::move(e));
  }
  return chain;
}

std::vector<std::string> JsonLines(const std::vector<Event>& chain) {
  std::vector<std::string> lines;
  for (const Event& e : chain) {
    std::string line;
    AppendEventJson(e, line);
    lines.push_back(line);
  }
  return lines;
}

struct Keys {
  TempDir dir;
  core::SigningKey key = *core::SigningKey::LoadOrCreate(dir.Sub("k"));
  core::SigningKey other = *core::SigningKey::LoadOrCreate(dir.Sub("other"));
};

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

ExportReport Verify(const std::string& text, const core::PublicKey& key, std::optional<SignedHead> head = std::nullopt) {
  std::istringstream in(text);
  ExportVerifyOptions options;
  options.trusted_key = key;
  options.head = std::move(head);
  auto report = VerifyExport(in, options);
  BOOST_REQUIRE(report.ok());
  return *report;
}

// A JSONL export of chain as the server writes it: events, then the signed head line.
std::vector<std::string> SignedExport(const std::vector<Event>& chain, const core::SigningKey& key) {
  auto lines = JsonLines(chain);
  lines.push_back(SignedHeadJson(SignHead(key, chain.back().seq, chain.back().hash, kT0 + 99), true));
  return lines;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(event_text_forms)

BOOST_AUTO_TEST_CASE(json_carries_every_field_and_parses_back_to_the_same_event) {
  auto chain = Chain(3);
  for (const Event& e : chain) {
    std::string line;
    AppendEventJson(e, line);
    auto back = ParseEventJson(line);
    BOOST_REQUIRE_MESSAGE(back.ok(), back.status().ToString() + " in " + line);
    BOOST_TEST((*back == e));
    BOOST_TEST(HashMatchesContent(*back));
  }
  std::string line;
  AppendEventJson(chain[0], line);
  auto o = boost::json::parse(line).as_object();
  std::vector<std::string> keys;
  for (const auto& kv : o) keys.emplace_back(kv.key());
  BOOST_TEST((keys == std::vector<std::string>{"seq", "type", "recorded_at", "namespace", "token_id", "actor", "name",
                                               "secret_digest", "expires_at", "prev_hash", "hash"}));
  BOOST_TEST(o.at("recorded_at").as_string() == "2026-12-04T19:23:09Z");
  std::string rotated_line;
  AppendEventJson(chain[4], rotated_line);
  auto rotated = boost::json::parse(rotated_line).as_object();
  BOOST_TEST(rotated.at("type").as_string() == "token.rotated");
  BOOST_TEST(rotated.at("new_token_id").as_string() == "tok_r");
  BOOST_TEST(rotated.at("revoke_at").as_string() == "2026-12-04T19:33:11Z");
  BOOST_TEST(rotated.size() == 10u);
  BOOST_TEST(o.at("prev_hash").as_string() == std::string(64, '0'));
  BOOST_TEST(line.find("tlpat_") == std::string::npos);  // only the digest, never a secret
}

BOOST_AUTO_TEST_CASE(json_parsing_is_strict) {
  std::string line;
  AppendEventJson(Chain(1)[0], line);
  BOOST_TEST(!ParseEventJson("not json").ok());
  BOOST_TEST(!ParseEventJson("[1]").ok());
  BOOST_TEST(!ParseEventJson(line.substr(0, line.size() - 1) + R"(,"extra":1})").ok());
  std::string no_hash = line;
  no_hash.replace(no_hash.find(R"("hash":)"), 7, R"("hazh":)");
  BOOST_TEST(!ParseEventJson(no_hash).ok());
  std::string bad_time = line;
  bad_time.replace(bad_time.find("2026-12-04T19:23:09Z"), 20, "2026-13-04T19:23:09Z");
  BOOST_TEST(!ParseEventJson(bad_time).ok());
  BOOST_TEST(!ParseEventJson(std::string(70 * 1024, ' ')).ok());
  BOOST_TEST(!ParseEventJson(R"({"seq":-1})").ok());
}

BOOST_AUTO_TEST_CASE(csv_quotes_per_rfc4180_and_reads_back) {
  auto chain = Chain(2, "name, with \"quotes\"");
  std::string csv(kCsvHeader);
  for (const Event& e : chain) AppendEventCsv(e, csv);
  BOOST_TEST(csv.find("\"name, with \"\"quotes\"\"\"") != std::string::npos);
  BOOST_TEST(csv.find("\"leaked, \"\"oops\"\"\nin CI\"") != std::string::npos);
  CsvReader reader(csv);
  std::vector<std::string> fields;
  auto header = reader.Next(fields);
  BOOST_REQUIRE(header.ok() && *header);
  BOOST_TEST(fields.size() == 14u);
  for (const Event& e : chain) {
    auto got = reader.Next(fields);
    BOOST_REQUIRE(got.ok() && *got);
    auto back = EventFromCsvFields(fields);
    BOOST_REQUIRE_MESSAGE(back.ok(), back.status().ToString());
    BOOST_TEST((*back == e));
  }
  auto end = reader.Next(fields);
  BOOST_TEST((end.ok() && !*end));
  // Rotation columns on another type, or a rotation without its revoke_at, are refused.
  std::vector<std::string> row;
  CsvReader again(csv);
  BOOST_REQUIRE(*again.Next(row) && *again.Next(row));  // the header, then tok_1's creation
  row[10] = "tok_x";
  BOOST_TEST(!EventFromCsvFields(row).ok());
}

BOOST_AUTO_TEST_CASE(csv_rows_of_the_first_format_still_read) {
  // Exports written before token.rotated had 12 columns (kCsvHeaderV1).
  auto chain = Chain(2);
  std::string csv;
  AppendEventCsv(chain[0], csv);
  CsvReader reader(csv);
  std::vector<std::string> fields;
  BOOST_REQUIRE(*reader.Next(fields));
  fields.erase(fields.begin() + 10, fields.begin() + 12);
  auto back = EventFromCsvFields(fields);
  BOOST_REQUIRE_MESSAGE(back.ok(), back.status().ToString());
  BOOST_TEST((*back == chain[0]));
  fields.pop_back();
  BOOST_TEST(!EventFromCsvFields(fields).ok());
  CsvReader broken("a,\"b");
  BOOST_TEST(!broken.Next(fields).ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(signed_head)

BOOST_AUTO_TEST_CASE(the_signed_bytes_are_the_documented_text) {
  core::Sha256Digest hash = core::Sha256("x");
  BOOST_TEST(SignedHeadMessage(42, hash, kT0) ==
             "tokenledger.head.v1 seq=42 hash=" + core::ToHex(hash) + " signed_at=2026-12-04T19:23:08Z");
}

BOOST_AUTO_TEST_CASE(heads_round_trip_through_json_and_verify_only_unchanged) {
  Keys keys;
  SignedHead head = SignHead(keys.key, 7, core::Sha256("h"), kT0);
  for (bool line : {false, true}) {
    auto back = ParseSignedHeadJson(SignedHeadJson(head, line));
    BOOST_REQUIRE_MESSAGE(back.ok(), back.status().ToString());
    BOOST_TEST((*back == head));
  }
  BOOST_TEST(VerifySignedHead(head, keys.key.public_key()).ok());
  BOOST_TEST(!VerifySignedHead(head, keys.other.public_key()).ok());
  SignedHead moved = head;
  moved.seq = 8;
  BOOST_TEST(!VerifySignedHead(moved, keys.key.public_key()).ok());
  SignedHead resigned = SignHead(keys.other, 7, core::Sha256("h"), kT0);
  resigned.public_key = keys.key.public_key();  // claims the trusted key, signed by another
  BOOST_TEST(!VerifySignedHead(resigned, keys.key.public_key()).ok());
  BOOST_TEST(!ParseSignedHeadJson(R"({"seq":1})").ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(export_verification)

BOOST_AUTO_TEST_CASE(an_untouched_export_verifies) {
  Keys keys;
  auto chain = Chain(5);
  auto report = Verify(Join(SignedExport(chain, keys.key)), keys.key.public_key());
  BOOST_TEST(report.ok(), report.problem);
  BOOST_TEST(report.events == chain.size());
  BOOST_TEST(report.starts_at_genesis);
  BOOST_TEST(report.last_seq == chain.back().seq);
}

BOOST_AUTO_TEST_CASE(an_edited_line_fails_naming_its_seq) {
  Keys keys;
  auto lines = SignedExport(Chain(5), keys.key);
  lines[2].replace(lines[2].find("\"alice\""), 7, "\"mallo\"");  // seq 3's actor
  auto report = Verify(Join(lines), keys.key.public_key());
  BOOST_TEST(!report.ok());
  BOOST_TEST(*report.first_bad_seq == 3u);
  BOOST_TEST(report.problem.find("seq 3") == 0u, report.problem);
  BOOST_TEST(report.problem.find("edited") != std::string::npos, report.problem);
}

BOOST_AUTO_TEST_CASE(an_edited_line_with_a_recomputed_hash_breaks_the_chain_at_the_next_seq) {
  Keys keys;
  auto chain = Chain(5);
  chain[2].actor = "mallory";
  chain[2].hash = core::Sha256Chained(chain[2].prev_hash, EncodeCanonical(3, chain[2].recorded_at, "mallory", chain[2].payload));
  auto report = Verify(Join(SignedExport(chain, keys.key)), keys.key.public_key());
  // The forger re-signed nothing: seq 4 no longer links (and the head would not match either).
  BOOST_TEST(!report.ok());
  BOOST_TEST(*report.first_bad_seq == 4u, report.problem);
}

BOOST_AUTO_TEST_CASE(a_dropped_line_fails_naming_the_missing_seq) {
  Keys keys;
  auto lines = SignedExport(Chain(5), keys.key);
  lines.erase(lines.begin() + 3);  // seq 4
  auto report = Verify(Join(lines), keys.key.public_key());
  BOOST_TEST(!report.ok());
  BOOST_TEST(*report.first_bad_seq == 4u);
  BOOST_TEST(report.problem.find("missing") != std::string::npos, report.problem);
}

BOOST_AUTO_TEST_CASE(reordered_lines_fail_naming_the_first_seq_out_of_place) {
  Keys keys;
  auto lines = SignedExport(Chain(5), keys.key);
  std::swap(lines[1], lines[2]);  // seq 3 before seq 2
  auto report = Verify(Join(lines), keys.key.public_key());
  BOOST_TEST(!report.ok());
  BOOST_TEST(*report.first_bad_seq == 2u, report.problem);
}

BOOST_AUTO_TEST_CASE(a_dropped_last_line_or_a_missing_head_fails) {
  Keys keys;
  auto chain = Chain(5);
  auto lines = SignedExport(chain, keys.key);
  auto cut = lines;
  cut.erase(cut.end() - 2);  // the last event, the head line stays
  auto report = Verify(Join(cut), keys.key.public_key());
  BOOST_TEST(!report.ok());
  BOOST_TEST(*report.first_bad_seq == chain.back().seq, report.problem);
  auto headless = lines;
  headless.pop_back();
  report = Verify(Join(headless), keys.key.public_key());
  BOOST_TEST(!report.ok());
  BOOST_TEST(report.problem.find("signed head") != std::string::npos, report.problem);
}

BOOST_AUTO_TEST_CASE(a_head_signed_by_another_key_fails) {
  Keys keys;
  auto chain = Chain(3);
  auto report = Verify(Join(SignedExport(chain, keys.other)), keys.key.public_key());
  BOOST_TEST(!report.ok());
  BOOST_TEST(report.problem.find("another key") != std::string::npos, report.problem);
}

BOOST_AUTO_TEST_CASE(csv_exports_verify_against_a_separate_head) {
  Keys keys;
  auto chain = Chain(4);
  std::string csv(kCsvHeader);
  for (const Event& e : chain) AppendEventCsv(e, csv);
  SignedHead head = SignHead(keys.key, chain.back().seq, chain.back().hash, kT0);
  BOOST_TEST(Verify(csv, keys.key.public_key(), head).ok());
  BOOST_TEST(!Verify(csv, keys.key.public_key()).ok());  // nothing signed
  std::string tampered = csv;
  tampered.replace(tampered.find(",bob,"), 5, ",eve,");
  auto report = Verify(tampered, keys.key.public_key(), head);
  BOOST_TEST(!report.ok());
  BOOST_TEST(*report.first_bad_seq == chain.size() - 1, report.problem);
  SignedHead earlier = SignHead(keys.key, 2, chain[1].hash, kT0);
  BOOST_TEST(!Verify(csv, keys.key.public_key(), earlier).ok());  // the export goes past the head
}

BOOST_AUTO_TEST_CASE(a_head_kept_from_an_earlier_audit_must_still_match_a_later_export) {
  Keys keys;
  auto chain = Chain(6);
  SignedHead earlier = SignHead(keys.key, 3, chain[2].hash, kT0);
  BOOST_TEST(Verify(Join(SignedExport(chain, keys.key)), keys.key.public_key(), earlier).ok());
  // History rewritten below the earlier head, and the whole chain re-hashed and re-signed:
  // consistent in itself, but not with what was signed before.
  auto rewritten = chain;
  rewritten[1].actor = "mallory";
  core::Sha256Digest prev = rewritten[0].hash;
  for (size_t i = 1; i < rewritten.size(); ++i) {
    Event& e = rewritten[i];
    e.prev_hash = prev;
    e.hash = core::Sha256Chained(prev, EncodeCanonical(e.seq, e.recorded_at, e.actor, e.payload));
    prev = e.hash;
  }
  BOOST_TEST(Verify(Join(SignedExport(rewritten, keys.key)), keys.key.public_key()).ok());
  auto report = Verify(Join(SignedExport(rewritten, keys.key)), keys.key.public_key(), earlier);
  BOOST_TEST(!report.ok());
  BOOST_TEST(*report.first_bad_seq == 3u, report.problem);
  BOOST_TEST(report.problem.find("rewritten") != std::string::npos, report.problem);
  SignedHead beyond = SignHead(keys.key, 99, chain[2].hash, kT0);
  BOOST_TEST(!Verify(Join(SignedExport(chain, keys.key)), keys.key.public_key(), beyond).ok());
}

BOOST_AUTO_TEST_CASE(a_range_from_the_middle_verifies_with_its_first_prev_hash_taken_as_given) {
  Keys keys;
  auto chain = Chain(6);
  auto lines = SignedExport(chain, keys.key);
  lines.erase(lines.begin(), lines.begin() + 2);
  auto report = Verify(Join(lines), keys.key.public_key());
  BOOST_TEST(report.ok(), report.problem);
  BOOST_TEST(!report.starts_at_genesis);
  BOOST_TEST(report.first_seq == 3u);
}

BOOST_AUTO_TEST_CASE(garbage_lines_fail_cleanly) {
  Keys keys;
  auto lines = SignedExport(Chain(3), keys.key);
  lines.insert(lines.begin() + 1, "{\"seq\":");
  auto report = Verify(Join(lines), keys.key.public_key());
  BOOST_TEST(!report.ok());
  BOOST_TEST(*report.first_bad_seq == 2u, report.problem);
  BOOST_TEST(!Verify("", keys.key.public_key()).ok());
  BOOST_TEST(!Verify(std::string(100000, 'x'), keys.key.public_key()).ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(exporter)

namespace {
struct Log {
  TempDir dir;
  std::unique_ptr<Storage> storage = std::move(Storage::OpenPrimary(dir.path()).value());
  std::unique_ptr<EventStore> store = std::move(EventStore::Open(*storage).value());
  ~Log() {
    store.reset();
    storage.reset();
  }
  // n creates, recorded at kT0 + 10 * i (i = 1..n), alternating namespaces acme and beta.
  void Fill(int n) {
    for (int i = 1; i <= n; ++i) {
      auto r = store->Append({NewEvent{kT0 + 10 * i, "admin",
                                       TokenCreated{"tok_" + std::to_string(i), i % 2 ? "acme" : "beta", "n",
                                                    core::Sha256(std::to_string(i)), kT0 + 100000}}});
      BOOST_REQUIRE(r.ok());
    }
  }
  std::string All(ExportFormat format, ExportRange range, EventExporter::SignFn sign = nullptr, size_t piece = 64 * 1024) {
    EventExporter exporter(*store, format, range, std::move(sign));
    std::string out;
    for (int guard = 0; guard < 100000; ++guard) {
      auto more = exporter.Next(out, piece);
      BOOST_REQUIRE(more.ok());
      if (!*more) return out;
    }
    BOOST_FAIL("the exporter never finished");
    return out;
  }
};
ExportRange Range(std::uint64_t first, std::uint64_t last, std::optional<std::string> ns = std::nullopt,
                  std::uint64_t limit = std::numeric_limits<std::uint64_t>::max()) {
  return ExportRange{first, last, std::move(ns), limit};
}
size_t Lines(const std::string& text) { return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')); }
}  // namespace

BOOST_AUTO_TEST_CASE(pieces_concatenate_to_the_whole_range_whatever_their_size) {
  Log log;
  log.Fill(50);
  std::string whole = log.All(ExportFormat::kNdjson, Range(1, 50));
  BOOST_TEST(Lines(whole) == 50u);
  BOOST_TEST(log.All(ExportFormat::kNdjson, Range(1, 50), nullptr, 1) == whole);  // one event a piece
  BOOST_TEST(Lines(log.All(ExportFormat::kNdjson, Range(11, 20))) == 10u);
  BOOST_TEST(Lines(log.All(ExportFormat::kNdjson, Range(1, 50, "acme"))) == 25u);
  BOOST_TEST(Lines(log.All(ExportFormat::kNdjson, Range(1, 50, std::nullopt, 7))) == 7u);
  BOOST_TEST(Lines(log.All(ExportFormat::kNdjson, Range(51, 50))) == 0u);
  BOOST_TEST(Lines(log.All(ExportFormat::kNdjson, Range(40, 900))) == 11u);  // beyond the head: to the end
  std::string csv = log.All(ExportFormat::kCsv, Range(1, 50));
  BOOST_TEST(csv.find(kCsvHeader) == 0u);
  BOOST_TEST(Lines(csv) == 51u);
}

BOOST_AUTO_TEST_CASE(jsonl_ends_with_the_signed_head_of_the_last_event_and_verifies) {
  Log log;
  log.Fill(20);
  Keys keys;
  auto sign = [&](std::uint64_t seq, const core::Sha256Digest& hash) -> core::Result<SignedHead> {
    return SignHead(keys.key, seq, hash, kT0);
  };
  std::string text = log.All(ExportFormat::kJsonl, Range(1, 12), sign, 100);
  BOOST_TEST(Lines(text) == 13u);
  auto report = Verify(text, keys.key.public_key());
  BOOST_TEST(report.ok(), report.problem);
  BOOST_TEST(report.head->seq == 12u);
  BOOST_TEST((report.head->hash == log.store->Read(12)->hash));
}

BOOST_AUTO_TEST_CASE(time_points_resolve_at_the_exact_boundary) {
  Log log;
  log.Fill(10);  // event i at kT0 + 10 i
  auto at = [&](core::Timestamp t) { return *log.store->LastSeqAtOrBefore(t); };
  BOOST_TEST(at(kT0) == 0u);
  BOOST_TEST(at(kT0 + 10) == 1u);  // an event at T is visible as of T
  BOOST_TEST(at(kT0 + 19) == 1u);
  BOOST_TEST(at(kT0 + 20) == 2u);
  BOOST_TEST(at(kT0 + 1000) == 10u);
  auto range = ResolveRange(*log.store, 10, LedgerPoint{std::nullopt, kT0 + 20}, LedgerPoint{std::nullopt, kT0 + 50});
  BOOST_REQUIRE(range.ok());
  BOOST_TEST(range->first_seq == 2u);
  BOOST_TEST(range->last_seq == 5u);
  range = ResolveRange(*log.store, 10, LedgerPoint{3, 0}, LedgerPoint{99, 0});
  BOOST_TEST(range->first_seq == 3u);
  BOOST_TEST(range->last_seq == 10u);
  auto point = ParseLedgerPoint("42");
  BOOST_TEST((point.ok() && point->seq && *point->seq == 42u));
  point = ParseLedgerPoint("2026-12-04T19:23:08Z");
  BOOST_TEST((point.ok() && !point->seq && point->time == kT0));
  BOOST_TEST(!ParseLedgerPoint("yesterday").ok());
  BOOST_TEST(!ParseLedgerPoint("").ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(memory_archive)

BOOST_AUTO_TEST_CASE(a_length_beyond_the_bytes_is_refused_before_anything_is_allocated) {
  // A string whose length prefix claims 2^62 bytes: cereal's string loader would resize to it.
  std::string bytes("\x00\x00\x00\x00\x00\x00\x00\x40" "abc", 11);
  MemoryInputArchive ar(bytes);
  std::string out;
  BOOST_CHECK_THROW(ar(out), cereal::Exception);
  BOOST_TEST(out.capacity() < 1024u);
  MemoryInputArchive short_read(std::string_view("\x01\x02", 2));
  std::uint64_t n = 0;
  BOOST_CHECK_THROW(short_read(n), cereal::Exception);
  std::string fine("\x03\x00\x00\x00\x00\x00\x00\x00" "abc", 11);
  MemoryInputArchive ok(fine);
  ok(out);
  BOOST_TEST(out == "abc");
  BOOST_TEST(ok.remaining() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
