// The audit routes through the router: events, history, export, ledger head, as_of.
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <future>
#include <sstream>

#include "core/time_format.h"
#include "events/export_verifier.h"
#include "events/signed_head.h"
#include "server/router.h"
#include "tests/server/server_fixture.h"

using namespace tokenledger;
using namespace tokenledger::server;
namespace json = boost::json;

namespace {

constexpr char kAdmin[] = "tladm_audit-admin-secret";

struct AuditFixture : tokenledger::testing::ServerParts {
  AuditFixture() : ServerParts(kAdmin) {}

  // Answers request; a streamed body is read to its end into body (as the front end would).
  HttpResponse Send(const HttpRequest& request) {
    std::promise<HttpResponse> done;
    router->Handle(request, [&](HttpResponse r) { done.set_value(std::move(r)); });
    auto future = done.get_future();
    BOOST_REQUIRE(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    HttpResponse r = future.get();
    if (r.stream) {
      for (int guard = 0; guard < 100000; ++guard) {
        std::string piece;
        auto more = r.stream->Next(piece);
        BOOST_REQUIRE(more.ok());
        r.body += piece;
        if (!*more) break;
      }
    }
    return r;
  }
  HttpResponse Call(std::string method, std::string target, std::string body = "", bool admin = true) {
    HttpRequest request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.body = std::move(body);
    if (admin) request.authorization = std::string("Bearer ") + kAdmin;
    return Send(request);
  }
  json::object Create(const std::string& ns = "acme") {
    HttpResponse r = Call("POST", "/v1/namespaces/" + ns + "/tokens", R"({"name":"n"})");
    BOOST_REQUIRE_EQUAL(r.status, 201);
    return json::parse(r.body).as_object();
  }
  void Revoke(const std::string& ns, const std::string& id) {
    BOOST_REQUIRE_EQUAL(Call("DELETE", "/v1/namespaces/" + ns + "/tokens/" + id).status, 200);
  }
};

std::vector<json::object> NdjsonLines(const std::string& body) {
  std::vector<json::object> lines;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line).as_object());
  return lines;
}

std::string Str(const json::value& v, const char* key) { return json::value_to<std::string>(v.at(key)); }

std::string Code(const HttpResponse& r) { return Str(json::parse(r.body).at("error"), "code"); }

}  // namespace

BOOST_AUTO_TEST_SUITE(audit_routes)

BOOST_AUTO_TEST_CASE(every_audit_route_needs_the_admin_token) {
  AuditFixture f;
  auto token = f.Create();
  for (const std::string& target : std::vector<std::string>{"/v1/events", "/v1/export", "/v1/ledger/head",
                                                            "/v1/tokens/" + Str(token, "id") + "/history"}) {
    HttpResponse r = f.Call("GET", target, "", false);
    BOOST_TEST(r.status == 401, target);
    BOOST_TEST(!r.stream);
  }
}

BOOST_AUTO_TEST_CASE(events_stream_ndjson_after_a_seq_with_limit_and_namespace) {
  AuditFixture f;
  auto a = f.Create("acme");
  f.Create("beta");
  f.Create("acme");
  f.Revoke("acme", Str(a, "id"));
  HttpResponse r = f.Call("GET", "/v1/events");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.content_type == "application/x-ndjson");
  BOOST_TEST(r.Header("X-Ledger-Head").value_or("") == "4");
  auto lines = NdjsonLines(r.body);
  BOOST_REQUIRE(lines.size() == 4u);
  for (size_t i = 0; i < lines.size(); ++i) BOOST_TEST(lines[i].at("seq").as_int64() == static_cast<std::int64_t>(i + 1));
  BOOST_TEST(Str(lines[3], "type") == "token.revoked");
  BOOST_TEST(Str(lines[3], "token_id") == Str(a, "id"));
  BOOST_TEST(Str(lines[1], "prev_hash") == Str(lines[0], "hash"));
  BOOST_TEST(r.body.find("tlpat_") == std::string::npos);
  BOOST_TEST(NdjsonLines(f.Call("GET", "/v1/events?after=2").body).size() == 2u);
  BOOST_TEST(NdjsonLines(f.Call("GET", "/v1/events?after=0&limit=3").body).size() == 3u);
  auto acme = NdjsonLines(f.Call("GET", "/v1/events?namespace=acme").body);
  BOOST_TEST(acme.size() == 3u);
  BOOST_TEST(NdjsonLines(f.Call("GET", "/v1/events?after=4").body).empty());
  for (std::string bad : {"after=x", "limit=0", "limit=1000001", "wait=61", "namespace=%2Fbad", "color=red"}) {
    HttpResponse e = f.Call("GET", "/v1/events?" + bad);
    BOOST_TEST(e.status == 400, bad);
  }
}

