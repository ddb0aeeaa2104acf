#define BOOST_TEST_MODULE projections
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstring>
#include <future>
#include <thread>

#include "core/time_format.h"
#include "core/token_format.h"
#include "events/event_store.h"
#include "projections/active_token_index.h"
#include "projections/ledger.h"
#include "projections/ledger_verifier.h"
#include "projections/token_table.h"
#include "tests/test_util.h"

#include "tests/alloc_counter.h"

using namespace tokenledger;
using namespace tokenledger::projections;
using tokenledger::testing::TempDir;
using events::TokenStatus;

namespace {

constexpr core::Timestamp kNow = 1796412188;  // 2026-12-04T19:23:08Z

events::Event MakeEvent(std::uint64_t seq, events::EventPayload payload, std::string actor = "admin") {
  return events::Event{seq, kNow + static_cast<core::Timestamp>(seq), std::move(actor), std::move(payload), {}, {}};
}

events::TokenCreated Created(const std::string& id, const std::string& ns = "acme", core::Timestamp expires = kNow + 1000) {
  return events::TokenCreated{id, ns, "name " + id, core::Sha256(id), expires};
}

// Blocks for a ledger completion.
CreatedToken CreateSync(Ledger& ledger, const std::string& ns, const std::string& name,
                        std::optional<core::Timestamp> expires_at = std::nullopt) {
  std::promise<core::Result<CreatedToken>> done;
  ledger.Create({ns, name, expires_at, "tester"}, [&](core::Result<CreatedToken> r) { done.set_value(std::move(r)); });
  auto result = done.get_future().get();
  BOOST_REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  return std::move(result).value();
}

core::Result<std::vector<RevokeOutcome>> RevokeSync(Ledger& ledger, const std::string& ns, std::vector<std::string> ids) {
  std::promise<core::Result<std::vector<RevokeOutcome>>> done;
  ledger.Revoke({ns, std::move(ids), "test", "tester"}, [&](auto r) { done.set_value(std::move(r)); });
  return done.get_future().get();
}

core::Result<CreatedToken> RotateSync(Ledger& ledger, const std::string& ns, const std::string& id,
                                      core::Timestamp grace, std::optional<core::Timestamp> expires_at = std::nullopt) {
  std::promise<core::Result<CreatedToken>> done;
  ledger.Rotate({ns, id, grace, expires_at, "rotator"}, [&](core::Result<CreatedToken> r) { done.set_value(std::move(r)); });
  return done.get_future().get();
}

// Waits (up to 5 s) for the writer to reach seq.
void WaitForHead(const Ledger& ledger, std::uint64_t seq) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ledger.head_seq() < seq && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  BOOST_REQUIRE(ledger.head_seq() >= seq);
}

bool IsActive(const Ledger& ledger, const std::string& secret, std::optional<std::string_view> ns = std::nullopt) {
  return ledger.Validate(secret, ns, nullptr) == Validity::kActive;
}

std::unique_ptr<Ledger> OpenLedger(const std::string& dir, const core::Clock* clock = nullptr, int max_days = 366) {
  auto ledger = Ledger::Open({dir, max_days, clock});
  BOOST_REQUIRE_MESSAGE(ledger.ok(), ledger.status().ToString());
  return std::move(ledger).value();
}

// Writes `count` creates through a ledger and closes it, so the test can then edit the disk.
void CreateTokensAndClose(const std::string& dir, int count) {
  auto ledger = OpenLedger(dir);
  for (int i = 0; i < count; ++i) CreateSync(*ledger, "acme", "t");
}

