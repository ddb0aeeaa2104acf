// Point in time, history, long-poll waiters, replay and the signed head, on real ledgers.
#include <rocksdb/db.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <condition_variable>
#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "core/signing.h"
#include "events/event_store.h"
#include "events/storage.h"
#include "projections/event_waiters.h"
#include "projections/ledger.h"
#include "projections/ledger_verifier.h"
#include "projections/replay.h"
#include "tests/test_util.h"

using namespace tokenledger;
using namespace tokenledger::projections;
using tokenledger::testing::TempDir;
using events::TokenStatus;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr core::Timestamp kStart = 1796412188;  // 2026-12-04T19:23:08Z

std::unique_ptr<Ledger> Open(const std::string& dir, const core::Clock* clock, const core::SigningKey* key = nullptr) {
  LedgerOptions options{dir, kDefaultMaxLifetimeDays, clock, key};
  auto ledger = Ledger::Open(options);
  BOOST_REQUIRE_MESSAGE(ledger.ok(), ledger.status().ToString());
  return std::move(ledger).value();
}

CreatedToken Create(Ledger& ledger, const std::string& ns, std::optional<core::Timestamp> expires_at = std::nullopt) {
  std::promise<core::Result<CreatedToken>> done;
  ledger.Create({ns, "t", expires_at, "creator"}, [&](core::Result<CreatedToken> r) { done.set_value(std::move(r)); });
  auto result = done.get_future().get();
  BOOST_REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  return std::move(result).value();
}

void Revoke(Ledger& ledger, const std::string& ns, std::vector<std::string> ids) {
  std::promise<core::Result<std::vector<RevokeOutcome>>> done;
  ledger.Revoke({ns, std::move(ids), "why", "revoker"}, [&](auto r) { done.set_value(std::move(r)); });
  BOOST_REQUIRE(done.get_future().get().ok());
}

CreatedToken Rotate(Ledger& ledger, const std::string& ns, const std::string& id, core::Timestamp grace) {
  std::promise<core::Result<CreatedToken>> done;
  ledger.Rotate({ns, id, grace, std::nullopt, "rotator"}, [&](core::Result<CreatedToken> r) { done.set_value(std::move(r)); });
  auto result = done.get_future().get();
  BOOST_REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  return std::move(result).value();
}

