// The webhooks' pieces on their own: receiver URLs, the signature, and the outbox on a real
// RocksDB (positions, order, trimming, reopening).
#include <boost/test/unit_test.hpp>

#include "core/digest.h"
#include "events/storage.h"
#include "server/webhook_outbox.h"
#include "server/webhooks.h"
#include "tests/test_util.h"

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
