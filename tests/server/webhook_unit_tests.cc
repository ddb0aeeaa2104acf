// The webhooks' pieces on their own (receiver URLs, the signature, the outbox on a real RocksDB),
// then the producer and senders in this process against a real receiver on loopback.
#include <boost/test/unit_test.hpp>
#include <functional>
#include <future>
#include <set>
#include <thread>

#include <boost/asio.hpp>

#include "core/digest.h"
#include "core/http_client.h"
#include "events/storage.h"
#include "server/webhook_outbox.h"
#include "server/webhooks.h"
#include "tests/test_util.h"
#include "tests/webhook_receiver.h"

using namespace tokenledger;
using namespace tokenledger::server;
using tokenledger::testing::TempDir;

BOOST_AUTO_TEST_SUITE(webhook_parts)

BOOST_AUTO_TEST_CASE(receiver_urls_are_split_with_the_schemes_default_port) {
  auto plain = ParseWebhookUrl("http://hooks.example.com/tokenledger?team=sec");
  BOOST_REQUIRE(plain.ok());
  BOOST_TEST(!plain->tls);
  BOOST_TEST(plain->host == "hooks.example.com");
  BOOST_TEST(plain->port == "80");
  BOOST_TEST(plain->target == "/tokenledger?team=sec");
  auto tls = ParseWebhookUrl("https://[::1]:8443");
  BOOST_REQUIRE(tls.ok());
  BOOST_TEST(tls->tls);
  BOOST_TEST(tls->host == "::1");
  BOOST_TEST(tls->port == "8443");
  BOOST_TEST(tls->target == "/");
  BOOST_TEST(ParseWebhookUrl("https://hooks.example.com/x")->port == "443");
  for (const char* bad : {"", "hooks.example.com/x", "ftp://h/x", "http://", "http://u:p@h/x", "http://h/x#frag", "mailto:a@b"})
    BOOST_TEST(ParseWebhookUrl(bad).status().code() == core::StatusCode::kInvalidArgument, bad);
}

BOOST_AUTO_TEST_CASE(the_signature_is_an_hmac_of_timestamp_dot_body) {
  std::string body = R"({"type":"token.revoked"})";
  std::string signature = WebhookSignature("tlwhk_key", "1796412188", body);
  BOOST_TEST(signature == "sha256=" + core::ToHex(core::HmacSha256("tlwhk_key", "1796412188." + body)));
  BOOST_TEST(signature.size() == 7u + 64u);
  BOOST_TEST(WebhookSignature("tlwhk_key", "1796412189", body) != signature);  // a replay at another time fails
  BOOST_TEST(WebhookSignature("tlwhk_kez", "1796412188", body) != signature);
}

BOOST_AUTO_TEST_CASE(a_receiver_that_never_answers_costs_one_timeout) {
  // Accepts and then says nothing: each step of the client must give up at its timeout (Beast
  // bounds asynchronous operations only, which is why the client runs every step async).
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  boost::asio::ip::tcp::socket held(ioc);
  std::thread accepter([&] { acceptor.accept(held); });
  auto client = core::HttpClient::Create("http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()),
                                         std::chrono::milliseconds(300));
  BOOST_REQUIRE(client.ok());
  auto start = std::chrono::steady_clock::now();
  auto r = (*client)->Request("POST", "/hook", "{}");
  auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(!r.ok());
  BOOST_TEST(took >= std::chrono::milliseconds(250));
  BOOST_TEST(took < std::chrono::seconds(3));
  accepter.join();
}

