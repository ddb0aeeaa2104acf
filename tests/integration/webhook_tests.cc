// Outgoing webhooks against a real receiving server on loopback: signed notifications for
// revocation, expiry and expiry warnings, retries until a 2xx, and delivery across restarts.
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <ctime>

#include "core/digest.h"
#include "core/time_format.h"
#include "server/webhooks.h"
#include "tests/integration/harness.h"
#include "tests/webhook_receiver.h"

using namespace tokenledger;
using namespace tokenledger::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

json::object CreateExpiring(Running& s, const std::string& name, std::int64_t expires_in_seconds) {
  std::string expires = core::FormatRfc3339(std::time(nullptr) + expires_in_seconds);
  auto r = s.Call("POST", "/v1/namespaces/acme/tokens", R"({"name":")" + name + R"(","expires_at":")" + expires + R"("})");
  BOOST_REQUIRE_EQUAL(r.status, 201);
  return json::parse(r.body).as_object();
}

// The notifications of one type about one token, in the order received.
std::vector<WebhookReceiver::Request> About(const std::vector<WebhookReceiver::Request>& requests,
                                             const std::string& type, const std::string& token_id) {
  std::vector<WebhookReceiver::Request> out;
  for (const auto& r : requests) {
    json::object o = r.Json();
    if (S(o, "type") == type && S(o.at("token"), "id") == token_id) out.push_back(r);
  }
  return out;
}