VerifyReport Verify(const std::string& dir) {
  auto storage = events::Storage::OpenPrimary(dir);
  BOOST_REQUIRE(storage.ok());
  auto report = VerifyLedger(**storage);
  BOOST_REQUIRE(report.ok());
  return *report;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(token_table)

BOOST_AUTO_TEST_CASE(applies_lifecycle_and_is_idempotent) {
  TokenTable table;
  auto created = MakeEvent(1, Created("tok_a"));
  BOOST_REQUIRE(table.Apply(created).ok());
  BOOST_REQUIRE(table.Apply(MakeEvent(2, events::TokenRevoked{"tok_a", "acme", "why"}, "bob")).ok());
  TokenTable copy;  // the same two events, applied once
  BOOST_REQUIRE(copy.Apply(created).ok());
  BOOST_REQUIRE(copy.Apply(MakeEvent(2, events::TokenRevoked{"tok_a", "acme", "why"}, "bob")).ok());
  // Re-applying events already reflected changes nothing (replay overlap after a crash).
  BOOST_REQUIRE(table.Apply(created).ok());
  BOOST_REQUIRE(table.Apply(MakeEvent(2, events::TokenRevoked{"tok_a", "acme", "why"}, "bob")).ok());
  BOOST_TEST((table == copy));
  const TokenRecord* r = table.Find("tok_a");
  BOOST_REQUIRE(r != nullptr);
  BOOST_TEST((r->status == TokenStatus::kRevoked));
  BOOST_TEST(r->revoked_by == "bob");
  BOOST_TEST(r->revoke_reason == "why");
  BOOST_TEST(r->created_seq == 1u);
  BOOST_TEST(r->last_seq == 2u);
}

#ifdef TL_COUNT_ALLOCATIONS
BOOST_AUTO_TEST_CASE(find_by_id_does_not_allocate) {
  TokenTable table;
  BOOST_REQUIRE(table.Apply(MakeEvent(1, Created("tok_AAAAAAAAAAAAAAAAAAAA"))).ok());
  std::string_view id = "tok_AAAAAAAAAAAAAAAAAAAA";  // longer than the small-string buffer
  const TokenRecord* found = nullptr;
  const TokenRecord* missing = nullptr;
  long allocations = 0;
  {
    tokenledger::testing::AllocationCounter counter;
    found = table.Find(id);
    missing = table.Find("tok_BBBBBBBBBBBBBBBBBBBB");
    allocations = counter.count();
  }
  BOOST_TEST(found != nullptr);
  BOOST_TEST(missing == nullptr);
  BOOST_TEST(allocations == 0);
}
#endif

BOOST_AUTO_TEST_CASE(rejects_contradicting_events) {
  TokenTable table;
  BOOST_REQUIRE(table.Apply(MakeEvent(1, Created("tok_a"))).ok());
  BOOST_TEST(!table.Apply(MakeEvent(2, Created("tok_a"))).ok());
  BOOST_TEST(!table.Apply(MakeEvent(3, events::TokenRevoked{"tok_zz", "acme", ""})).ok());
  BOOST_TEST(!table.Apply(MakeEvent(4, events::TokenRevoked{"tok_a", "other", ""})).ok());
  BOOST_REQUIRE(table.Apply(MakeEvent(5, events::TokenExpired{"tok_a", "acme"})).ok());
  BOOST_TEST(!table.Apply(MakeEvent(6, events::TokenRevoked{"tok_a", "acme", ""})).ok());
}

BOOST_AUTO_TEST_CASE(a_rotation_links_the_token_created_just_before_and_happens_once) {
  TokenTable table;
  BOOST_REQUIRE(table.Apply(MakeEvent(1, Created("tok_old"))).ok());
  BOOST_REQUIRE(table.Apply(MakeEvent(2, Created("tok_new"))).ok());
  BOOST_REQUIRE(table.Apply(MakeEvent(3, Created("tok_late"))).ok());
  BOOST_REQUIRE(table.Apply(MakeEvent(4, Created("tok_other", "beta"))).ok());
  // The successor must be the event just before, of the same namespace.
  BOOST_TEST(!table.Apply(MakeEvent(4, events::TokenRotated{"tok_old", "acme", "tok_new", kNow + 10})).ok());
  BOOST_TEST(!table.Apply(MakeEvent(5, events::TokenRotated{"tok_old", "acme", "tok_other", kNow + 10})).ok());
  BOOST_TEST(!table.Apply(MakeEvent(5, events::TokenRotated{"tok_old", "acme", "tok_nope", kNow + 10})).ok());
  BOOST_REQUIRE(table.Apply(MakeEvent(5, Created("tok_new2"))).ok());
  // revoke_at within [recorded_at, expires_at].
  BOOST_TEST(!table.Apply(MakeEvent(6, events::TokenRotated{"tok_old", "acme", "tok_new2", kNow + 5})).ok());
  BOOST_TEST(!table.Apply(MakeEvent(6, events::TokenRotated{"tok_old", "acme", "tok_new2", kNow + 1001})).ok());
  BOOST_REQUIRE(table.Apply(MakeEvent(6, events::TokenRotated{"tok_old", "acme", "tok_new2", kNow + 60})).ok());
  const TokenRecord* old = table.Find("tok_old");
  const TokenRecord* successor = table.Find("tok_new2");
  BOOST_TEST(old->rotated_to == "tok_new2");
  BOOST_TEST(old->revoke_at == kNow + 60);
  BOOST_TEST(old->rotated_seq == 6u);
  BOOST_TEST((old->status == TokenStatus::kActive));
  BOOST_TEST(successor->rotated_from == "tok_old");
  BOOST_TEST(successor->last_seq == 6u);
  BOOST_TEST(table.Apply(MakeEvent(6, events::TokenRotated{"tok_old", "acme", "tok_new2", kNow + 60})).ok());  // replayed
  BOOST_REQUIRE(table.Apply(MakeEvent(7, Created("tok_new3"))).ok());
  BOOST_TEST(!table.Apply(MakeEvent(8, events::TokenRotated{"tok_old", "acme", "tok_new3", kNow + 60})).ok());
  // A rotated token may still end early, and the record as of each seq is what a replay held.
  BOOST_REQUIRE(table.Apply(MakeEvent(8, events::TokenRevoked{"tok_old", "acme", "leaked"})).ok());
  BOOST_TEST(RecordAsOf(*old, 5)->rotated_to.empty());
  BOOST_TEST(RecordAsOf(*old, 6)->rotated_to == "tok_new2");
  BOOST_TEST((RecordAsOf(*old, 7)->status == TokenStatus::kActive));
  BOOST_TEST(RecordAsOf(*old, 7)->last_seq == 6u);
  BOOST_TEST(RecordAsOf(*successor, 5)->rotated_from.empty());
  BOOST_TEST(RecordAsOf(*successor, 5)->last_seq == 5u);
  BOOST_TEST(RecordAsOf(*successor, 6)->rotated_from == "tok_old");
}

BOOST_AUTO_TEST_CASE(lists_newest_first_with_filter_and_cursor) {
  TokenTable table;
  for (int i = 1; i <= 10; ++i) BOOST_REQUIRE(table.Apply(MakeEvent(i, Created("tok_" + std::to_string(i)))).ok());
  BOOST_REQUIRE(table.Apply(MakeEvent(11, Created("tok_other", "other"))).ok());
  BOOST_REQUIRE(table.Apply(MakeEvent(12, events::TokenRevoked{"tok_3", "acme", ""})).ok());
  BOOST_REQUIRE(table.Apply(MakeEvent(13, events::TokenRevoked{"tok_7", "acme", ""})).ok());

  auto page = table.List("acme", StatusFilter::kAll, 4, std::nullopt, kNow);
  std::vector<std::string> ids;
  for (auto& t : page.tokens) ids.push_back(t.id);
  BOOST_TEST((ids == std::vector<std::string>{"tok_10", "tok_9", "tok_8", "tok_7"}));
  BOOST_REQUIRE(page.next_cursor.has_value());
  std::vector<std::string> all = ids;
  while (page.next_cursor) {
    page = table.List("acme", StatusFilter::kAll, 4, page.next_cursor, kNow);
    for (auto& t : page.tokens) all.push_back(t.id);
  }
  BOOST_TEST(all.size() == 10u);
  BOOST_TEST(all.back() == "tok_1");

  auto revoked = table.List("acme", StatusFilter::kRevoked, 100, std::nullopt, kNow);
  BOOST_TEST(revoked.tokens.size() == 2u);
  BOOST_TEST(!revoked.next_cursor.has_value());
  BOOST_TEST(table.List("acme", StatusFilter::kActive, 100, std::nullopt, kNow).tokens.size() == 8u);
  // Past expires_at the tokens count as expired even without a token.expired event.
  BOOST_TEST(table.List("acme", StatusFilter::kExpired, 100, std::nullopt, kNow + 5000).tokens.size() == 8u);
  BOOST_TEST(table.List("nobody", StatusFilter::kAll, 100, std::nullopt, kNow).tokens.empty());
  // A page that ends exactly at the last token has no next cursor.
  BOOST_TEST(!table.List("acme", StatusFilter::kAll, 10, std::nullopt, kNow).next_cursor.has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(active_token_index)

// A well-formed token id ("tok_" + 20 base62 characters) numbered n.
std::string TestId(int n) {
  std::string digits = std::to_string(n);
  return "tok_" + std::string(20 - digits.size(), 'x') + digits;
}

BOOST_AUTO_TEST_CASE(validates_by_secret_with_namespace_and_expiry) {
  ActiveTokenIndex index;
  std::string secret = *core::GenerateTokenSecret();
  BOOST_REQUIRE(index.Insert(core::Sha256(secret), TestId(1), "acme/prod", kNow - 5, kNow + 10).ok());
  ActiveToken seen;
  BOOST_TEST((index.Validate(secret, std::nullopt, kNow, &seen) == Validity::kActive));
  BOOST_TEST(seen.token_id() == TestId(1));
  BOOST_TEST(seen.namespace_id == "acme/prod");
  BOOST_TEST(seen.created_at == kNow - 5);
  BOOST_TEST(seen.expires_at == kNow + 10);
  BOOST_TEST((index.Validate(secret, std::string_view("acme/prod"), kNow, nullptr) == Validity::kActive));
  BOOST_TEST((index.Validate(secret, std::string_view("acme"), kNow, nullptr) == Validity::kWrongNamespace));
  BOOST_TEST((index.Validate(secret, std::nullopt, kNow + 10, nullptr) == Validity::kInactive));
  BOOST_TEST((index.Validate(*core::GenerateTokenSecret(), std::nullopt, kNow, nullptr) == Validity::kInactive));
  std::string broken = secret;
  broken[10] = broken[10] == 'a' ? 'b' : 'a';
  BOOST_TEST((index.Validate(broken, std::nullopt, kNow, nullptr) == Validity::kMalformed));
  BOOST_TEST((index.Validate(std::string(10000, 'a'), std::nullopt, kNow, nullptr) == Validity::kMalformed));
  index.Erase(core::Sha256(secret));
  BOOST_TEST((index.Validate(secret, std::nullopt, kNow, nullptr) == Validity::kInactive));
  BOOST_TEST(index.size() == 0u);
}

BOOST_AUTO_TEST_CASE(insert_refuses_what_a_record_cannot_hold) {
  ActiveTokenIndex index;
  auto digest = core::Sha256(*core::GenerateTokenSecret());
  BOOST_TEST(index.Insert(digest, "tok_short", "acme", kNow, kNow + 10).code() == core::StatusCode::kInvalidArgument);
  BOOST_TEST(index.Insert(digest, TestId(1), "acme", kNow, std::int64_t{1} << 33).code() ==
             core::StatusCode::kInvalidArgument);
  BOOST_TEST(index.size() == 0u);
}

#ifdef TL_COUNT_ALLOCATIONS
BOOST_AUTO_TEST_CASE(validation_does_not_allocate) {
  ActiveTokenIndex index;
  std::string secret = *core::GenerateTokenSecret();
  BOOST_REQUIRE(index.Insert(core::Sha256(secret), TestId(1), "acme", kNow, kNow + 10).ok());
  std::string unknown = *core::GenerateTokenSecret();
  ActiveToken out;
  index.Validate(secret, std::nullopt, kNow, &out);  // first use claims this thread's slot
  int active = 0;
  long allocations = 0;
  {
    tokenledger::testing::AllocationCounter counter;
    for (int i = 0; i < 1000; ++i) {
      active += index.Validate(secret, std::string_view("acme"), kNow, &out) == Validity::kActive;
      index.Validate(unknown, std::nullopt, kNow, &out);
      index.Validate("tlpat_not-even-close", std::nullopt, kNow, &out);
    }
    allocations = counter.count();
  }
  BOOST_TEST(active == 1000);
  BOOST_TEST(allocations == 0);
}
#endif

BOOST_AUTO_TEST_CASE(grows_and_survives_heavy_churn) {
  ActiveTokenIndex index;
  std::vector<std::string> secrets;
  for (int i = 0; i < 20000; ++i) {
    secrets.push_back(*core::GenerateTokenSecret());
    BOOST_REQUIRE(index.Insert(core::Sha256(secrets.back()), TestId(i), "ns" + std::to_string(i % 7), kNow, kNow + 100).ok());
  }
  for (int i = 0; i < 20000; i += 2) index.Erase(core::Sha256(secrets[i]));
  index.Reclaim();
  BOOST_TEST(index.size() == 10000u);
  // Erased records are reused: refilling the erased half does not grow the record store.
  size_t bytes_before = index.ApproxBytes();
  for (int i = 0; i < 20000; i += 2)
    BOOST_REQUIRE(index.Insert(core::Sha256(secrets[i]), TestId(i), "ns" + std::to_string(i % 7), kNow, kNow + 100).ok());
  BOOST_TEST(index.ApproxBytes() <= bytes_before + 1024 * 1024);
  for (int i = 1; i < 20000; i += 2) index.Erase(core::Sha256(secrets[i]));
  int active = 0;
  for (int i = 0; i < 20000; ++i) {
    ActiveToken out;
    if (index.Validate(secrets[i], std::nullopt, kNow, &out) != Validity::kActive) continue;
    ++active;
    BOOST_TEST(out.token_id() == TestId(i));
    BOOST_TEST(out.namespace_id == "ns" + std::to_string(i % 7));
  }
  BOOST_TEST(active == 10000);
}

// A batch answers exactly what one-by-one validation answers, whatever the mix.
BOOST_AUTO_TEST_CASE(batch_validation_matches_single_validation) {
  ActiveTokenIndex index;
  std::vector<std::string> secrets;
  for (int i = 0; i < 3000; ++i) {
    secrets.push_back(*core::GenerateTokenSecret());
    BOOST_REQUIRE(index.Insert(core::Sha256(secrets.back()), TestId(i), i % 2 ? "acme" : "beta", kNow,
                               i % 5 == 0 ? kNow : kNow + 100).ok());
  }
  for (int i = 0; i < 3000; i += 7) index.Erase(core::Sha256(secrets[i]));
  for (int i = 0; i < 500; ++i) secrets.push_back(*core::GenerateTokenSecret());  // unknown
  secrets.push_back("tlpat_garbage");
  secrets.push_back(std::string(10000, 'x'));
  std::vector<ActiveTokenIndex::BatchItem> items(secrets.size());
  for (size_t i = 0; i < secrets.size(); ++i) {
    items[i].secret = secrets[i];
    if (i % 3 == 1) items[i].required_namespace = "acme";
  }
  for (size_t start = 0; start < items.size(); start += 32)
    index.ValidateBatch(items.data() + start, std::min<size_t>(32, items.size() - start), kNow);
  int mismatches = 0, active = 0;
  for (size_t i = 0; i < secrets.size(); ++i) {
    ActiveToken single;
    Validity expected = index.Validate(secrets[i], items[i].required_namespace, kNow, &single);
    if (items[i].result != expected) ++mismatches;
    if (expected == Validity::kActive) {
      ++active;
      if (items[i].token.token_id() != single.token_id() || items[i].token.namespace_id != single.namespace_id ||
          items[i].token.expires_at != single.expires_at)
        ++mismatches;
    }
  }
  BOOST_TEST(mismatches == 0);
  BOOST_TEST(active > 1000);
}

// The design figure behind docs/benchmarks.md: at most 100 bytes per active token, whatever
// the table's fill between two rebuilds.
BOOST_AUTO_TEST_CASE(memory_stays_under_100_bytes_per_active_token) {
  ActiveTokenIndex index;
  double worst = 0;
  for (int i = 0; i < 300000; ++i) {
    core::Sha256Digest digest{};
    std::uint64_t a = 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(i + 1), b = a ^ (a >> 29);
    std::memcpy(digest.data(), &a, 8);
    std::memcpy(digest.data() + 8, &b, 8);
    BOOST_REQUIRE(index.Insert(digest, TestId(i), "acme/ns" + std::to_string(i % 100), kNow, kNow + 100).ok());
    if (i > 100000 && i % 997 == 0) worst = std::max(worst, static_cast<double>(index.ApproxBytes()) / index.size());
  }
  BOOST_TEST_MESSAGE("worst bytes per active token: " << worst);
  BOOST_TEST(worst <= 100.0);
}

// Readers run while the writer inserts, erases and grows the table; a token that is never
// erased must validate every single time, and removed ones must never come back.
BOOST_AUTO_TEST_CASE(a_validation_records_the_last_use_to_the_minute) {
  ActiveTokenIndex index;
  std::string secret = *core::GenerateTokenSecret();
  core::Sha256Digest digest = core::Sha256(secret);
  BOOST_REQUIRE(index.Insert(digest, TestId(1), "acme", kNow, kNow + 10000).ok());
  BOOST_TEST(!index.LastUsed(digest).has_value());
  // Neither a refusal for another namespace nor a historical check counts as a use.
  BOOST_TEST((index.Validate(secret, "beta", kNow, nullptr) == Validity::kWrongNamespace));
  BOOST_TEST((index.Validate(secret, std::nullopt, kNow, nullptr, Use::kDontRecord) == Validity::kActive));
  BOOST_TEST(!index.LastUsed(digest).has_value());
  ActiveToken out;
  BOOST_TEST((index.Validate(secret, "acme", kNow + 5, &out) == Validity::kActive));
  BOOST_TEST(out.token_id() == TestId(1));  // the packed id comes back whole
  BOOST_TEST(*index.LastUsed(digest) == kNow + 5);
  index.Validate(secret, std::nullopt, kNow + 64, nullptr);
  BOOST_TEST(*index.LastUsed(digest) == kNow + 5);  // less than a minute later: not stored
  ActiveTokenIndex::BatchItem item;
  item.secret = secret;
  index.ValidateBatch(&item, 1, kNow + 65);  // the RESP path
  BOOST_TEST(*index.LastUsed(digest) == kNow + 65);
  // A rotation's new expiry keeps it; the writer's harvest finds it.
  BOOST_REQUIRE(index.SetExpiry(digest, kNow + 500).ok());
  BOOST_TEST(*index.LastUsed(digest) == kNow + 65);
  std::string other = *core::GenerateTokenSecret();
  BOOST_REQUIRE(index.Insert(core::Sha256(other), TestId(2), "acme", kNow, kNow + 10000, kNow - 100).ok());
  std::vector<std::pair<std::string, core::Timestamp>> seen;
  auto harvest = [&](core::Timestamp since) {
    seen.clear();
    index.ForEachUsedSince(since, [&](std::string_view id, core::Timestamp t) { seen.emplace_back(id, t); });
  };
  harvest(kNow);
  BOOST_TEST((seen == std::vector<std::pair<std::string, core::Timestamp>>{{TestId(1), kNow + 65}}));
  harvest(0);
  BOOST_TEST(seen.size() == 2u);
}

BOOST_AUTO_TEST_CASE(token_ids_of_every_digit_survive_packing) {
  ActiveTokenIndex index;
  const std::string digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  for (size_t start = 0; start < digits.size(); start += 7) {
    std::string id = "tok_";
    for (size_t i = 0; i < core::kTokenIdRandomChars; ++i) id.push_back(digits[(start + i * 3) % digits.size()]);
    std::string secret = *core::GenerateTokenSecret();
    BOOST_REQUIRE(index.Insert(core::Sha256(secret), id, "acme", kNow, kNow + 100).ok());
    ActiveToken out;
    BOOST_REQUIRE((index.Validate(secret, std::nullopt, kNow, &out) == Validity::kActive));
    BOOST_TEST(out.token_id() == id);
  }
  for (const char* id : {"tok_00000000000000000000", "tok_zzzzzzzzzzzzzzzzzzzz"}) {
    std::string secret = *core::GenerateTokenSecret();
    BOOST_REQUIRE(index.Insert(core::Sha256(secret), id, "acme", kNow, kNow + 100).ok());
    ActiveToken out;
    BOOST_REQUIRE((index.Validate(secret, std::nullopt, kNow, &out) == Validity::kActive));
    BOOST_TEST(out.token_id() == id);
  }
}

BOOST_AUTO_TEST_CASE(readers_never_block_or_miss_during_writes) {
  ActiveTokenIndex index;
  std::string stable = *core::GenerateTokenSecret();
  BOOST_REQUIRE(index.Insert(core::Sha256(stable), TestId(1), "acme", kNow, kNow + 100).ok());
  std::string removed = *core::GenerateTokenSecret();
  BOOST_REQUIRE(index.Insert(core::Sha256(removed), TestId(2), "acme", kNow, kNow + 100).ok());
  index.Erase(core::Sha256(removed));
  std::atomic<bool> done{false};
  std::atomic<long> misses{0}, resurrections{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!done.load()) {
        ActiveToken out;
        if (index.Validate(stable, std::nullopt, kNow, &out) != Validity::kActive || out.token_id() != TestId(1))
          misses++;
        if (index.Validate(removed, std::nullopt, kNow, nullptr) == Validity::kActive)
          resurrections++;
        reads++;
      }
    });
  }
  std::vector<std::string> secrets;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 5000; ++i) {
      secrets.push_back(*core::GenerateTokenSecret());
      BOOST_REQUIRE(index.Insert(core::Sha256(secrets.back()), TestId(3 + i), "acme", kNow, kNow + 100).ok());
    }
    for (auto& s : secrets) index.Erase(core::Sha256(s));
    secrets.clear();
    index.Reclaim();
  }
  // A rotation's new deadline replaces the record under the readers' feet.
  for (int i = 0; i < 2000; ++i) {
    BOOST_REQUIRE(index.SetExpiry(core::Sha256(stable), kNow + 100 + (i % 7)).ok());
    index.Reclaim();
  }
  done = true;
  for (auto& t : readers) t.join();
  BOOST_TEST(misses.load() == 0);
  BOOST_TEST(resurrections.load() == 0);
  BOOST_TEST(reads.load() > 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ledger)