BOOST_AUTO_TEST_CASE(a_long_poll_answers_when_an_event_arrives_or_empty_at_the_deadline) {
  AuditFixture f;
  f.Create();
  HttpRequest request;
  request.method = "GET";
  request.target = "/v1/events?after=1&wait=5";
  request.authorization = std::string("Bearer ") + kAdmin;
  std::promise<HttpResponse> done;
  auto start = std::chrono::steady_clock::now();
  f.router->Handle(request, [&](HttpResponse r) { done.set_value(std::move(r)); });
  auto future = done.get_future();
  BOOST_TEST((future.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout));
  f.Create();
  BOOST_REQUIRE(future.wait_for(std::chrono::seconds(3)) == std::future_status::ready);
  BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(3)));
  HttpResponse r = future.get();
  BOOST_REQUIRE(r.stream);
  std::string body;
  BOOST_TEST(!*r.stream->Next(body));
  BOOST_TEST(NdjsonLines(body).size() == 1u);

  start = std::chrono::steady_clock::now();
  HttpResponse empty = f.Call("GET", "/v1/events?after=2&wait=1");
  auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(empty.status == 200);
  BOOST_TEST(empty.body.empty());
  BOOST_TEST((took >= std::chrono::milliseconds(990)));
  BOOST_TEST((took < std::chrono::seconds(3)));
}

BOOST_AUTO_TEST_CASE(draining_answers_waiting_long_polls_at_once) {
  AuditFixture f;
  HttpRequest request;
  request.method = "GET";
  request.target = "/v1/events?wait=60";
  request.authorization = std::string("Bearer ") + kAdmin;
  std::promise<HttpResponse> done;
  f.router->Handle(request, [&](HttpResponse r) { done.set_value(std::move(r)); });
  f.router->SetDraining();
  auto future = done.get_future();
  BOOST_REQUIRE(future.wait_for(std::chrono::seconds(2)) == std::future_status::ready);
  BOOST_TEST(future.get().status == 200);
}

BOOST_AUTO_TEST_CASE(history_shows_the_tokens_events_in_order) {
  AuditFixture f;
  auto a = f.Create();
  f.Create();
  f.Revoke("acme", Str(a, "id"));
  HttpResponse r = f.Call("GET", "/v1/tokens/" + Str(a, "id") + "/history");
  BOOST_REQUIRE(r.status == 200);
  auto body = json::parse(r.body);
  BOOST_TEST(Str(body, "token_id") == Str(a, "id"));
  const auto& history = body.at("events").as_array();
  BOOST_REQUIRE(history.size() == 2u);
  BOOST_TEST(Str(history[0], "type") == "token.created");
  BOOST_TEST(Str(history[0], "actor") == "admin");
  BOOST_TEST(Str(history[1], "type") == "token.revoked");
  BOOST_TEST(history[1].as_object().contains("reason"));
  BOOST_TEST(f.Call("GET", "/v1/tokens/tok_AAAAAAAAAAAAAAAAAAAA/history").status == 404);
  BOOST_TEST(f.Call("GET", "/v1/tokens/x%2Fy/history").status == 404);
}

BOOST_AUTO_TEST_CASE(the_ledger_head_is_signed_and_verifies_with_its_public_key) {
  AuditFixture f;
  f.Create();
  f.Create();
  HttpResponse r = f.Call("GET", "/v1/ledger/head");
  BOOST_REQUIRE(r.status == 200);
  auto head = events::ParseSignedHeadJson(r.body);
  BOOST_REQUIRE(head.ok());
  BOOST_TEST(head->seq == 2u);
  BOOST_TEST((head->public_key == f.signing_key.public_key()));
  BOOST_TEST(events::VerifySignedHead(*head, f.signing_key.public_key()).ok());
  auto earlier = events::ParseSignedHeadJson(f.Call("GET", "/v1/ledger/head?seq=1").body);
  BOOST_REQUIRE(earlier.ok());
  BOOST_TEST(earlier->seq == 1u);
  BOOST_TEST(f.Call("GET", "/v1/ledger/head?seq=3").status == 400);
  BOOST_TEST(f.Call("GET", "/v1/ledger/head?seq=x").status == 400);
}

