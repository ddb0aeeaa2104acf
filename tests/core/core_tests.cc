#include <sys/stat.h>

#define BOOST_TEST_MODULE core
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <set>
#include <thread>
#include <vector>
#include <sstream>

#include "core/digest.h"
#include "core/metrics.h"
#include "core/names.h"
#include "core/secret_file.h"
#include "core/time_format.h"
#include "core/token_format.h"
#include "tests/test_util.h"

using namespace tokenledger::core;

BOOST_AUTO_TEST_SUITE(token_format)

BOOST_AUTO_TEST_CASE(shared_vectors_match_checksum_and_format) {
  std::ifstream in(std::string(TL_TEST_DATA_DIR) + "/token_checksum.tsv");
  BOOST_REQUIRE(in);
  std::string line;
  int vectors = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string body, full;
    std::uint32_t crc = 0;
    fields >> body >> crc >> full;
    BOOST_TEST(Crc32(body) == crc);
    BOOST_TEST(body + Base62Checksum(crc) == full);
    BOOST_TEST(full.size() == kTokenLength);
    BOOST_TEST(IsWellFormedToken(full));
    ++vectors;
  }
  BOOST_TEST(vectors == 5);
}

BOOST_AUTO_TEST_CASE(fixed_vector_without_the_file) {
  BOOST_TEST(IsWellFormedToken("tlpat_000000000000000000000000000000000J6VVf"));
  BOOST_TEST(Crc32("tlpat_00000000000000000000000000000000") == 282301479u);
}

BOOST_AUTO_TEST_CASE(rejects_every_single_character_change) {
  const std::string good = "tlpat_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6278b6V";
  BOOST_REQUIRE(IsWellFormedToken(good));
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = bad[i] == 'x' ? 'y' : 'x';
    BOOST_TEST(!IsWellFormedToken(bad), "changed position " << i);
  }
}

BOOST_AUTO_TEST_CASE(rejects_wrong_length_prefix_and_alphabet) {
  BOOST_TEST(!IsWellFormedToken(""));
  BOOST_TEST(!IsWellFormedToken("tlpat_000000000000000000000000000000000J6VV"));
  BOOST_TEST(!IsWellFormedToken("tlpat_000000000000000000000000000000000J6VVff"));
  BOOST_TEST(!IsWellFormedToken("tlpax_000000000000000000000000000000000J6VVf"));
  BOOST_TEST(!IsWellFormedToken("tlpat_00000000000000000000000000000000-J6VVf"));
  BOOST_TEST(!IsWellFormedToken(std::string_view("tlpat_0000000000000000000000000000000\0000J6VVf", 44)));
}

BOOST_AUTO_TEST_CASE(generated_secrets_are_well_formed_and_distinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto secret = GenerateTokenSecret();
    BOOST_REQUIRE(secret.ok());
    BOOST_TEST(IsWellFormedToken(*secret));
    BOOST_TEST(secret->substr(0, 6) == "tlpat_");
    seen.insert(*secret);
  }
  BOOST_TEST(seen.size() == 1000u);
}

BOOST_AUTO_TEST_CASE(random_base62_uses_the_whole_alphabet_evenly) {
  auto text = RandomBase62(62 * 1000);
  BOOST_REQUIRE(text.ok());
  std::map<char, int> counts;
  for (char c : *text) counts[c]++;
  BOOST_TEST(counts.size() == 62u);
  for (auto [c, n] : counts) BOOST_TEST((n > 800 && n < 1200), "char " << c << " seen " << n);
}