BOOST_AUTO_TEST_CASE(create_validate_revoke) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  CreatedToken t = CreateSync(*ledger, "acme/prod", "ci");
  BOOST_TEST(core::IsWellFormedToken(t.secret));
  BOOST_TEST(t.record.created_by == "tester");
  BOOST_TEST(t.record.expires_at == core::AddOneCalendarYear(t.record.created_at));
  BOOST_TEST(IsActive(*ledger, t.secret));
  BOOST_TEST(IsActive(*ledger, t.secret, "acme/prod"));
  BOOST_TEST(!IsActive(*ledger, t.secret, "acme"));
  BOOST_TEST(ledger->Get("acme/prod", t.record.id).has_value());
  BOOST_TEST(!ledger->Get("acme", t.record.id).has_value());

  auto revoked = RevokeSync(*ledger, "acme/prod", {t.record.id});
  BOOST_REQUIRE(revoked.ok());
  BOOST_TEST((revoked->front().result == RevokeResult::kRevoked));
  BOOST_TEST(!IsActive(*ledger, t.secret));
  BOOST_TEST((ledger->Get("acme/prod", t.record.id)->status == TokenStatus::kRevoked));
  BOOST_TEST(ledger->head_seq() == 2u);
}

BOOST_AUTO_TEST_CASE(batch_revoke_is_one_atomic_append_with_per_id_results) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  CreatedToken a = CreateSync(*ledger, "acme", "a");
  CreatedToken b = CreateSync(*ledger, "acme", "b");
  CreatedToken other = CreateSync(*ledger, "other", "c");
  auto results = RevokeSync(*ledger, "acme", {a.record.id, b.record.id, a.record.id, "tok_missing", other.record.id});
  BOOST_REQUIRE(results.ok());
  std::vector<RevokeResult> got;
  for (auto& r : *results) got.push_back(r.result);
  BOOST_TEST((got == std::vector<RevokeResult>{RevokeResult::kRevoked, RevokeResult::kRevoked, RevokeResult::kAlreadyRevoked,
                                               RevokeResult::kNotFound, RevokeResult::kNotFound}));
  BOOST_TEST(ledger->head_seq() == 5u);  // 3 creates + 2 revocations
  BOOST_TEST(IsActive(*ledger, other.secret));
  auto again = RevokeSync(*ledger, "acme", {a.record.id});
  BOOST_TEST((again->front().result == RevokeResult::kAlreadyRevoked));
}