double Metric(Running& s, const std::string& sample) {
  std::string text = s.Call("GET", "/metrics", "", false).body;
  size_t at = text.find("\n" + sample + " ");
  return at == std::string::npos ? -1 : std::atof(text.c_str() + at + sample.size() + 2);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(webhooks)

BOOST_AUTO_TEST_CASE(revocations_and_expiries_are_posted_signed) {
  WebhookReceiver receiver;
  Running s({"--webhook-url", receiver.url()});
  json::object revoked = s.Create("acme", "ci"), expiring = CreateExpiring(s, "short", 2);
  BOOST_REQUIRE_EQUAL(s.Call("DELETE", "/v1/namespaces/acme/tokens/" + S(revoked, "id")).status, 200);
  BOOST_REQUIRE(receiver.WaitForDelivered(2, 15s));
  auto all = receiver.delivered();
  BOOST_REQUIRE_EQUAL(all.size(), 2u);

  // The key is in the data dir, private.
  std::string key_file = s.data + "/webhook.secret";
  struct stat st {};
  BOOST_REQUIRE(::stat(key_file.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  std::string secret = *core::ReadSecretFile(key_file);

  const auto& first = all[0];
  json::object body = first.Json();
  BOOST_TEST(first.target == "/hooks/tokens");
  BOOST_TEST(S(body, "type") == "token.revoked");
  BOOST_TEST(first.headers.at("x-tokenledger-event") == "token.revoked");
  BOOST_TEST(first.headers.at("content-type") == "application/json");
  BOOST_TEST(first.headers.at("x-tokenledger-delivery") == S(body, "delivery"));
  BOOST_TEST(S(body.at("token"), "id") == S(revoked, "id"));
  BOOST_TEST(S(body.at("token"), "name") == "ci");
  BOOST_TEST(S(body.at("token"), "namespace") == "acme");
  BOOST_TEST(S(body, "actor") == "admin");
  BOOST_TEST(body.at("seq").as_int64() == 3);
  // The signature: HMAC-SHA256 over "timestamp.body" with the data dir's key.
  std::string timestamp = first.headers.at("x-tokenledger-timestamp");
  BOOST_TEST(std::abs(std::stol(timestamp) - std::time(nullptr)) < 30);
  BOOST_TEST(first.headers.at("x-tokenledger-signature") == server::WebhookSignature(secret, timestamp, first.body));
  BOOST_TEST(first.headers.at("x-tokenledger-signature") != server::WebhookSignature(secret + "x", timestamp, first.body));
  BOOST_TEST(first.body.find("tlpat_") == std::string::npos);  // never a secret
  BOOST_TEST(first.body.find(secret) == std::string::npos);

  json::object expired = all[1].Json();
  BOOST_TEST(S(expired, "type") == "token.expired");
  BOOST_TEST(S(expired.at("token"), "id") == S(expiring, "id"));
  BOOST_TEST(std::stoull(S(expired, "delivery")) > std::stoull(S(body, "delivery")));
  BOOST_TEST(Metric(s, "tokenledger_webhook_attempts_total{result=\"delivered\"}") == 2);
  BOOST_TEST(ReadFile(s.log).find(secret) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_failing_receiver_gets_the_same_notification_again_until_it_answers_2xx) {
  WebhookReceiver receiver;
  receiver.Fail(2, 503);
  Running s({"--webhook-url", receiver.url()});
  json::object t = s.Create("acme", "ci");
  auto start = std::chrono::steady_clock::now();
  BOOST_REQUIRE_EQUAL(s.Call("DELETE", "/v1/namespaces/acme/tokens/" + S(t, "id")).status, 200);
  BOOST_REQUIRE(receiver.WaitForDelivered(1, 20s));
  auto elapsed = std::chrono::steady_clock::now() - start;
  auto all = receiver.requests();
  BOOST_REQUIRE_EQUAL(all.size(), 3u);
  // One notification, three attempts, each signed afresh; backoff 1 s then 2 s (less jitter).
  for (const auto& r : all) BOOST_TEST(r.headers.at("x-tokenledger-delivery") == all[0].headers.at("x-tokenledger-delivery"));
  BOOST_TEST(all[0].answered == 503);
  BOOST_TEST(all[2].answered == 200);
  BOOST_TEST(elapsed >= 2s);
  BOOST_TEST(Metric(s, "tokenledger_webhook_attempts_total{result=\"failed\"}") == 2);
  // The backlog gauge follows within about a second (the producer's pass).
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (Metric(s, "tokenledger_webhook_backlog") != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  BOOST_TEST(Metric(s, "tokenledger_webhook_backlog") == 0);
  BOOST_TEST(ReadFile(s.log).find("answered 503") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(deliveries_survive_a_restart_and_delivered_ones_are_not_sent_again) {
  WebhookReceiver receiver;
  Running s({"--webhook-url", receiver.url()});
  json::object a = s.Create("acme", "a"), b = s.Create("acme", "b"), c = s.Create("acme", "c");
  BOOST_REQUIRE_EQUAL(s.Call("DELETE", "/v1/namespaces/acme/tokens/" + S(a, "id")).status, 200);
  BOOST_REQUIRE(receiver.WaitForDelivered(1, 15s));
  // The receiver goes down; b is revoked; tokenledgerd stops with b's notification undelivered.
  receiver.Fail(-1, 502);
  BOOST_REQUIRE_EQUAL(s.Call("DELETE", "/v1/namespaces/acme/tokens/" + S(b, "id")).status, 200);
  BOOST_REQUIRE(receiver.WaitFor([](const auto& all) { return all.size() >= 2; }, 15s));
  s.server->Signal(SIGTERM);
  BOOST_REQUIRE_EQUAL(s.server->Wait(std::chrono::seconds(20)), 0);
  receiver.Fail(0);
  s.Start();
  BOOST_REQUIRE(receiver.WaitForDelivered(2, 20s));
  BOOST_REQUIRE_EQUAL(s.Call("DELETE", "/v1/namespaces/acme/tokens/" + S(c, "id")).status, 200);
  BOOST_REQUIRE(receiver.WaitForDelivered(3, 15s));
  std::this_thread::sleep_for(1500ms);  // anything sent twice would have arrived by now
  auto delivered = receiver.delivered();
  BOOST_TEST(delivered.size() == 3u);
  BOOST_TEST(About(delivered, "token.revoked", S(a, "id")).size() == 1u);  // not again after the restart
  auto for_b = About(receiver.requests(), "token.revoked", S(b, "id"));
  BOOST_REQUIRE(for_b.size() >= 2u);  // refused before the restart, delivered after it
  BOOST_TEST(for_b.back().answered == 200);
  BOOST_TEST(for_b.front().headers.at("x-tokenledger-delivery") == for_b.back().headers.at("x-tokenledger-delivery"));
  BOOST_TEST(About(delivered, "token.revoked", S(c, "id")).size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_token_entering_7_or_1_day_before_expiry_is_announced_once) {
  WebhookReceiver receiver;
  Running s({"--webhook-url", receiver.url()});
  // Crossing its 1-day and 7-day marks a few seconds from now; born inside the 30-day window,
  // so no 30-day warning. A revoked one gets no warning.
  json::object day = CreateExpiring(s, "one-day", 86400 + 3);
  json::object week = CreateExpiring(s, "one-week", 7 * 86400 + 2);
  json::object gone = CreateExpiring(s, "revoked-first", 86400 + 3);
  BOOST_REQUIRE_EQUAL(s.Call("DELETE", "/v1/namespaces/acme/tokens/" + S(gone, "id")).status, 200);
  BOOST_REQUIRE(receiver.WaitFor([&](const auto& all) {
    return About(all, "token.expiring", S(day, "id")).size() == 1 && About(all, "token.expiring", S(week, "id")).size() == 1;
  }, 20s));
  auto all = receiver.delivered();
  json::object one = About(all, "token.expiring", S(day, "id"))[0].Json();
  BOOST_TEST(one.at("days_left").as_int64() == 1);
  BOOST_TEST(S(one.at("token"), "expires_at") == S(day, "expires_at"));
  BOOST_TEST(About(all, "token.expiring", S(week, "id"))[0].Json().at("days_left").as_int64() == 7);
  BOOST_TEST(About(all, "token.expiring", S(gone, "id")).empty());
  // After a restart the warnings already sent are not sent again.
  s.server->Signal(SIGTERM);
  BOOST_REQUIRE_EQUAL(s.server->Wait(std::chrono::seconds(20)), 0);
  s.Start();
  std::this_thread::sleep_for(2500ms);
  all = receiver.delivered();
  BOOST_TEST(About(all, "token.expiring", S(day, "id")).size() == 1u);
  BOOST_TEST(About(all, "token.expiring", S(week, "id")).size() == 1u);
}

BOOST_AUTO_TEST_CASE(https_receivers_are_verified_against_the_given_ca) {
  TempDir certs;
  std::string cert = certs.Sub("cert.pem"), key = certs.Sub("key.pem");
  std::string other_cert = certs.Sub("other.pem"), other_key = certs.Sub("other-key.pem");
  WriteSelfSignedCertificate(cert, key);
  WriteSelfSignedCertificate(other_cert, other_key);
  // The server trusts the first certificate (--webhook-ca-file), not the second: the receiver
  // presenting it is refused at the handshake, and nothing is sent to it.
  WebhookReceiver trusted(cert, key), untrusted(other_cert, other_key);
  Running s({"--webhook-url", trusted.url(), "--webhook-url", untrusted.url(), "--webhook-ca-file", cert});
  json::object t = s.Create("acme", "tls");
  BOOST_REQUIRE_EQUAL(s.Call("DELETE", "/v1/namespaces/acme/tokens/" + S(t, "id")).status, 200);
  BOOST_REQUIRE(trusted.WaitForDelivered(1, 15s));
  BOOST_TEST(S(trusted.delivered()[0].Json(), "type") == "token.revoked");
  std::this_thread::sleep_for(1500ms);
  BOOST_TEST(untrusted.requests().empty());
  BOOST_TEST(ReadFile(s.log).find("TLS handshake with 127.0.0.1") != std::string::npos, ReadFile(s.log));
}

BOOST_AUTO_TEST_CASE(bad_webhook_flags_are_usage_errors) {
  TempDir dir;
  std::string base = kBin + "/tokenledgerd --data-dir " + dir.Sub("d") + " --listen 127.0.0.1:0 ";
  for (const char* bad : {"ftp://example.com/x", "http://", "not a url", "http://user:pw@127.0.0.1/x"}) {
    auto [rc, out] = Run(base + "--webhook-url '" + bad + "'");
    BOOST_TEST(rc == 2, bad << ": " << out);
    BOOST_TEST(out.find("--webhook-url") != std::string::npos, out);
  }
  auto [rc, out] = Run(base + "--webhook-url http://127.0.0.1:1/x --webhook-timeout 0");
  BOOST_TEST(rc == 2, out);
}

BOOST_AUTO_TEST_SUITE_END()