BOOST_AUTO_TEST_CASE(the_outbox_keeps_order_positions_and_trims) {
  TempDir dir;
  {
    auto storage = events::Storage::OpenPrimary(dir.path());
    BOOST_REQUIRE(storage.ok());
    WebhookOutbox outbox(**storage);
    BOOST_TEST(!outbox.LoadProducer()->has_value());
    WebhookOutbox::ProducerState state{41, 1796412188, 1};
    BOOST_REQUIRE(outbox.Append({"a", "b", "c"}, state).ok());
    BOOST_TEST(state.next == 4u);
    state.ledger_seq = 45;
    BOOST_REQUIRE(outbox.Append({"d"}, state).ok());
    auto read = outbox.Read(0, 10);
    BOOST_REQUIRE(read.ok());
    BOOST_REQUIRE(read->size() == 4u);
    BOOST_TEST((*read)[0].first == 1u);
    BOOST_TEST((*read)[3].second == "d");
    BOOST_TEST(outbox.Read(2, 1)->front().second == "c");
    BOOST_TEST(outbox.Read(4, 10)->empty());
    BOOST_TEST(!outbox.LoadDelivered("http://a/")->has_value());
    BOOST_REQUIRE(outbox.SaveDelivered("http://a/", 2).ok());
    BOOST_REQUIRE(outbox.SaveDelivered("http://b/", 3).ok());
    BOOST_REQUIRE(outbox.Trim(2).ok());
    BOOST_TEST(outbox.Read(0, 10)->size() == 2u);
    BOOST_TEST(outbox.Read(0, 10)->front().first == 3u);
  }
  // Reopened: everything where it was.
  auto storage = events::Storage::OpenPrimary(dir.path());
  BOOST_REQUIRE(storage.ok());
  WebhookOutbox outbox(**storage);
  auto state = outbox.LoadProducer();
  BOOST_REQUIRE(state.ok() && state->has_value());
  BOOST_TEST((*state)->ledger_seq == 45u);
  BOOST_TEST((*state)->warned_until == 1796412188);
  BOOST_TEST((*state)->next == 5u);
  BOOST_TEST(**outbox.LoadDelivered("http://a/") == 2u);
  BOOST_TEST(**outbox.LoadDelivered("http://b/") == 3u);
  BOOST_TEST(outbox.Read(2, 10)->size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

// The producer and senders in this process (so the TSan build checks their threads), on a
// ledger whose clock the test moves: every warning window, and nothing twice.
BOOST_AUTO_TEST_SUITE(webhooks_in_process)

namespace {

constexpr core::Timestamp kNow = 1796412188;  // 2026-12-04T19:23:08Z

// Polls cond for up to 10 s.
bool WaitUntil(const std::function<bool()>& cond) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

struct Setup {
  TempDir dir;
  core::FakeClock clock{kNow};
  std::unique_ptr<projections::Ledger> ledger = Open();
  ServerMetrics metrics{std::vector<std::string_view>{}};
  tokenledger::testing::WebhookReceiver receiver;

  std::unique_ptr<projections::Ledger> Open() {
    auto l = projections::Ledger::Open({dir.path(), projections::kDefaultMaxLifetimeDays, &clock});
    BOOST_REQUIRE(l.ok());
    return std::move(l).value();
  }
  std::unique_ptr<Webhooks> Start() {
    WebhookOptions options;
    options.urls = {receiver.url()};
    options.secret = "tlwhk_test";
    options.first_retry = std::chrono::milliseconds(50);
    auto w = Webhooks::Start(*ledger, metrics, options);
    BOOST_REQUIRE_MESSAGE(w.ok(), w.status().ToString());
    return std::move(w).value();
  }
  projections::CreatedToken Create(std::optional<core::Timestamp> expires_at) {
    std::promise<core::Result<projections::CreatedToken>> done;
    ledger->Create({"acme", "t", expires_at, "tester"}, [&](auto r) { done.set_value(std::move(r)); });
    auto r = done.get_future().get();
    BOOST_REQUIRE(r.ok());
    return std::move(r).value();
  }
  // The days_left of every token.expiring about id, in order.
  std::vector<std::int64_t> Warnings(const std::string& id) {
    std::vector<std::int64_t> days;
    for (const auto& r : receiver.delivered()) {
      auto o = r.Json();
      if (o.at("type").as_string() == "token.expiring" && o.at("token").at("id").as_string() == id)
        days.push_back(o.at("days_left").as_int64());
    }
    return days;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(each_window_is_announced_once_as_time_passes_and_across_a_restart) {
  Setup s;
  auto webhooks = s.Start();
  auto year = s.Create(std::nullopt);                 // warned at 30, 7 and 1 days
  auto short_lived = s.Create(kNow + 10 * 86400);     // born inside 30 days: warned at 7 and 1
  auto revoked = s.Create(kNow + 40 * 86400);         // revoked first: never warned
  std::promise<void> done;
  s.ledger->Revoke({"acme", {revoked.record.id}, "", "tester"}, [&](auto) { done.set_value(); });
  done.get_future().get();
  BOOST_REQUIRE(s.receiver.WaitForDelivered(1, std::chrono::seconds(10)));  // the revocation

  // Moves the clock to t and waits until id's warnings are `days`.
  auto advance_to = [&](core::Timestamp t, const std::string& id, std::vector<std::int64_t> days) {
    s.clock.Set(t);
    bool got = WaitUntil([&] { return s.Warnings(id) == days; });
    BOOST_REQUIRE_MESSAGE(got, "at " << t << " " << id << " has " << s.Warnings(id).size() << " warnings");
  };
  advance_to(kNow + 3 * 86400, short_lived.record.id, {7});  // short_lived enters its 7-day window
  advance_to(kNow + 9 * 86400, short_lived.record.id, {7, 1});
  // Months later: short_lived expired (notified as such), year enters its 30-day window.
  advance_to(year.record.expires_at - 30 * 86400, year.record.id, {30});
  BOOST_TEST(WaitUntil([&] {
    for (const auto& r : s.receiver.delivered())
      if (r.Json().at("type").as_string() == "token.expired") return true;
    return false;
  }));
  // Stopped and started again (as a restart does): nothing repeated, and the next windows come.
  webhooks->Stop();
  webhooks = s.Start();
  advance_to(year.record.expires_at - 7 * 86400, year.record.id, {30, 7});
  advance_to(year.record.expires_at - 86400 + 1, year.record.id, {30, 7, 1});
  BOOST_TEST(s.Warnings(revoked.record.id).empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // The revocation, short_lived's expiry and the five warnings: each once.
  std::vector<std::string> deliveries;
  for (const auto& r : s.receiver.delivered()) deliveries.push_back(r.headers.at("x-tokenledger-delivery"));
  BOOST_TEST(deliveries.size() == 7u);
  BOOST_TEST(std::set<std::string>(deliveries.begin(), deliveries.end()).size() == deliveries.size());
}

BOOST_AUTO_TEST_SUITE_END()
