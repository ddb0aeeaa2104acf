// No secret leaks: after a workload that touches every surface, with --log-level debug, no token
// secret, admin token or validator token appears in the server's log, any file of the data dir,
// the metrics, the event feed, an export or any error body.
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>

#include "tests/integration/harness.h"

using namespace tokenledger;
using namespace tokenledger::testing;
namespace json = boost::json;

namespace {

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(secrets)

BOOST_AUTO_TEST_CASE(no_secret_reaches_the_log_the_data_dir_metrics_exports_or_errors) {
  TempDir keys;
  const std::string validator = "tlval_never-to-be-seen-anywhere-7d1e";
  std::string validator_file = keys.Sub("validator.token");
  std::ofstream(validator_file) << validator << "\n";
  Running s({"--log-level", "debug", "--validator-token-file", validator_file, "--resp-listen", "127.0.0.1:0"});
  std::string resp = s.server->WaitLine("tokenledgerd resp listening on ");
  std::vector<std::pair<std::string, std::string>> validator_auth = {{"X-Validator-Token", validator}};

  // The workload: creates, every kind of validation (good, bad, revoked), revocations, lists,
  // the audit surface, rejected requests that carry secrets.
  std::vector<std::string> secrets;
  std::vector<std::string> bodies;  // every response body the clients saw
  for (int i = 0; i < 20; ++i) {
    auto t = s.Create(i % 2 ? "acme" : "acme%2Fprod", "t" + std::to_string(i));
    secrets.push_back(S(t, "token"));
  }
  for (size_t i = 0; i < secrets.size(); ++i) {
    const std::string& secret = secrets[i];
    for (auto [method, target, body, content_type] :
         std::vector<std::tuple<std::string, std::string, std::string, std::string>>{
             {"POST", "/v1/validate", R"({"token":")" + secret + R"("})", ""},
             {"POST", "/v1/validate", R"({"token":")" + secret + R"(","as_of":1})", ""},
             {"POST", "/v1/introspect", "token=" + secret, "application/x-www-form-urlencoded"},
             {"POST", "/v1/validate", R"({"token":")" + secret + R"(x"})", ""},  // malformed
             {"POST", "/v1/validate", R"({"token":")" + secret + R"(", "namespace": 5})", ""}}) {
      auto headers = validator_auth;
      if (!content_type.empty()) headers.emplace_back("Content-Type", content_type);
      auto r = s.client->Request(method, target, body, headers);
      BOOST_REQUIRE(r.ok());
      bodies.push_back(r->body);
    }
    auto auth = s.client->Request("GET", "/v1/auth", "", {{"Authorization", "Bearer " + secret}, {"X-Validator-Token", validator}});
    BOOST_REQUIRE(auth.ok());
    bodies.push_back(auth->body);
    // A secret presented as the admin token, and the validator token presented as one.
    auto wrong_admin = s.client->Request("GET", "/v1/events", "", {{"Authorization", "Bearer " + secret}});
    BOOST_REQUIRE(wrong_admin.ok());
    BOOST_TEST(wrong_admin->status == 401);
    bodies.push_back(wrong_admin->body);
    if (i % 4 == 0) {
      auto [rc, out] = Run("redis-cli -h 127.0.0.1 -p " + resp.substr(resp.rfind(':') + 1) +
                           " --no-auth-warning -a " + validator + " VALIDATE " + secret);
      bodies.push_back(out);
    }
  }
  auto wrong_validator = s.client->Request("POST", "/v1/validate", R"({"token":")" + secrets[0] + R"("})",
                                           {{"X-Validator-Token", validator + "x"}});
  BOOST_REQUIRE(wrong_validator.ok());
  bodies.push_back(wrong_validator->body);
  for (size_t i = 0; i < secrets.size(); i += 3) {
    // Revoking by the secret instead of the id is refused; then by the id.
    auto by_secret = s.Call("DELETE", "/v1/namespaces/acme/tokens/" + secrets[i]);
    bodies.push_back(by_secret.body);
  }
  for (std::string target : {"/v1/events?limit=1000", "/v1/export?format=jsonl", "/v1/export?format=csv",
                             "/v1/namespaces/acme/tokens", "/v1/namespaces/acme%2Fprod/tokens?as_of=3",
                             "/v1/ledger/head", "/metrics"})
    bodies.push_back(s.Call("GET", target).body);
  auto [events_rc, offline_events] = Run(kBin + "/tokenctl --data-dir " + s.data + " events");
  bodies.push_back(offline_events);

  // Everything on disk once the server has stopped and flushed.
  s.server->Signal(SIGTERM);
  BOOST_REQUIRE(s.server->Wait() == 0);
  std::string log = ReadFile(s.log);
  BOOST_TEST(log.find("debug") != std::string::npos);  // debug logging was on
  std::vector<std::pair<std::string, std::string>> files;  // path, bytes
  for (const auto& entry : std::filesystem::recursive_directory_iterator(s.data))
    if (entry.is_regular_file()) files.emplace_back(entry.path().string(), ReadBytes(entry.path().string()));
  BOOST_REQUIRE(files.size() > 5u);

  auto check = [&](const std::string& secret, const std::string& what, const std::string& allowed_file) {
    BOOST_TEST(log.find(secret) == std::string::npos, what << " in the server log");
    for (const auto& body : bodies) BOOST_TEST(body.find(secret) == std::string::npos, what << " in a response");
    for (const auto& [path, bytes] : files)
      if (path != allowed_file) BOOST_TEST(bytes.find(secret) == std::string::npos, what << " in " << path);
  };
  for (const auto& secret : secrets) check(secret, "a token secret", "");
  check(s.admin, "the admin token", s.data + "/admin.token");
  check(validator, "the validator token", "");
}

// Every management and audit route, over real sockets, refuses a request without the admin
// token, with a wrong one and with the validator token, before doing anything: 401, nothing
// written, no data in the answer.
BOOST_AUTO_TEST_CASE(every_management_and_audit_route_is_closed_without_the_admin_token) {
  TempDir keys;
  const std::string validator = "tlval_only-for-validation-0123";
  std::string validator_file = keys.Sub("validator.token");
  std::ofstream(validator_file) << validator << "\n";
  Running s({"--validator-token-file", validator_file});
  std::string id = S(s.Create("acme", "kept"), "id");
  auto head = json::parse(s.Call("GET", "/readyz", "", false).body).at("head_seq").as_int64();
  struct RouteCall {
    const char* method;
    std::string target;
    std::string body;
  };
  const std::vector<RouteCall> routes = {
      {"POST", "/v1/namespaces/acme/tokens", R"({"name":"x"})"},
      {"GET", "/v1/namespaces/acme/tokens", ""},
      {"GET", "/v1/namespaces/acme/tokens/" + id, ""},
      {"DELETE", "/v1/namespaces/acme/tokens/" + id, ""},
      {"POST", "/v1/namespaces/acme/tokens/revoke", R"({"ids":[")" + id + R"("]})"},
      {"GET", "/v1/events", ""},
      {"GET", "/v1/events?wait=5", ""},
      {"GET", "/v1/tokens/" + id + "/history", ""},
      {"GET", "/v1/export?format=jsonl", ""},
      {"GET", "/v1/export?format=csv", ""},
      {"GET", "/v1/ledger/head", ""},
  };
  const std::vector<std::vector<std::pair<std::string, std::string>>> credentials = {
      {},
      {{"Authorization", "Bearer tladm_not-the-admin-token"}},
      {{"Authorization", "Bearer " + s.admin + "x"}},
      {{"Authorization", "Basic " + s.admin}},
      {{"Authorization", "Bearer " + validator}},
      {{"X-Validator-Token", validator}},
  };
  auto client = core::HttpClient::Create(s.url);
  BOOST_REQUIRE(client.ok());
  for (const auto& route : routes) {
    for (const auto& headers : credentials) {
      auto h = headers;
      h.emplace_back("Content-Type", "application/json");
      auto r = (*client)->Request(route.method, route.target, route.body, h);
      BOOST_REQUIRE(r.ok());
      BOOST_TEST(r->status == 401, route.method << " " << route.target);
      BOOST_TEST(r->body.find("unauthorized") != std::string::npos, r->body);
      BOOST_TEST(r->body.find(id) == std::string::npos, route.target);
    }
  }
  BOOST_TEST(json::parse(s.Call("GET", "/readyz", "", false).body).at("head_seq").as_int64() == head);
  BOOST_TEST(s.Call("GET", "/v1/namespaces/acme/tokens/" + id).status == 200);  // and open with it
}

BOOST_AUTO_TEST_SUITE_END()