BOOST_AUTO_TEST_CASE(token_ids_have_their_own_format) {
  auto id = GenerateTokenId();
  BOOST_REQUIRE(id.ok());
  BOOST_TEST(IsWellFormedTokenId(*id));
  BOOST_TEST(id->size() == 24u);
  BOOST_TEST(!IsWellFormedTokenId("tok_short"));
  BOOST_TEST(!IsWellFormedTokenId("tlpat_000000000000000000"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(digest)

BOOST_AUTO_TEST_CASE(sha256_known_answers) {
  BOOST_TEST(ToHex(Sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(ToHex(Sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256Digest zero{};
  // Chained = SHA-256 over the 32 prefix bytes followed by the data.
  std::string joined(32, '\0');
  joined += "abc";
  BOOST_TEST(ToHex(Sha256Chained(zero, "abc")) == ToHex(Sha256(joined)));
}

BOOST_AUTO_TEST_CASE(hmac_sha256_known_answers) {
  // RFC 4231, test cases 2 and 6 (a key longer than the block).
  BOOST_TEST(ToHex(HmacSha256("Jefe", "what do ya want for nothing?")) ==
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  BOOST_TEST(ToHex(HmacSha256(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First")) ==
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

BOOST_AUTO_TEST_CASE(constant_time_equals) {
  BOOST_TEST(ConstantTimeEquals("abc", "abc"));
  BOOST_TEST(!ConstantTimeEquals("abc", "abd"));
  BOOST_TEST(!ConstantTimeEquals("abc", "abcd"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rfc3339_time)

BOOST_AUTO_TEST_CASE(formats_and_parses_utc) {
  BOOST_TEST(FormatRfc3339(0) == "1970-01-01T00:00:00Z");
  BOOST_TEST(FormatRfc3339(1796412188) == "2026-12-04T19:23:08Z");
  auto t = ParseRfc3339("2026-12-04T19:23:08Z");
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(*t == 1796412188);
}

BOOST_AUTO_TEST_CASE(parses_offsets_and_fractions) {
  BOOST_TEST(*ParseRfc3339("2026-12-04T20:23:08+01:00") == 1796412188);
  BOOST_TEST(*ParseRfc3339("2026-12-04T18:53:08-00:30") == 1796412188);
  BOOST_TEST(*ParseRfc3339("2026-12-04T19:23:08.999Z") == 1796412188);
  BOOST_TEST(*ParseRfc3339("2026-12-04t19:23:08z") == 1796412188);
}

BOOST_AUTO_TEST_CASE(rejects_malformed_and_impossible_times) {
  for (const char* bad : {"", "2026-12-04", "2026-12-04 19:23:08Z", "2026-02-30T00:00:00Z",
                          "2025-02-29T00:00:00Z", "2026-12-04T24:00:00Z", "2026-12-04T19:60:00Z",
                          "2026-12-04T19:23:60Z", "2026-12-04T19:23:08", "2026-12-04T19:23:08.Z",
                          "2026-12-04T19:23:08+0100", "2026-12-04T19:23:08Zjunk", "2026-13-01T00:00:00Z",
                          "20261204T192308Z", "abcd-ef-ghTij:kl:mnZ"}) {
    BOOST_TEST(!ParseRfc3339(bad).ok(), bad);
  }
}

BOOST_AUTO_TEST_CASE(durations_are_a_number_and_one_unit_up_to_366_days) {
  BOOST_TEST(*ParseDuration("30s") == 30);
  BOOST_TEST(*ParseDuration("90m") == 90 * 60);
  BOOST_TEST(*ParseDuration("12h") == 12 * 3600);
  BOOST_TEST(*ParseDuration("7d") == 7 * 86400);
  BOOST_TEST(*ParseDuration("0d") == 0);
  BOOST_TEST(*ParseDuration("366d") == 366 * 86400);
  for (const char* bad : {"", "d", "7", "7w", "-1d", "1.5d", "7 d", "367d", "99999999999d", "8785h", "1d2h"})
    BOOST_TEST(!ParseDuration(bad).ok(), bad);
}

BOOST_AUTO_TEST_CASE(one_calendar_year_keeps_month_day_and_time) {
  BOOST_TEST(FormatRfc3339(AddOneCalendarYear(*ParseRfc3339("2026-12-04T19:23:08Z"))) == "2027-12-04T19:23:08Z");
  BOOST_TEST(FormatRfc3339(AddOneCalendarYear(*ParseRfc3339("2027-03-01T00:00:00Z"))) == "2028-03-01T00:00:00Z");
  // Across a leap day the year is 366 days long.
  BOOST_TEST(AddOneCalendarYear(*ParseRfc3339("2027-06-01T00:00:00Z")) - *ParseRfc3339("2027-06-01T00:00:00Z") == 366 * 86400);
}

BOOST_AUTO_TEST_CASE(feb_29_becomes_feb_28) {
  BOOST_TEST(FormatRfc3339(AddOneCalendarYear(*ParseRfc3339("2028-02-29T23:59:59Z"))) == "2029-02-28T23:59:59Z");
  BOOST_TEST(FormatRfc3339(AddOneCalendarYear(*ParseRfc3339("2028-02-28T10:00:00Z"))) == "2029-02-28T10:00:00Z");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(names)

BOOST_AUTO_TEST_CASE(namespace_syntax) {
  for (const char* good : {"acme", "acme/prod", "a.b_c:d-e/f", "A", "x/y/z"}) BOOST_TEST(ValidateNamespace(good).ok(), good);
  for (const char* bad : {"", "/acme", "acme/", "a//b", "acme prod", "acme%2F", "é", "a\"b"})
    BOOST_TEST(!ValidateNamespace(bad).ok(), bad);
  BOOST_TEST(ValidateNamespace(std::string(128, 'a')).ok());
  BOOST_TEST(!ValidateNamespace(std::string(129, 'a')).ok());
}

BOOST_AUTO_TEST_CASE(token_name_counts_characters_not_bytes) {
  BOOST_TEST(ValidateTokenName("deploy key").ok());
  BOOST_TEST(!ValidateTokenName("").ok());
  BOOST_TEST(ValidateTokenName(std::string(100, 'a')).ok());
  BOOST_TEST(!ValidateTokenName(std::string(101, 'a')).ok());
  std::string hundred_e_acute;
  for (int i = 0; i < 100; ++i) hundred_e_acute += "\xc3\xa9";
  BOOST_TEST(ValidateTokenName(hundred_e_acute).ok());
  BOOST_TEST(!ValidateTokenName(hundred_e_acute + "\xc3\xa9").ok());
}

BOOST_AUTO_TEST_CASE(token_name_rejects_bad_utf8_and_controls) {
  BOOST_TEST(!ValidateTokenName("a\nb").ok());
  BOOST_TEST(!ValidateTokenName("a\x7f").ok());
  BOOST_TEST(!ValidateTokenName("\xc3").ok());
  BOOST_TEST(!ValidateTokenName("\xc0\xaf").ok());        // overlong
  BOOST_TEST(!ValidateTokenName("\xed\xa0\x80").ok());    // surrogate
}

BOOST_AUTO_TEST_CASE(actor_and_reason) {
  BOOST_TEST(ValidateActor("alice@example.com").ok());
  BOOST_TEST(!ValidateActor("").ok());
  BOOST_TEST(!ValidateActor("a\tb").ok());
  BOOST_TEST(!ValidateActor(std::string(129, 'a')).ok());
  BOOST_TEST(ValidateReason("").ok());
  BOOST_TEST(!ValidateReason(std::string(501, 'a')).ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(secret_file)

BOOST_AUTO_TEST_CASE(trims_surrounding_whitespace_and_rejects_empty_or_missing) {
  tokenledger::testing::TempDir dir;
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir.Sub(name)) << content;
    return dir.Sub(name);
  };
  BOOST_TEST(*ReadSecretFile(write("plain", "tladm_abc")) == "tladm_abc");
  BOOST_TEST(*ReadSecretFile(write("newline", "tladm_abc\n")) == "tladm_abc");
  BOOST_TEST(*ReadSecretFile(write("padded", "\n  tladm_abc \r\n\n")) == "tladm_abc");
  BOOST_TEST(ReadSecretFile(write("blank", " \n\t\n")).status().code() == StatusCode::kInvalidArgument);
  auto missing = ReadSecretFile(dir.Sub("missing"));
  BOOST_TEST(missing.status().code() == StatusCode::kIoError);
  auto secret_in_message = ReadSecretFile(write("secret", "   "));
  BOOST_TEST(secret_in_message.status().message().find("tladm") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(load_or_create_makes_a_private_secret_once_and_keeps_it) {
  tokenledger::testing::TempDir dir;
  std::string path = dir.Sub("webhook.secret");
  auto made = LoadOrCreateSecretFile(path, "tlwhk_", "webhook secret file");
  BOOST_REQUIRE(made.ok());
  BOOST_TEST(made->rfind("tlwhk_", 0) == 0u);
  BOOST_TEST(made->size() == 6u + 43u);
  struct stat st {};
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  BOOST_TEST(*LoadOrCreateSecretFile(path, "tlwhk_", "webhook secret file") == *made);  // kept
  std::ofstream(dir.Sub("given")) << "my-own-key\n";
  BOOST_TEST(*LoadOrCreateSecretFile(dir.Sub("given"), "tlwhk_", "webhook secret file") == "my-own-key");
  auto unreadable = LoadOrCreateSecretFile(dir.Sub("no/such/dir/key"), "tlwhk_", "webhook secret file");
  BOOST_TEST(unreadable.status().code() == StatusCode::kIoError);
  BOOST_TEST(unreadable.status().message().find("webhook secret file") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(metrics)

BOOST_AUTO_TEST_CASE(sharded_counter_sums_every_thread) {
  tokenledger::core::Counter counter;
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t)  // more threads than shards: some share one
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) counter.Add();
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(counter.value() == 120000u);
}

BOOST_AUTO_TEST_CASE(histogram_renders_cumulative_prometheus_buckets) {
  tokenledger::core::LatencyHistogram h;
  h.Observe(std::chrono::microseconds(5));      // le 1e-05
  h.Observe(std::chrono::microseconds(10));     // le 1e-05 (bounds are inclusive)
  h.Observe(std::chrono::microseconds(30));     // le 5e-05
  h.Observe(std::chrono::seconds(60));          // only +Inf
  std::string out;
  h.AppendPrometheus(out, "x_seconds", "p=\"a\"");
  BOOST_TEST(out.find("x_seconds_bucket{p=\"a\",le=\"1e-05\"} 2\n") != std::string::npos, out);
  BOOST_TEST(out.find("x_seconds_bucket{p=\"a\",le=\"2.5e-05\"} 2\n") != std::string::npos, out);
  BOOST_TEST(out.find("x_seconds_bucket{p=\"a\",le=\"5e-05\"} 3\n") != std::string::npos, out);
  BOOST_TEST(out.find("x_seconds_bucket{p=\"a\",le=\"10\"} 3\n") != std::string::npos, out);
  BOOST_TEST(out.find("x_seconds_bucket{p=\"a\",le=\"+Inf\"} 4\n") != std::string::npos, out);
  BOOST_TEST(out.find("x_seconds_count{p=\"a\"} 4\n") != std::string::npos, out);
  BOOST_TEST(out.find("x_seconds_sum{p=\"a\"} 60.000045000\n") != std::string::npos, out);
}

BOOST_AUTO_TEST_SUITE_END()