BOOST_AUTO_TEST_CASE(rejects_bad_commands_without_writing) {
  TempDir dir;
  core::FakeClock clock(kNow);
  auto ledger = OpenLedger(dir.path(), &clock);
  std::promise<core::Status> p1, p2, p3, p4;
  ledger->Create({"/bad", "n", std::nullopt, "a"}, [&](auto r) { p1.set_value(r.status()); });
  ledger->Create({"acme", "", std::nullopt, "a"}, [&](auto r) { p2.set_value(r.status()); });
  ledger->Create({"acme", "n", kNow - 1, "a"}, [&](auto r) { p3.set_value(r.status()); });
  ledger->Revoke({"acme", {}, "", "a"}, [&](auto r) { p4.set_value(r.status()); });
  for (auto* p : {&p1, &p2, &p4}) BOOST_TEST(p->get_future().get().code() == core::StatusCode::kInvalidArgument);
  BOOST_TEST(p3.get_future().get().code() == core::StatusCode::kOutOfRange);
  BOOST_TEST(ledger->head_seq() == 0u);
}

BOOST_AUTO_TEST_CASE(concurrent_creates_share_fsyncs_and_stay_gapless) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  constexpr int kThreads = 32, kPerThread = 10;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::string> secrets;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    // Boost.Test is not thread-safe: worker threads only record, the main thread asserts.
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::promise<core::Result<CreatedToken>> done;
        ledger->Create({"ns" + std::to_string(t % 4), "t", std::nullopt, "tester"},
                       [&](core::Result<CreatedToken> r) { done.set_value(std::move(r)); });
        auto result = done.get_future().get();
        if (!result.ok()) {
          failures++;
          continue;
        }
        std::lock_guard lock(mu);
        secrets.push_back(result->secret);
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(ledger->head_seq() == static_cast<std::uint64_t>(kThreads * kPerThread));
  for (auto& s : secrets) BOOST_TEST(IsActive(*ledger, s));
  ledger.reset();
  VerifyReport report = Verify(dir.path());
  BOOST_TEST(report.ok());
  BOOST_TEST(report.events == static_cast<std::uint64_t>(kThreads * kPerThread));
}