BOOST_AUTO_TEST_CASE(exports_stream_jsonl_that_verifies_and_csv_with_a_header) {
  AuditFixture f;
  auto a = f.Create("acme");
  f.Create("beta");
  f.Revoke("acme", Str(a, "id"));
  HttpResponse jsonl = f.Call("GET", "/v1/export");
  BOOST_REQUIRE(jsonl.status == 200);
  BOOST_TEST(jsonl.content_type == "application/x-ndjson");
  BOOST_TEST(jsonl.Header("Content-Disposition").value_or("").find("tokenledger-1-3.jsonl") != std::string::npos);
  std::istringstream in(jsonl.body);
  events::ExportVerifyOptions options;
  options.trusted_key = f.signing_key.public_key();
  auto report = events::VerifyExport(in, options);
  BOOST_REQUIRE(report.ok());
  BOOST_TEST(report->ok(), report->problem);
  BOOST_TEST(report->events == 3u);

  HttpResponse csv = f.Call("GET", "/v1/export?format=csv&namespace=acme");
  BOOST_TEST(csv.content_type == "text/csv; charset=utf-8");
  BOOST_TEST(csv.body.find("seq,type,recorded_at,") == 0u);
  BOOST_TEST(std::count(csv.body.begin(), csv.body.end(), '\n') == 3);  // header + 2 acme events
  BOOST_TEST(csv.body.find("beta") == std::string::npos);

  std::string now = core::FormatRfc3339(f.ledger->clock().Now());
  HttpResponse ranged = f.Call("GET", "/v1/export?from=2&to=3");
  BOOST_TEST(ranged.Header("X-Ledger-Export-Range").value_or("") == "2-3");
  BOOST_TEST(f.Call("GET", "/v1/export?to=" + now).status == 200);
  for (std::string bad : {"format=xml", "from=yesterday", "namespace=a//b", "x=1"})
    BOOST_TEST(f.Call("GET", "/v1/export?" + bad).status == 400, bad);
}

BOOST_AUTO_TEST_CASE(as_of_on_listing_and_validate) {
  AuditFixture f;
  auto a = f.Create();
  f.Create();
  f.Revoke("acme", Str(a, "id"));
  auto listed = json::parse(f.Call("GET", "/v1/namespaces/acme/tokens?as_of=2").body);
  const auto& tokens = listed.at("tokens").as_array();
  BOOST_REQUIRE(tokens.size() == 2u);
  BOOST_TEST(Str(tokens[1], "status") == "active");  // revoked only at seq 3
  BOOST_TEST(!tokens[1].as_object().contains("revoked_at"));
  auto now = json::parse(f.Call("GET", "/v1/namespaces/acme/tokens").body);
  BOOST_TEST(Str(now.at("tokens").as_array()[1], "status") == "revoked");
  BOOST_TEST(json::parse(f.Call("GET", "/v1/namespaces/acme/tokens?as_of=1").body).at("tokens").as_array().size() == 1u);

  std::string secret = Str(a, "token");
  auto valid_then = json::parse(f.Call("POST", "/v1/validate", R"({"token":")" + secret + R"(","as_of":2})", false).body);
  BOOST_TEST(valid_then.at("active").as_bool());
  BOOST_TEST(valid_then.at("as_of_seq").as_int64() == 2);
  auto valid_now = json::parse(f.Call("POST", "/v1/validate", R"({"token":")" + secret + R"(","as_of":"3"})", false).body);
  BOOST_TEST(!valid_now.at("active").as_bool());
  auto by_query = json::parse(f.Call("POST", "/v1/validate?as_of=2", R"({"token":")" + secret + R"("})", false).body);
  BOOST_TEST(by_query.at("active").as_bool());

  for (std::string bad : {"as_of=99", "as_of=2999-01-01T00:00:00Z", "as_of=soon"}) {
    HttpResponse r = f.Call("GET", "/v1/namespaces/acme/tokens?" + bad);
    BOOST_TEST(r.status == 400, bad);
    BOOST_TEST(Code(r) == "invalid_as_of");
  }
  HttpResponse r = f.Call("POST", "/v1/validate", R"({"token":")" + secret + R"(","as_of":true})", false);
  BOOST_TEST(r.status == 400);
  BOOST_TEST(f.Call("POST", "/v1/validate", R"({"token":")" + secret + R"(","as_of":-1})", false).status == 400);
}

BOOST_AUTO_TEST_SUITE_END()