// Waits (up to 5 s) until the writer recorded events up to seq.
void WaitForHead(const Ledger& ledger, std::uint64_t seq) {
  auto deadline = SteadyClock::now() + std::chrono::seconds(5);
  while (ledger.head_seq() < seq && SteadyClock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  BOOST_REQUIRE(ledger.head_seq() >= seq);
}

// A history with creates in two namespaces, single and batch revocations, rotations (with a
// grace period the sweeper ends, and without), and expiries written by the sweeper, spread over
// time. Returns the secrets of every token.
std::vector<CreatedToken> BuildHistory(Ledger& ledger, core::FakeClock& clock) {
  std::vector<CreatedToken> tokens;
  for (int round = 0; round < 4; ++round) {
    tokens.push_back(Create(ledger, "acme"));
    tokens.push_back(Create(ledger, "beta", clock.Now() + 30));  // expires within the history
    CreatedToken rotated = Create(ledger, "acme");
    clock.Advance(10);
    tokens.push_back(Create(ledger, "acme", clock.Now() + 15));
    Revoke(ledger, "acme", {tokens[tokens.size() - 3].record.id});
    bool grace = round % 2 == 0;
    tokens.push_back(Rotate(ledger, "acme", rotated.record.id, grace ? 15 : 0));
    tokens.push_back(rotated);
    clock.Advance(20);
    std::uint64_t before = ledger.head_seq();
    // The sweeper (every 200 ms) records the expiries now due, and the end of the grace.
    WaitForHead(ledger, before + (round == 0 ? 1 : 2) + (grace ? 1 : 0));
    if (round % 2 == 1) Revoke(ledger, "acme", {tokens[0].record.id, tokens[tokens.size() - 3].record.id});
  }
  return tokens;
}

std::vector<TokenRecord> ListedAsOf(const Ledger& ledger, const std::string& ns, StatusFilter filter, const AsOf& as_of) {
  std::vector<TokenRecord> all;
  std::optional<std::uint64_t> cursor;
  do {  // small pages, so the cursor is exercised under as_of too
    auto page = ledger.List(ns, filter, 2, cursor, as_of);
    all.insert(all.end(), page.tokens.begin(), page.tokens.end());
    cursor = page.next_cursor;
  } while (cursor);
  return all;
}

std::vector<TokenRecord> ReplayedAsOf(const Ledger& ledger, const std::string& ns, StatusFilter filter, const AsOf& as_of) {
  TokenTable table;
  auto applied = Replay(ledger.event_store(), 1, as_of.seq, table);
  BOOST_REQUIRE(applied.ok());
  BOOST_REQUIRE(*applied == as_of.seq);
  return table.List(ns, filter, 1000, std::nullopt, as_of.time).tokens;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(point_in_time)

BOOST_AUTO_TEST_CASE(as_of_answers_equal_a_replay_cut_at_every_seq) {
  TempDir dir;
  core::FakeClock clock(kStart);
  auto ledger = Open(dir.path(), &clock);
  auto tokens = BuildHistory(*ledger, clock);
  std::uint64_t head = ledger->head_seq();
  BOOST_REQUIRE(head > 20u);
  int compared = 0;
  for (std::uint64_t seq = 0; seq <= head; ++seq) {
    auto as_of = ledger->AsOfSeq(seq);
    BOOST_REQUIRE(as_of.ok());
    for (const char* ns : {"acme", "beta"}) {
      for (auto filter : {StatusFilter::kAll, StatusFilter::kActive, StatusFilter::kRevoked, StatusFilter::kExpired}) {
        auto listed = ListedAsOf(*ledger, ns, filter, *as_of);
        auto replayed = ReplayedAsOf(*ledger, ns, filter, *as_of);
        BOOST_TEST((listed == replayed), "seq " << seq << " " << ns);
        ++compared;
      }
    }
    // "Was this token valid then?" agrees with the replay too.
    TokenTable table;
    BOOST_REQUIRE(Replay(ledger->event_store(), 1, seq, table).ok());
    for (const CreatedToken& t : tokens) {
      const TokenRecord* then = table.Find(t.record.id);
      bool expected = then != nullptr &&
                      StatusAt(*then, as_of->time) == TokenStatus::kActive;
      auto got = ledger->ValidateAsOf(t.secret, std::nullopt, *as_of);
      BOOST_REQUIRE(got.ok());
      BOOST_TEST(got->has_value() == expected, "seq " << seq << " token " << t.record.id);
      auto other_ns = ledger->ValidateAsOf(t.secret, "nope", *as_of);
      BOOST_TEST(!other_ns->has_value());
    }
  }
  BOOST_TEST(compared > 100);
}

BOOST_AUTO_TEST_CASE(as_of_a_time_takes_every_event_recorded_at_or_before_it) {
  TempDir dir;
  core::FakeClock clock(kStart);
  auto ledger = Open(dir.path(), &clock);
  auto a = Create(*ledger, "acme");  // seq 1 at kStart
  clock.Advance(60);
  Revoke(*ledger, "acme", {a.record.id});  // seq 2 at kStart + 60
  auto listed = [&](core::Timestamp t) {
    auto as_of = ledger->AsOfTime(t);
    BOOST_REQUIRE(as_of.ok());
    auto page = ledger->List("acme", StatusFilter::kAll, 10, std::nullopt, *as_of);
    return page.tokens;
  };
  BOOST_TEST(listed(kStart - 1).empty());
  BOOST_REQUIRE(listed(kStart).size() == 1u);  // the event at T is visible as of T
  BOOST_TEST((listed(kStart)[0].status == TokenStatus::kActive));
  BOOST_TEST((listed(kStart + 59)[0].status == TokenStatus::kActive));
  BOOST_TEST((listed(kStart + 60)[0].status == TokenStatus::kRevoked));
  BOOST_TEST(listed(kStart + 60)[0].revoked_by == "revoker");
  BOOST_TEST(listed(kStart + 59)[0].revoked_by.empty());
  BOOST_TEST(ledger->ValidateAsOf(a.secret, "acme", *ledger->AsOfTime(kStart + 59))->has_value());
  BOOST_TEST(!ledger->ValidateAsOf(a.secret, "acme", *ledger->AsOfTime(kStart + 60))->has_value());
  BOOST_TEST(!ledger->ValidateAsOf(a.secret, "acme", *ledger->AsOfTime(kStart - 1))->has_value());
  BOOST_TEST(!ledger->ValidateAsOf("tlpat_not-even-well-formed", std::nullopt, *ledger->AsOfTime(kStart))->has_value());
}

BOOST_AUTO_TEST_CASE(expiry_counts_at_expires_at_even_before_the_sweeper_wrote_it) {
  TempDir dir;
  core::FakeClock clock(kStart);
  auto ledger = Open(dir.path(), &clock);
  auto a = Create(*ledger, "acme", kStart + 100);
  clock.Advance(150);  // the sweeper records token.expired at kStart + 150
  WaitForHead(*ledger, 2);
  BOOST_TEST(ledger->ValidateAsOf(a.secret, std::nullopt, *ledger->AsOfTime(kStart + 99))->has_value());
  BOOST_TEST(!ledger->ValidateAsOf(a.secret, std::nullopt, *ledger->AsOfTime(kStart + 100))->has_value());
  auto page = ledger->List("acme", StatusFilter::kExpired, 10, std::nullopt, *ledger->AsOfTime(kStart + 120));
  BOOST_TEST(page.tokens.size() == 1u);
}

BOOST_AUTO_TEST_CASE(the_future_and_seqs_beyond_the_head_are_refused) {
  TempDir dir;
  core::FakeClock clock(kStart);
  auto ledger = Open(dir.path(), &clock);
  Create(*ledger, "acme");
  BOOST_TEST(ledger->AsOfTime(kStart + 1).status().code() == core::StatusCode::kInvalidArgument);
  BOOST_TEST(ledger->AsOfSeq(2).status().code() == core::StatusCode::kInvalidArgument);
  BOOST_TEST(ledger->AsOfSeq(1).ok());
  BOOST_TEST(ledger->AsOfSeq(0).ok());
}

BOOST_AUTO_TEST_CASE(recorded_at_never_goes_back_when_the_clock_does) {
  TempDir dir;
  core::FakeClock clock(kStart);
  auto ledger = Open(dir.path(), &clock);
  Create(*ledger, "acme");
  clock.Set(kStart - 3600);  // the wall clock is stepped back an hour
  Create(*ledger, "acme");
  auto first = ledger->event_store().Read(1), second = ledger->event_store().Read(2);
  BOOST_TEST(second->recorded_at == first->recorded_at);
  BOOST_TEST(*ledger->event_store().LastSeqAtOrBefore(kStart) == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(history_and_replay)

BOOST_AUTO_TEST_CASE(history_lists_a_tokens_events_with_actor_and_reason) {
  TempDir dir;
  core::FakeClock clock(kStart);
  auto ledger = Open(dir.path(), &clock);
  auto a = Create(*ledger, "acme");
  auto b = Create(*ledger, "acme");
  Revoke(*ledger, "acme", {a.record.id});
  auto history = ledger->History(a.record.id);
  BOOST_REQUIRE(history.ok());
  BOOST_REQUIRE(history->size() == 2u);
  BOOST_TEST((*history)[0].seq == 1u);
  BOOST_TEST((*history)[0].actor == "creator");
  BOOST_TEST((*history)[1].seq == 3u);
  BOOST_TEST((*history)[1].actor == "revoker");
  BOOST_TEST(std::get<events::TokenRevoked>((*history)[1].payload).reason == "why");
  BOOST_TEST(ledger->History(b.record.id)->size() == 1u);
  BOOST_TEST(ledger->History("tok_AAAAAAAAAAAAAAAAAAAA").status().code() == core::StatusCode::kNotFound);
}

BOOST_AUTO_TEST_CASE(replay_rebuilds_what_the_ledger_holds_and_reports_progress) {
  TempDir dir;
  core::FakeClock clock(kStart);
  auto ledger = Open(dir.path(), &clock);
  BuildHistory(*ledger, clock);
  TokenTable table;
  std::uint64_t calls = 0;
  auto applied = Replay(ledger->event_store(), 1, ledger->head_seq(), table, nullptr,
                        [&](const events::Event&) { ++calls; });
  BOOST_REQUIRE(applied.ok());
  BOOST_TEST(*applied == ledger->head_seq());
  BOOST_TEST(calls == ledger->head_seq());
  for (const TokenRecord& r : table.records()) {
    auto held = ledger->Get(r.namespace_id, r.id);
    BOOST_REQUIRE(held.has_value());
    BOOST_TEST((*held == r));
  }
}

BOOST_AUTO_TEST_CASE(the_token_table_index_grows_and_finds_every_token) {
  TokenTable table;
  constexpr int kTokens = 20000;
  for (int i = 0; i < kTokens; ++i) {
    events::Event e{static_cast<std::uint64_t>(i + 1), kStart, "a",
                    events::TokenCreated{"tok_" + std::to_string(i), "ns" + std::to_string(i % 7), "n",
                                         core::Sha256(std::to_string(i)), kStart + 10},
                    {}, {}};
    BOOST_REQUIRE(table.Apply(e).ok());
  }
  BOOST_TEST(table.size() == static_cast<size_t>(kTokens));
  for (int i = 0; i < kTokens; i += 97) BOOST_TEST(table.Find("tok_" + std::to_string(i))->created_seq == i + 1u);
  BOOST_TEST(table.Find("tok_missing") == nullptr);
  TokenTable copy;
  for (const TokenRecord& r : table.records()) BOOST_REQUIRE(copy.Restore(r).ok());
  copy.FinishRestore();
  BOOST_TEST((copy == table));
  BOOST_TEST(!copy.Restore(table.records().front()).ok());  // a duplicate id
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(waiting_for_events)

BOOST_AUTO_TEST_CASE(waiters_are_called_at_once_on_publish_or_at_their_deadline) {
  EventWaiters waiters;
  waiters.Reset(5, {{"acme", 5}, {"beta", 3}});
  std::vector<std::string> calls;
  auto far = SteadyClock::now() + std::chrono::hours(1);
  waiters.Wait(4, std::nullopt, far, [&](bool arrived) { calls.push_back(arrived ? "now" : "timeout"); });
  waiters.Wait(3, std::string("beta"), far, [&](bool arrived) { calls.push_back(arrived ? "beta" : "beta timeout"); });
  waiters.Wait(5, std::string("acme"), far, [&](bool arrived) { calls.push_back(arrived ? "acme" : "acme timeout"); });
  waiters.Wait(5, std::nullopt, SteadyClock::now() + std::chrono::milliseconds(1),
               [&](bool arrived) { calls.push_back(arrived ? "any" : "any timeout"); });
  BOOST_TEST((calls == std::vector<std::string>{"now"}));
  events::Event beta{6, kStart, "a", events::TokenExpired{"tok_x", "beta"}, {}, {}};
  waiters.Published({beta});
  BOOST_TEST((calls == std::vector<std::string>{"now", "beta", "any"}));  // acme still waits
  BOOST_TEST(waiters.NamespaceHead("beta") == 6u);
  waiters.ExpireDue(SteadyClock::now());
  BOOST_TEST(calls.size() == 3u);
  BOOST_TEST(waiters.NextDeadline().has_value());
  waiters.ExpireDue(far);
  BOOST_TEST(calls.back() == "acme timeout");
  waiters.CancelAll();
  waiters.Wait(0, std::nullopt, far, [&](bool arrived) { calls.push_back(arrived ? "late" : "cancelled"); });
  BOOST_TEST(calls.back() == "cancelled");
}

BOOST_AUTO_TEST_CASE(a_ledger_wakes_a_waiter_promptly_on_append_and_times_out_on_time) {
  TempDir dir;
  auto ledger = Open(dir.path(), nullptr);
  Create(*ledger, "acme");
  std::promise<bool> woke;
  auto start = SteadyClock::now();
  ledger->WaitForEvents(1, std::string("acme"), start + std::chrono::seconds(10), [&](bool a) { woke.set_value(a); });
  // Boost.Test is not thread-safe: the writer thread only records, the main thread asserts.
  std::atomic<int> created{0};
  auto create_async = [&](const std::string& ns) {
    std::promise<void> done;
    ledger->Create({ns, "t", std::nullopt, "creator"}, [&](core::Result<CreatedToken> r) {
      if (r.ok()) created.fetch_add(1);
      done.set_value();
    });
    done.get_future().wait();
  };
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    create_async("beta");  // another namespace: no wake-up
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    create_async("acme");
  });
  auto future = woke.get_future();
  BOOST_REQUIRE(future.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  auto took = SteadyClock::now() - start;
  writer.join();
  BOOST_TEST(created.load() == 2);
  BOOST_TEST(future.get());
  BOOST_TEST(took >= std::chrono::milliseconds(190));
  BOOST_TEST(took < std::chrono::seconds(2));

  std::promise<bool> timed_out;
  start = SteadyClock::now();
  ledger->WaitForEvents(ledger->head_seq(), std::nullopt, start + std::chrono::milliseconds(300),
                        [&](bool a) { timed_out.set_value(a); });
  auto late = timed_out.get_future();
  BOOST_REQUIRE(late.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  BOOST_TEST(!late.get());
  took = SteadyClock::now() - start;
  BOOST_TEST(took >= std::chrono::milliseconds(300));
  BOOST_TEST(took < std::chrono::milliseconds(1500));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(signed_head)

BOOST_AUTO_TEST_CASE(the_ledger_saves_a_signed_head_that_verify_checks_against_the_key) {
  TempDir dir, keys;
  auto key = core::SigningKey::LoadOrCreate(keys.Sub("signing.key"));
  auto other = core::SigningKey::LoadOrCreate(keys.Sub("other.key"));
  BOOST_REQUIRE(key.ok() && other.ok());
  {
    auto ledger = Open(dir.path(), nullptr, &*key);
    Create(*ledger, "acme");
    Create(*ledger, "acme");
    auto head = ledger->SignHead();
    BOOST_REQUIRE(head.ok());
    BOOST_TEST(head->seq == 2u);
    BOOST_TEST(events::VerifySignedHead(*head, key->public_key()).ok());
    auto earlier = ledger->SignHead(1);
    BOOST_TEST((earlier->hash == ledger->event_store().Read(1)->hash));
    BOOST_TEST(!ledger->SignHead(3).ok());
  }  // Stop saves the head
  auto storage = events::Storage::OpenPrimary(dir.path());
  BOOST_REQUIRE(storage.ok());
  VerifyOptions trusted;
  trusted.trusted_key = key->public_key();
  auto report = VerifyLedger(**storage, trusted);
  BOOST_REQUIRE(report.ok());
  BOOST_TEST(report->ok());
  BOOST_REQUIRE(report->signed_head.has_value());
  BOOST_TEST(report->signed_head->seq == 2u);
  VerifyOptions wrong;
  wrong.trusted_key = other->public_key();
  report = VerifyLedger(**storage, wrong);
  BOOST_TEST(!report->ok());

  // A signed head that names a hash the log does not have (events rewritten under it).
  auto store = events::EventStore::Open(**storage);
  auto forged = events::SignHead(*key, 2, core::Sha256("rewritten"), kStart);
  BOOST_REQUIRE((*store)->SaveSignedHead(forged).ok());
  report = VerifyLedger(**storage, trusted);
  BOOST_TEST(!report->ok());
  bool named = false;
  for (const auto& p : report->problems) named = named || p.find("signed head: seq 2") != std::string::npos;
  BOOST_TEST(named);
  auto beyond = events::SignHead(*key, 9, core::Sha256("x"), kStart);
  BOOST_REQUIRE((*store)->SaveSignedHead(beyond).ok());
  report = VerifyLedger(**storage, trusted);
  BOOST_TEST(!report->ok());
}

BOOST_AUTO_TEST_CASE(verify_checks_the_digest_index) {
  TempDir dir;
  {
    auto ledger = Open(dir.path(), nullptr);
    Create(*ledger, "acme");
    Create(*ledger, "acme");
  }
  auto storage = events::Storage::OpenPrimary(dir.path());
  BOOST_REQUIRE(storage.ok());
  BOOST_TEST(VerifyLedger(**storage)->ok());
  std::unique_ptr<rocksdb::Iterator> it((*storage)->db()->NewIterator(rocksdb::ReadOptions(), (*storage)->digests()));
  it->SeekToFirst();
  BOOST_REQUIRE(it->Valid());
  std::string key = it->key().ToString();
  it.reset();
  BOOST_REQUIRE((*storage)->db()->Put(rocksdb::WriteOptions(), (*storage)->digests(), key, "tok_someone_else").ok());
  BOOST_TEST(!VerifyLedger(**storage)->ok());
  BOOST_REQUIRE((*storage)->db()->Delete(rocksdb::WriteOptions(), (*storage)->digests(), key).ok());
  BOOST_TEST(!VerifyLedger(**storage)->ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(back_pressure)

BOOST_AUTO_TEST_CASE(a_full_write_queue_refuses_at_once_and_loses_nothing_it_accepted) {
  TempDir dir;
  LedgerOptions options{dir.path(), kDefaultMaxLifetimeDays, nullptr, nullptr, 2};
  auto opened = Ledger::Open(options);
  BOOST_REQUIRE(opened.ok());
  auto& ledger = **opened;
  constexpr int kCommands = 300;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, accepted = 0, overloaded = 0, other = 0;
  // Callbacks only count (they may run on the writer thread); the test thread asserts.
  for (int i = 0; i < kCommands; ++i) {
    ledger.Create({"acme", "t", std::nullopt, "flood"}, [&](core::Result<CreatedToken> r) {
      std::lock_guard lock(mu);
      if (r.ok()) ++accepted;
      else if (r.status().code() == core::StatusCode::kResourceExhausted) ++overloaded;
      else ++other;
      ++done;
      cv.notify_all();
    });
  }
  {
    std::unique_lock lock(mu);
    BOOST_REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return done == kCommands; }));
  }
  BOOST_TEST(other == 0);
  BOOST_TEST(overloaded > 0);  // 300 commands at once cannot all fit in a queue of 2
  BOOST_TEST(accepted > 0);
  BOOST_TEST(ledger.queue_full_rejections() == static_cast<std::uint64_t>(overloaded));
  BOOST_TEST(ledger.head_seq() == static_cast<std::uint64_t>(accepted));  // each accepted one is durable
  BOOST_TEST(Ledger::Open({dir.Sub("x"), kDefaultMaxLifetimeDays, nullptr, nullptr, 0}).status().code() ==
             core::StatusCode::kInvalidArgument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(failure_paths)

namespace {
// A log written straight through the event store (which checks no lifecycle rule).
std::unique_ptr<events::Storage> LogOf(const std::string& dir, std::vector<events::NewEvent> news) {
  auto storage = events::Storage::OpenPrimary(dir);
  BOOST_REQUIRE(storage.ok());
  auto store = events::EventStore::Open(**storage);
  BOOST_REQUIRE(store.ok());
  BOOST_REQUIRE((*store)->Append(std::move(news)).ok());
  return std::move(storage).value();
}
events::NewEvent NewCreate(int i) {
  return {kStart, "a", events::TokenCreated{"tok_" + std::to_string(i), "acme", "n", core::Sha256(std::to_string(i)), kStart + 100}};
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_replay_stops_at_a_contradiction_without_hanging_its_reader) {
  TempDir dir;
  std::vector<events::NewEvent> news;
  for (int i = 0; i < 10000; ++i) news.push_back(NewCreate(i));  // several batches in flight
  news.insert(news.begin() + 10, events::NewEvent{kStart, "a", events::TokenRevoked{"tok_unknown", "acme", ""}});
  auto storage = LogOf(dir.path(), std::move(news));
  auto store = events::EventStore::Open(*storage);
  TokenTable table;
  auto replayed = Replay(**store, 1, (*store)->head_seq(), table);
  BOOST_REQUIRE(!replayed.ok());
  BOOST_TEST(replayed.status().code() == core::StatusCode::kCorruption);
  BOOST_TEST(replayed.status().message().find("event 11") != std::string::npos, replayed.status().message());
}

BOOST_AUTO_TEST_CASE(a_replay_reports_an_event_that_does_not_match_its_hash) {
  TempDir dir;
  std::vector<events::NewEvent> news;
  for (int i = 0; i < 5000; ++i) news.push_back(NewCreate(i));
  auto storage = LogOf(dir.path(), std::move(news));
  std::string value;
  BOOST_REQUIRE(storage->db()->Get(rocksdb::ReadOptions(), storage->events(), events::EventKey(4000), &value).ok());
  value[20] ^= 1;
  BOOST_REQUIRE(storage->db()->Put(rocksdb::WriteOptions(), storage->events(), events::EventKey(4000), value).ok());
  auto store = events::EventStore::Open(*storage);
  TokenTable table;
  auto replayed = Replay(**store, 1, 5000, table);
  BOOST_REQUIRE(!replayed.ok());
  BOOST_TEST(replayed.status().message().find("event 4000") != std::string::npos, replayed.status().message());
}

BOOST_AUTO_TEST_CASE(an_undecodable_projection_row_makes_the_ledger_rebuild_from_the_log) {
  TempDir dir;
  std::vector<CreatedToken> tokens;
  {
    auto ledger = Open(dir.path(), nullptr);
    for (int i = 0; i < 3; ++i) tokens.push_back(Create(*ledger, "acme"));
  }
  {
    auto storage = events::Storage::OpenPrimary(dir.path());
    BOOST_REQUIRE(storage.ok());
    BOOST_REQUIRE((*storage)->db()->Put(rocksdb::WriteOptions(), (*storage)->tokens(), tokens[1].record.id,
                                         std::string("\x01\x01\xff\xff\xff\xff\xff\xff\xff\x7f", 10)).ok());
  }
  auto ledger = Open(dir.path(), nullptr);
  BOOST_TEST(ledger->loaded_checkpoint() == 0u);  // rows refused: rebuilt from the whole log
  BOOST_TEST(ledger->replayed_events() == 3u);
  for (const auto& t : tokens) BOOST_TEST((ledger->Validate(t.secret, std::nullopt, nullptr) == Validity::kActive));
}

BOOST_AUTO_TEST_CASE(a_new_signing_key_signs_the_head_again) {
  TempDir dir, keys;
  auto old_key = core::SigningKey::LoadOrCreate(keys.Sub("old.key"));
  auto new_key = core::SigningKey::LoadOrCreate(keys.Sub("new.key"));
  BOOST_REQUIRE(old_key.ok() && new_key.ok());
  {
    auto ledger = Open(dir.path(), nullptr, &*old_key);
    Create(*ledger, "acme");
  }
  { auto ledger = Open(dir.path(), nullptr, &*new_key); }  // no write: only the key changed
  auto storage = events::Storage::OpenPrimary(dir.path());
  BOOST_REQUIRE(storage.ok());
  VerifyOptions options;
  options.trusted_key = new_key->public_key();
  auto report = VerifyLedger(**storage, options);
  BOOST_REQUIRE(report.ok());
  BOOST_TEST(report->ok());
  BOOST_TEST((report->signed_head->public_key == new_key->public_key()));
}

BOOST_AUTO_TEST_SUITE_END()