// Commands queued while the writer is busy share its next WriteBatch and fsync.
BOOST_AUTO_TEST_CASE(queued_commands_share_one_fsync) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  constexpr int kCommands = 200;
  std::atomic<int> done{0}, failed{0};
  std::promise<void> all_done;
  for (int i = 0; i < kCommands; ++i) {
    // Create is asynchronous: all 200 are queued long before 200 fsyncs could happen.
    ledger->Create({"acme", "t", std::nullopt, "tester"}, [&](core::Result<CreatedToken> r) {
      if (!r.ok()) failed++;
      if (++done == kCommands) all_done.set_value();
    });
  }
  all_done.get_future().wait();
  BOOST_TEST(failed.load() == 0);
  BOOST_TEST(ledger->head_seq() == static_cast<std::uint64_t>(kCommands));
  BOOST_TEST(ledger->append_batches() < static_cast<std::uint64_t>(kCommands) / 2,
             "batches " << ledger->append_batches() << " for " << kCommands << " creates");
}

BOOST_AUTO_TEST_CASE(restart_restores_from_the_persisted_projection) {
  TempDir dir;
  std::vector<CreatedToken> tokens;
  {
    auto ledger = OpenLedger(dir.path());
    for (int i = 0; i < 20; ++i) tokens.push_back(CreateSync(*ledger, "acme", "t" + std::to_string(i)));
    BOOST_REQUIRE(RevokeSync(*ledger, "acme", {tokens[3].record.id, tokens[5].record.id}).ok());
  }
  auto ledger = OpenLedger(dir.path());
  BOOST_TEST(ledger->loaded_checkpoint() == 22u);
  BOOST_TEST(ledger->replayed_events() == 0u);
  for (int i = 0; i < 20; ++i) BOOST_TEST(IsActive(*ledger, tokens[i].secret) == (i != 3 && i != 5));
  BOOST_TEST(ledger->List("acme", StatusFilter::kAll, 100, std::nullopt).tokens.size() == 20u);
}

// The persisted projection lags the log (as after a crash between the two writes): the
// restart applies only the tail and ends equal to a full replay.
BOOST_AUTO_TEST_CASE(restart_replays_only_the_log_tail) {
  TempDir dir;
  std::vector<CreatedToken> tokens;
  std::vector<std::pair<std::string, std::string>> old_rows;
  std::string old_checkpoint;
  {
    auto ledger = OpenLedger(dir.path());
    for (int i = 0; i < 5; ++i) tokens.push_back(CreateSync(*ledger, "acme", "t"));
  }
  {
    auto storage = events::Storage::OpenPrimary(dir.path());
    BOOST_REQUIRE(storage.ok());
    std::unique_ptr<rocksdb::Iterator> it((*storage)->db()->NewIterator(rocksdb::ReadOptions(), (*storage)->tokens()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) old_rows.emplace_back(it->key().ToString(), it->value().ToString());
    BOOST_REQUIRE((*storage)->db()->Get(rocksdb::ReadOptions(), (*storage)->meta(), "projection_seq", &old_checkpoint).ok());
  }
  {
    auto ledger = OpenLedger(dir.path());
    for (int i = 0; i < 5; ++i) tokens.push_back(CreateSync(*ledger, "acme", "t"));
    BOOST_REQUIRE(RevokeSync(*ledger, "acme", {tokens[0].record.id, tokens[7].record.id}).ok());
  }
  {
    // Put the projection back to its state at seq 5.
    auto storage = events::Storage::OpenPrimary(dir.path());
    BOOST_REQUIRE(storage.ok());
    rocksdb::WriteBatch batch;
    BOOST_REQUIRE(batch.DeleteRange((*storage)->tokens(), "", "\x7f").ok());
    for (auto& [k, v] : old_rows) BOOST_REQUIRE(batch.Put((*storage)->tokens(), k, v).ok());
    BOOST_REQUIRE(batch.Put((*storage)->meta(), "projection_seq", old_checkpoint).ok());
    BOOST_REQUIRE((*storage)->db()->Write(rocksdb::WriteOptions(), &batch).ok());
    auto report = VerifyLedger(**storage);
    BOOST_REQUIRE(report.ok());
    BOOST_TEST(report->ok());  // a lagging projection plus the tail still equals the replay
    BOOST_TEST(report->checkpoint == 5u);
  }
  auto ledger = OpenLedger(dir.path());
  BOOST_TEST(ledger->loaded_checkpoint() == 5u);
  BOOST_TEST(ledger->replayed_events() == 7u);
  for (size_t i = 0; i < tokens.size(); ++i) BOOST_TEST(IsActive(*ledger, tokens[i].secret) == (i != 0 && i != 7));
  ledger.reset();
  VerifyReport report = Verify(dir.path());
  BOOST_TEST(report.ok());
  BOOST_TEST(report.checkpoint == 12u);
}

BOOST_AUTO_TEST_CASE(a_missing_projection_is_rebuilt_from_the_full_log) {
  TempDir dir;
  std::vector<CreatedToken> tokens;
  {
    auto ledger = OpenLedger(dir.path());
    for (int i = 0; i < 8; ++i) tokens.push_back(CreateSync(*ledger, "acme", "t"));
    BOOST_REQUIRE(RevokeSync(*ledger, "acme", {tokens[2].record.id}).ok());
  }
  {
    auto storage = events::Storage::OpenPrimary(dir.path());
    BOOST_REQUIRE(storage.ok());
    rocksdb::WriteBatch batch;
    BOOST_REQUIRE(batch.DeleteRange((*storage)->tokens(), "", "\x7f").ok());
    BOOST_REQUIRE(batch.Delete((*storage)->meta(), "projection_seq").ok());
    BOOST_REQUIRE((*storage)->db()->Write(rocksdb::WriteOptions(), &batch).ok());
  }
  {
    auto ledger = OpenLedger(dir.path());
    BOOST_TEST(ledger->replayed_events() == 9u);
    for (size_t i = 0; i < tokens.size(); ++i) BOOST_TEST(IsActive(*ledger, tokens[i].secret) == (i != 2));
    // A write right after the rebuild: the writer saves the rebuilt rows first, then this one's.
    tokens.push_back(CreateSync(*ledger, "acme", "after"));
  }
  VerifyReport report = Verify(dir.path());
  BOOST_TEST(report.ok());
  BOOST_TEST(report.checkpoint == 10u);
  auto ledger = OpenLedger(dir.path());
  BOOST_TEST(ledger->loaded_checkpoint() == 10u);
  BOOST_TEST(ledger->replayed_events() == 0u);
  BOOST_TEST(IsActive(*ledger, tokens.back().secret));
}

BOOST_AUTO_TEST_CASE(expiry_rejects_at_expires_at_and_the_sweeper_records_it) {
  TempDir dir;
  core::FakeClock clock(kNow);
  auto ledger = OpenLedger(dir.path(), &clock);
  CreatedToken t = CreateSync(*ledger, "acme", "short", kNow + 10);
  CreatedToken keep = CreateSync(*ledger, "acme", "long");
  BOOST_TEST(IsActive(*ledger, t.secret));
  clock.Set(kNow + 9);
  BOOST_TEST(IsActive(*ledger, t.secret));
  clock.Set(kNow + 10);
  // Invalid at once, whether or not token.expired has been written.
  BOOST_TEST(!IsActive(*ledger, t.secret));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ledger->head_seq() < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  BOOST_REQUIRE(ledger->head_seq() == 3u);
  auto record = ledger->Get("acme", t.record.id);
  BOOST_TEST((record->status == TokenStatus::kExpired));
  BOOST_TEST(record->expired_at == kNow + 10);
  BOOST_TEST(IsActive(*ledger, keep.secret));
  auto revoke = RevokeSync(*ledger, "acme", {t.record.id});
  BOOST_TEST((revoke->front().result == RevokeResult::kExpired));
  ledger.reset();
  auto storage = events::Storage::OpenPrimary(dir.path());
  BOOST_REQUIRE(storage.ok());
  auto store = events::EventStore::Open(**storage);
  auto event = (*store)->Read(3);
  BOOST_REQUIRE(event.ok());
  BOOST_TEST(std::holds_alternative<events::TokenExpired>(event->payload));
  BOOST_TEST(event->actor == std::string(kExpiryActor));
}

BOOST_AUTO_TEST_CASE(rotation_without_grace_replaces_the_token_in_one_append) {
  TempDir dir;
  core::FakeClock clock(kNow);
  auto ledger = OpenLedger(dir.path(), &clock);
  CreatedToken old = CreateSync(*ledger, "acme", "deploy", kNow + 5000);
  std::uint64_t batches = ledger->append_batches();
  auto rotated = RotateSync(*ledger, "acme", old.record.id, 0);
  BOOST_REQUIRE_MESSAGE(rotated.ok(), rotated.status().ToString());
  BOOST_TEST(ledger->append_batches() == batches + 1);  // created, rotated and revoked: one fsync
  BOOST_TEST(ledger->head_seq() == 4u);
  BOOST_TEST(rotated->record.rotated_from == old.record.id);
  BOOST_TEST(rotated->record.name == "deploy");
  BOOST_TEST(rotated->record.expires_at == core::AddOneCalendarYear(kNow));  // a fresh year, not the old expiry
  BOOST_TEST(rotated->secret != old.secret);
  BOOST_TEST(IsActive(*ledger, rotated->secret, "acme"));
  BOOST_TEST(!IsActive(*ledger, old.secret));
  auto record = ledger->Get("acme", old.record.id);
  BOOST_TEST((record->status == TokenStatus::kRevoked));
  BOOST_TEST(record->revoke_reason == std::string(kRotationReason));
  BOOST_TEST(record->rotated_to == rotated->record.id);
  auto history = ledger->History(old.record.id);
  BOOST_REQUIRE(history.ok());
  BOOST_REQUIRE(history->size() == 3u);
  BOOST_TEST(std::holds_alternative<events::TokenRotated>((*history)[1].payload));
  BOOST_TEST(std::holds_alternative<events::TokenRevoked>((*history)[2].payload));
  auto successor_history = ledger->History(rotated->record.id);
  BOOST_REQUIRE(successor_history->size() == 2u);  // its creation and the rotation that made it
  BOOST_TEST(std::holds_alternative<events::TokenRotated>(successor_history->back().payload));
  // Rotated, revoked or expired: no second rotation.
  BOOST_TEST((RotateSync(*ledger, "acme", old.record.id, 0).status().code() == core::StatusCode::kConflict));
  ledger.reset();
  BOOST_TEST(Verify(dir.path()).ok());
}

BOOST_AUTO_TEST_CASE(rotation_with_grace_keeps_the_old_token_until_revoke_at) {
  TempDir dir;
  core::FakeClock clock(kNow);
  auto ledger = OpenLedger(dir.path(), &clock);
  CreatedToken old = CreateSync(*ledger, "acme", "deploy");
  auto rotated = RotateSync(*ledger, "acme", old.record.id, 600, kNow + 86400);
  BOOST_REQUIRE(rotated.ok());
  BOOST_TEST(rotated->record.expires_at == kNow + 86400);
  BOOST_TEST(ledger->head_seq() == 3u);
  BOOST_TEST(IsActive(*ledger, old.secret));
  BOOST_TEST(IsActive(*ledger, rotated->secret));
  ActiveToken seen;
  BOOST_REQUIRE(ledger->Validate(old.secret, std::nullopt, &seen) == Validity::kActive);
  BOOST_TEST(seen.expires_at == kNow + 600);  // gateways see when it stops
  BOOST_TEST((RotateSync(*ledger, "acme", old.record.id, 0).status().code() == core::StatusCode::kConflict));
  // The grace survives a restart: the index comes back with the shortened validity.
  ledger.reset();
  ledger = OpenLedger(dir.path(), &clock);
  BOOST_TEST(IsActive(*ledger, old.secret));
  clock.Set(kNow + 599);
  BOOST_TEST(IsActive(*ledger, old.secret));
  BOOST_TEST(ledger->List("acme", StatusFilter::kActive, 10, std::nullopt).tokens.size() == 2u);
  clock.Set(kNow + 600);
  // Refused at once, whether or not the sweeper has written the revocation yet.
  BOOST_TEST(!IsActive(*ledger, old.secret));
  BOOST_TEST(ledger->List("acme", StatusFilter::kRevoked, 10, std::nullopt).tokens.size() == 1u);
  WaitForHead(*ledger, 4);
  auto record = ledger->Get("acme", old.record.id);
  BOOST_TEST((record->status == TokenStatus::kRevoked));
  BOOST_TEST(record->revoked_by == std::string(kRotationActor));
  BOOST_TEST(record->revoke_reason == std::string(kRotationReason));
  BOOST_TEST(IsActive(*ledger, rotated->secret));
  clock.Set(kNow + 2000);
  std::this_thread::sleep_for(std::chrono::milliseconds(450));  // two sweeps: nothing more to record
  BOOST_TEST(ledger->head_seq() == 4u);
  ledger.reset();
  BOOST_TEST(Verify(dir.path()).ok());
}

BOOST_AUTO_TEST_CASE(a_token_in_its_grace_period_can_still_be_revoked_at_once) {
  TempDir dir;
  core::FakeClock clock(kNow);
  auto ledger = OpenLedger(dir.path(), &clock);
  CreatedToken old = CreateSync(*ledger, "acme", "deploy");
  BOOST_REQUIRE(RotateSync(*ledger, "acme", old.record.id, 3600).ok());
  auto revoked = RevokeSync(*ledger, "acme", {old.record.id});
  BOOST_TEST((revoked->front().result == RevokeResult::kRevoked));
  BOOST_TEST(!IsActive(*ledger, old.secret));
  clock.Set(kNow + 3600);
  std::this_thread::sleep_for(std::chrono::milliseconds(450));
  BOOST_TEST(ledger->head_seq() == 4u);  // the sweeper has nothing left to end
}

BOOST_AUTO_TEST_CASE(rotation_refuses_what_it_cannot_rotate) {
  TempDir dir;
  core::FakeClock clock(kNow);
  auto ledger = OpenLedger(dir.path(), &clock);
  CreatedToken revoked = CreateSync(*ledger, "acme", "r");
  BOOST_REQUIRE(RevokeSync(*ledger, "acme", {revoked.record.id}).ok());
  CreatedToken expiring = CreateSync(*ledger, "acme", "e", kNow + 5);
  CreatedToken fine = CreateSync(*ledger, "acme", "f", kNow + 100);
  std::uint64_t head = ledger->head_seq();
  auto code = [&](const std::string& ns, const std::string& id, core::Timestamp grace,
                  std::optional<core::Timestamp> expires = std::nullopt) {
    return RotateSync(*ledger, ns, id, grace, expires).status().code();
  };
  BOOST_TEST((code("acme", revoked.record.id, 0) == core::StatusCode::kConflict));
  BOOST_TEST((code("acme", "tok_unknown", 0) == core::StatusCode::kNotFound));
  BOOST_TEST((code("other", fine.record.id, 0) == core::StatusCode::kNotFound));
  BOOST_TEST((code("acme", fine.record.id, 86401) == core::StatusCode::kOutOfRange));
  BOOST_TEST((code("acme", fine.record.id, -1) == core::StatusCode::kOutOfRange));
  BOOST_TEST((code("acme", fine.record.id, 0, kNow - 1) == core::StatusCode::kOutOfRange));
  BOOST_TEST((code("acme", fine.record.id, 0, kNow + 400 * 86400) == core::StatusCode::kOutOfRange));
  clock.Set(kNow + 5);
  BOOST_TEST((code("acme", expiring.record.id, 0) == core::StatusCode::kConflict));
  WaitForHead(*ledger, head + 1);  // the expiry of "e"
  BOOST_TEST(ledger->head_seq() == head + 1);  // nothing else written
  // A grace longer than the token has left ends at its expiry.
  auto rotated = RotateSync(*ledger, "acme", fine.record.id, 86400);
  BOOST_REQUIRE(rotated.ok());
  BOOST_TEST(ledger->Get("acme", fine.record.id)->revoke_at == kNow + 100);
}

BOOST_AUTO_TEST_CASE(last_used_is_listed_kept_after_revocation_and_saved_across_restarts) {
  TempDir dir;
  core::FakeClock clock(kNow);
  auto ledger = OpenLedger(dir.path(), &clock);
  CreatedToken used = CreateSync(*ledger, "acme", "used");
  CreatedToken idle = CreateSync(*ledger, "acme", "idle");
  CreatedToken ended = CreateSync(*ledger, "acme", "ended");
  BOOST_TEST(ledger->Get("acme", used.record.id)->last_used.at == 0);
  clock.Set(kNow + 100);
  BOOST_TEST(IsActive(*ledger, used.secret));
  BOOST_TEST(IsActive(*ledger, ended.secret));
  // Listed at once, before any harvest: the index's value is read.
  BOOST_TEST(ledger->Get("acme", used.record.id)->last_used.at == kNow + 100);
  auto page = ledger->List("acme", StatusFilter::kAll, 10, std::nullopt);
  for (const TokenRecord& r : page.tokens)
    BOOST_TEST(r.last_used.at == (r.id == idle.record.id ? 0 : kNow + 100), r.id);
  // As of a point in history there is no last use.
  auto as_of = ledger->AsOfSeq(ledger->head_seq());
  for (const TokenRecord& r : ledger->List("acme", StatusFilter::kAll, 10, std::nullopt, *as_of).tokens)
    BOOST_TEST(r.last_used.at == 0);
  // A historical validation is not a use.
  clock.Set(kNow + 200);
  BOOST_TEST(ledger->ValidateAsOf(idle.secret, std::nullopt, *as_of)->has_value());
  BOOST_TEST(ledger->Get("acme", idle.record.id)->last_used.at == 0);
  // Revoked: the token leaves the index, its last use stays.
  BOOST_REQUIRE(RevokeSync(*ledger, "acme", {ended.record.id}).ok());
  BOOST_TEST(ledger->Get("acme", ended.record.id)->last_used.at == kNow + 100);
  clock.Set(kNow + 300);
  BOOST_TEST(IsActive(*ledger, used.secret));
  ledger.reset();  // a clean stop saves what the index holds
  ledger = OpenLedger(dir.path(), &clock);
  BOOST_TEST(ledger->Get("acme", used.record.id)->last_used.at == kNow + 300);
  BOOST_TEST(ledger->Get("acme", ended.record.id)->last_used.at == kNow + 100);
  BOOST_TEST(ledger->Get("acme", idle.record.id)->last_used.at == 0);
  // Not a ledger fact: verify still finds the projection equal to a replay.
  ledger.reset();
  BOOST_TEST(Verify(dir.path()).ok());
}

BOOST_AUTO_TEST_CASE(commands_after_stop_are_refused) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  ledger->Stop();
  BOOST_TEST(!ledger->writable());
  std::promise<core::Status> p;
  ledger->Create({"acme", "n", std::nullopt, "a"}, [&](auto r) { p.set_value(r.status()); });
  BOOST_TEST(p.get_future().get().code() == core::StatusCode::kUnavailable);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(verifier)

BOOST_AUTO_TEST_CASE(a_clean_ledger_verifies) {
  TempDir dir;
  {
    auto ledger = OpenLedger(dir.path());
    auto a = CreateSync(*ledger, "acme", "a");
    CreateSync(*ledger, "acme", "b");
    BOOST_REQUIRE(RevokeSync(*ledger, "acme", {a.record.id}).ok());
  }
  VerifyReport report = Verify(dir.path());
  BOOST_TEST(report.ok());
  BOOST_TEST(report.events == 3u);
  BOOST_TEST(report.head_seq == 3u);
  BOOST_TEST(report.checkpoint == 3u);
  BOOST_TEST(report.tokens == 2u);
}

BOOST_AUTO_TEST_CASE(a_flipped_byte_in_a_stored_event_is_detected) {
  TempDir dir;
  CreateTokensAndClose(dir.path(), 3);
  {
    auto storage = events::Storage::OpenPrimary(dir.path());
    BOOST_REQUIRE(storage.ok());
    std::string value;
    auto& db = *(*storage)->db();
    BOOST_REQUIRE(db.Get(rocksdb::ReadOptions(), (*storage)->events(), events::EventKey(2), &value).ok());
    value[value.size() / 2] ^= 0x04;
    BOOST_REQUIRE(db.Put(rocksdb::WriteOptions(), (*storage)->events(), events::EventKey(2), value).ok());
  }
  VerifyReport report = Verify(dir.path());
  BOOST_REQUIRE(!report.ok());
  BOOST_TEST(report.problems.front().find("event 2") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_deleted_event_is_a_gap) {
  TempDir dir;
  CreateTokensAndClose(dir.path(), 3);
  {
    auto storage = events::Storage::OpenPrimary(dir.path());
    BOOST_REQUIRE(storage.ok());
    BOOST_REQUIRE((*storage)->db()->Delete(rocksdb::WriteOptions(), (*storage)->events(), events::EventKey(2)).ok());
  }
  VerifyReport report = Verify(dir.path());
  BOOST_REQUIRE(!report.ok());
  BOOST_TEST(report.problems.front().find("gap") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_tampered_projection_row_is_detected) {
  TempDir dir;
  std::string id;
  {
    auto ledger = OpenLedger(dir.path());
    id = CreateSync(*ledger, "acme", "t").record.id;
    CreateSync(*ledger, "acme", "u");
  }
  {
    auto storage = events::Storage::OpenPrimary(dir.path());
    BOOST_REQUIRE(storage.ok());
    // Swap one token's row for another's: decodes fine, but no longer equals the replay.
    std::unique_ptr<rocksdb::Iterator> it((*storage)->db()->NewIterator(rocksdb::ReadOptions(), (*storage)->tokens()));
    std::vector<std::pair<std::string, std::string>> rows;
    for (it->SeekToFirst(); it->Valid(); it->Next()) rows.emplace_back(it->key().ToString(), it->value().ToString());
    BOOST_REQUIRE(rows.size() == 2u);
    BOOST_REQUIRE((*storage)->db()->Delete(rocksdb::WriteOptions(), (*storage)->tokens(), rows[0].first).ok());
  }
  VerifyReport report = Verify(dir.path());
  BOOST_REQUIRE(!report.ok());
  BOOST_TEST(report.problems.front().find("projection differs") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
