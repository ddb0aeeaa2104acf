#define BOOST_TEST_MODULE server
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <future>
#include <mutex>
#include <thread>

#include "core/time_format.h"
#include "server/router.h"
#include "tests/alloc_counter.h"
#include "tests/server/server_fixture.h"

using namespace tokenledger;
using namespace tokenledger::server;
using tokenledger::testing::TempDir;
namespace json = boost::json;

namespace {

constexpr char kAdmin[] = "tladm_test-admin-secret";

// A router over a real ledger in a temp dir; requests are answered synchronously here.
struct Fixture : tokenledger::testing::ServerParts {
  explicit Fixture(std::optional<std::string_view> validator_token = std::nullopt)
      : ServerParts(kAdmin, validator_token) {}

  HttpResponse Send(const HttpRequest& request) {
    std::promise<HttpResponse> done;
    router->Handle(request, [&](HttpResponse r) { done.set_value(std::move(r)); });
    auto future = done.get_future();
    BOOST_REQUIRE(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    return future.get();
  }

  // A gateway sub-request: GET /v1/auth (or target) with the token as a bearer credential.
  HttpResponse Auth(const std::string& token, const std::string& target = "/v1/auth",
                    std::optional<std::string> required_namespace = std::nullopt, std::string method = "GET") {
    HttpRequest request;
    request.method = std::move(method);
    request.target = target;
    if (!token.empty()) request.authorization = "Bearer " + token;
    if (required_namespace) {
      request.required_namespace = *required_namespace;
      request.has_required_namespace = true;
    }
    return Send(request);
  }

  HttpResponse Introspect(const std::string& form, const std::string& content_type = "application/x-www-form-urlencoded") {
    HttpRequest request;
    request.method = "POST";
    request.target = "/v1/introspect";
    request.content_type = content_type;
    request.body = form;
    return Send(request);
  }

  HttpResponse Call(std::string method, std::string target, std::string body = "", bool admin = true,
                    std::string actor = "") {
    HttpRequest request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.body = std::move(body);
    if (admin) request.authorization = std::string("Bearer ") + kAdmin;
    if (!actor.empty()) {
      request.actor = actor;
      request.has_actor = true;
    }
    return Send(request);
  }

  json::object Create(const std::string& ns = "acme", const std::string& name = "ci") {
    std::string encoded;
    for (char c : ns) encoded += c == '/' ? std::string("%2F") : std::string(1, c);
    HttpResponse r = Call("POST", "/v1/namespaces/" + encoded + "/tokens", R"({"name":")" + name + R"("})");
    BOOST_REQUIRE_EQUAL(r.status, 201);
    return json::parse(r.body).as_object();
  }
};

std::string ErrorCode(const HttpResponse& r) {
  json::value v = json::parse(r.body);
  return json::value_to<std::string>(v.at("error").at("code"));
}

std::string S(const json::value& v, const char* key) { return json::value_to<std::string>(v.at(key)); }

}  // namespace

BOOST_FIXTURE_TEST_SUITE(routes, Fixture)

BOOST_AUTO_TEST_CASE(create_returns_the_secret_once_with_contract_fields) {
  HttpResponse r = Call("POST", "/v1/namespaces/acme%2Fprod/tokens", R"({"name":"deploy"})", true, "alice");
  BOOST_TEST(r.status == 201);
  json::object o = json::parse(r.body).as_object();
  for (const char* key : {"id", "namespace", "name", "created_at", "expires_at", "status", "token"})
    BOOST_TEST(o.contains(key), key);
  BOOST_TEST(S(o, "namespace") == "acme/prod");
  BOOST_TEST(S(o, "status") == "active");
  BOOST_TEST(S(o, "created_by") == "alice");
  auto created = core::ParseRfc3339(S(o, "created_at"));
  BOOST_TEST(S(o, "expires_at") == core::FormatRfc3339(core::AddOneCalendarYear(*created)));
  BOOST_TEST(r.Header("Cache-Control").value_or("") == "no-store");
  // The secret is never returned again.
  HttpResponse get = Call("GET", "/v1/namespaces/acme%2Fprod/tokens/" + S(o, "id"));
  BOOST_TEST(get.status == 200);
  BOOST_TEST(get.body.find(S(o, "token")) == std::string::npos);
  BOOST_TEST(get.body.find("\"token\"") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(create_accepts_an_earlier_expiry) {
  std::string when = core::FormatRfc3339(core::SystemClock().Now() + 3600);
  HttpResponse r = Call("POST", "/v1/namespaces/acme/tokens", R"({"name":"x","expires_at":")" + when + R"("})");
  BOOST_TEST(r.status == 201);
  BOOST_TEST(S(json::parse(r.body), "expires_at") == when);
}

BOOST_AUTO_TEST_CASE(bad_create_input_is_a_4xx_with_the_error_shape) {
  std::string past = core::FormatRfc3339(core::SystemClock().Now() - 10);
  std::string too_late = core::FormatRfc3339(core::SystemClock().Now() + 400 * 86400);
  struct Case { std::string target, body; int status; std::string code; };
  std::vector<Case> cases = {
      {"/v1/namespaces/acme/tokens", "{", 400, "invalid_json"},
      {"/v1/namespaces/acme/tokens", "[1,2]", 400, "invalid_json"},
      {"/v1/namespaces/acme/tokens", "", 400, "invalid_json"},
      {"/v1/namespaces/acme/tokens", "{}", 400, "invalid_name"},
      {"/v1/namespaces/acme/tokens", R"({"name":5})", 400, "invalid_name"},
      {"/v1/namespaces/acme/tokens", R"({"name":""})", 400, "invalid_name"},
      {"/v1/namespaces/acme/tokens", R"({"name":")" + std::string(101, 'a') + R"("})", 400, "invalid_name"},
      {"/v1/namespaces/acme/tokens", R"({"name":"a\u0000b"})", 400, "invalid_name"},
      {"/v1/namespaces/acme/tokens", R"({"name":"a","expires_at":"tomorrow"})", 400, "invalid_expires_at"},
      {"/v1/namespaces/acme/tokens", R"({"name":"a","expires_at":12})", 400, "invalid_expires_at"},
      {"/v1/namespaces/acme/tokens", R"({"name":"a","expires_at":")" + past + R"("})", 400, "invalid_expires_at"},
      {"/v1/namespaces/acme/tokens", R"({"name":"a","expires_at":")" + too_late + R"("})", 400, "invalid_expires_at"},
      {"/v1/namespaces/acme/tokens", R"({"name":"a","expiry":"x"})", 400, "invalid_argument"},
      {"/v1/namespaces/%2Facme/tokens", R"({"name":"a"})", 400, "invalid_namespace"},
      {"/v1/namespaces/a%20b/tokens", R"({"name":"a"})", 400, "invalid_namespace"},
      {"/v1/namespaces/" + std::string(129, 'a') + "/tokens", R"({"name":"a"})", 400, "invalid_namespace"},
      {"/v1/namespaces/acme/tokens", std::string(100, '[') + std::string(100, ']'), 400, "invalid_json"},
  };
  for (const Case& c : cases) {
    HttpResponse r = Call("POST", c.target, c.body);
    BOOST_TEST(r.status == c.status, c.body);
    BOOST_TEST(ErrorCode(r) == c.code, c.body);
    json::value v = json::parse(r.body);
    BOOST_TEST(v.at("error").at("message").is_string());
  }
  BOOST_TEST(ledger->head_seq() == 0u);  // nothing was written
}

BOOST_AUTO_TEST_CASE(management_requires_the_admin_token) {
  HttpResponse r = Call("GET", "/v1/namespaces/acme/tokens", "", false);
  BOOST_TEST(r.status == 401);
  BOOST_TEST(ErrorCode(r) == "unauthorized");
  HttpRequest wrong;
  wrong.method = "POST";
  wrong.target = "/v1/namespaces/acme/tokens";
  wrong.body = R"({"name":"x"})";
  wrong.authorization = "Bearer tladm_wrong";
  std::promise<HttpResponse> p;
  router->Handle(wrong, [&](HttpResponse x) { p.set_value(std::move(x)); });
  BOOST_TEST(p.get_future().get().status == 401);
  BOOST_TEST(ledger->head_seq() == 0u);
  // Validation needs no admin token.
  BOOST_TEST(Call("POST", "/v1/validate", R"({"token":"x"})", false).status == 200);
}

BOOST_AUTO_TEST_CASE(bad_actor_is_rejected) {
  HttpResponse r = Call("POST", "/v1/namespaces/acme/tokens", R"({"name":"x"})", true, std::string(200, 'a'));
  BOOST_TEST(r.status == 400);
  BOOST_TEST(ErrorCode(r) == "invalid_actor");
}

BOOST_AUTO_TEST_CASE(validate_answers_active_or_inactive_only) {
  json::object t = Create("acme/prod");
  HttpResponse r = Call("POST", "/v1/validate", R"({"token":")" + S(t, "token") + R"("})", false);
  BOOST_TEST(r.status == 200);
  json::value v = json::parse(r.body);
  BOOST_TEST(v.at("active").as_bool());
  BOOST_TEST(S(v, "token_id") == S(t, "id"));
  BOOST_TEST(S(v, "namespace") == "acme/prod");
  BOOST_TEST(S(v, "expires_at") == S(t, "expires_at"));
  r = Call("POST", "/v1/validate", R"({"token":")" + S(t, "token") + R"(","namespace":"acme/prod"})", false);
  BOOST_TEST(json::parse(r.body).at("active").as_bool());
  r = Call("POST", "/v1/validate", R"({"token":")" + S(t, "token") + R"(","namespace":"acme"})", false);
  BOOST_TEST(r.body == R"({"active":false})");
  r = Call("POST", "/v1/validate", R"({"token":"tlpat_000000000000000000000000000000000J6VVf"})", false);
  BOOST_TEST(r.body == R"({"active":false})");
  r = Call("POST", "/v1/validate", R"({"token":"garbage"})", false);
  BOOST_TEST(r.body == R"({"active":false})");
}

#ifdef TL_COUNT_ALLOCATIONS
// Routing, JSON and form parsing, the lookup and the response allocate nothing once the
// request and response are reused, as a connection reuses them.
BOOST_AUTO_TEST_CASE(validation_routes_allocate_nothing_when_warm) {
  json::object t = Create("acme");
  std::string token = S(t, "token");
  std::vector<HttpRequest> requests(7);
  requests[0] = {"POST", "/v1/validate", "", "", false, "", false, "", "", R"({"token":")" + token + R"(","namespace":"acme"})"};
  requests[1] = {"POST", "/v1/validate", "", "", false, "", false, "", "", R"({"token":"tlpat_nope"})"};
  requests[2] = {"POST", "/v1/introspect", "", "", false, "", false, "", "application/x-www-form-urlencoded",
                 "token=" + token + "&token_type_hint=access_token"};
  requests[3] = {"GET", "/v1/auth", "Bearer " + token, "", false, "acme", true, "", "", ""};
  requests[4] = {"GET", "/v1/auth?namespace=acme", "Bearer " + token, "", false, "", false, "", "", ""};
  requests[5] = {"GET", "/v1/auth", "Bearer " + token, "", false, "other", true, "", "", ""};
  requests[6] = {"GET", "/v1/auth", "Bearer tlpat_unknown", "", false, "", false, "", "", ""};
  HttpResponse response;
  response.body.reserve(1024);
  response.headers.reserve(1024);
  DeferFn defer = [] { return Responder(); };
  for (auto& request : requests) {  // warm-up: this thread's first lookup claims its slot
    response.Reset();
    BOOST_REQUIRE(router->Handle(request, response, defer));
  }
  long allocations = 0;
  std::vector<int> statuses;
  statuses.reserve(requests.size() * 100);
  {
    tokenledger::testing::AllocationCounter counter;
    for (int i = 0; i < 100; ++i) {
      for (auto& request : requests) {
        response.Reset();
        router->Handle(request, response, defer);
        statuses.push_back(response.status);
      }
    }
    allocations = counter.count();
  }
  BOOST_TEST(allocations == 0);
  BOOST_TEST((std::vector<int>(statuses.begin(), statuses.begin() + 7) == std::vector<int>{200, 200, 200, 200, 200, 403, 401}));
}
#endif

BOOST_AUTO_TEST_CASE(validate_rejects_malformed_bodies) {
  for (const char* body : {"", "nope", "[]", "{}", R"({"token":1})", R"({"token":"x","namespace":2})",
                           R"({"token":"x","namespace":"//"})"}) {
    HttpResponse r = Call("POST", "/v1/validate", body, false);
    BOOST_TEST(r.status == 400, body);
  }
}

BOOST_AUTO_TEST_CASE(list_pages_newest_first_with_status_filter) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(S(Create("acme", "t" + std::to_string(i)), "id"));
  Create("other");
  BOOST_REQUIRE(Call("DELETE", "/v1/namespaces/acme/tokens/" + ids[1]).status == 200);

  std::vector<std::string> seen;
  std::string cursor;
  for (int pages = 0; pages < 10; ++pages) {
    HttpResponse r = Call("GET", "/v1/namespaces/acme/tokens?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    BOOST_REQUIRE(r.status == 200);
    json::value v = json::parse(r.body);
    for (auto& t : v.at("tokens").as_array()) seen.push_back(S(t, "id"));
    if (v.at("next_cursor").is_null()) break;
    cursor = S(v, "next_cursor");
  }
  BOOST_TEST((seen == std::vector<std::string>{ids[4], ids[3], ids[2], ids[1], ids[0]}));

  json::value revoked = json::parse(Call("GET", "/v1/namespaces/acme/tokens?status=revoked").body);
  BOOST_REQUIRE(revoked.at("tokens").as_array().size() == 1u);
  const json::value& t = revoked.at("tokens").as_array()[0];
  BOOST_TEST(S(t, "id") == ids[1]);
  BOOST_TEST(S(t, "status") == "revoked");
  BOOST_TEST(S(t, "revoked_by") == "admin");
  BOOST_TEST(t.as_object().contains("revoked_at"));
  BOOST_TEST(json::parse(Call("GET", "/v1/namespaces/acme/tokens?status=active").body).at("tokens").as_array().size() == 4u);

  for (const char* q : {"?status=bogus", "?limit=0", "?limit=1001", "?limit=x", "?cursor=abc", "?colour=red"}) {
    HttpResponse r = Call("GET", std::string("/v1/namespaces/acme/tokens") + q);
    BOOST_TEST(r.status == 400, q);
  }
}

BOOST_AUTO_TEST_CASE(get_and_delete_follow_the_contract) {
  std::string id = S(Create("acme"), "id");
  BOOST_TEST(Call("GET", "/v1/namespaces/acme/tokens/" + id).status == 200);
  BOOST_TEST(Call("GET", "/v1/namespaces/other/tokens/" + id).status == 404);
  BOOST_TEST(Call("GET", "/v1/namespaces/acme/tokens/tok_nope").status == 404);
  BOOST_TEST(Call("DELETE", "/v1/namespaces/other/tokens/" + id).status == 404);
  HttpResponse r = Call("DELETE", "/v1/namespaces/acme/tokens/" + id, "", true, "bob");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(S(json::parse(r.body), "status") == "revoked");
  BOOST_TEST(S(json::parse(r.body), "revoked_by") == "bob");
  r = Call("DELETE", "/v1/namespaces/acme/tokens/" + id);
  BOOST_TEST(r.status == 409);
  BOOST_TEST(ErrorCode(r) == "already_revoked");
  BOOST_TEST(Call("DELETE", "/v1/namespaces/acme/tokens/not-an-id").status == 404);
}

BOOST_AUTO_TEST_CASE(batch_revoke_reports_each_id) {
  std::string a = S(Create("acme"), "id"), b = S(Create("acme"), "id");
  HttpResponse r = Call("POST", "/v1/namespaces/acme/tokens/revoke",
                        R"({"ids":[")" + a + R"(",")" + b + R"(","tok_zzz"],"reason":"offboarding"})");
  BOOST_TEST(r.status == 200);
  auto results = json::parse(r.body).at("results").as_array();
  BOOST_REQUIRE(results.size() == 3u);
  BOOST_TEST(S(results[0], "result") == "revoked");
  BOOST_TEST(S(results[1], "result") == "revoked");
  BOOST_TEST(S(results[2], "result") == "not_found");
  r = Call("POST", "/v1/namespaces/acme/tokens/revoke", R"({"ids":[")" + a + R"("]})");
  BOOST_TEST(S(json::parse(r.body).at("results").as_array()[0], "result") == "already_revoked");
  for (const char* body : {"{}", R"({"ids":[]})", R"({"ids":"x"})", R"({"ids":[1]})", R"({"ids":["a"],"reason":3})",
                           R"({"ids":["a"],"extra":1})"}) {
    BOOST_TEST(Call("POST", "/v1/namespaces/acme/tokens/revoke", body).status == 400, body);
  }
  std::string many = R"({"ids":[)";
  for (int i = 0; i < 1001; ++i) many += std::string(i ? "," : "") + "\"tok_x\"";
  BOOST_TEST(Call("POST", "/v1/namespaces/acme/tokens/revoke", many + "]}").status == 400);
}

BOOST_AUTO_TEST_CASE(unknown_routes_and_methods) {
  HttpResponse r = Call("GET", "/v2/nothing");
  BOOST_TEST(r.status == 404);
  BOOST_TEST(ErrorCode(r) == "route_not_found");
  r = Call("PUT", "/v1/namespaces/acme/tokens");
  BOOST_TEST(r.status == 405);
  BOOST_TEST(r.Header("Allow").value_or("").find("GET") != std::string_view::npos);
  BOOST_TEST(Call("GET", "/v1/validate").status == 405);
  BOOST_TEST(Call("GET", "not-a-path").status == 400);
}

BOOST_AUTO_TEST_CASE(health_and_readiness) {
  BOOST_TEST(Call("GET", "/healthz", "", false).status == 200);
  BOOST_TEST(Call("GET", "/readyz", "", false).status == 200);
  router->SetDraining();
  BOOST_TEST(Call("GET", "/readyz", "", false).status == 503);
}

BOOST_AUTO_TEST_CASE(auth_answers_gateways_with_200_401_or_403_only) {
  json::object t = Create("acme/prod");
  std::string token = S(t, "token");
  HttpResponse r = Auth(token);
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.Header("X-Token-Id").value_or("") == S(t, "id"));
  BOOST_TEST(r.Header("X-Token-Namespace").value_or("") == "acme/prod");
  BOOST_TEST(r.Header("X-Token-Expires-At").value_or("") == S(t, "expires_at"));
  // Gateways send the client's method and Envoy appends the client's path.
  BOOST_TEST(Auth(token, "/v1/auth", std::nullopt, "POST").status == 200);
  BOOST_TEST(Auth(token, "/v1/auth", std::nullopt, "HEAD").status == 200);
  BOOST_TEST(Auth(token, "/v1/auth/api/items/7?x=1", std::nullopt, "DELETE").status == 200);
  // The required namespace, by header or query; every requirement must hold.
  BOOST_TEST(Auth(token, "/v1/auth", std::string("acme/prod")).status == 200);
  BOOST_TEST(Auth(token, "/v1/auth?namespace=acme%2Fprod").status == 200);
  r = Auth(token, "/v1/auth", std::string("acme"));
  BOOST_TEST(r.status == 403);
  BOOST_TEST(r.Header("WWW-Authenticate").value_or("") == R"(Bearer error="insufficient_scope")");
  BOOST_TEST(Auth(token, "/v1/auth?namespace=other").status == 403);
  BOOST_TEST(Auth(token, "/v1/auth?namespace=other", std::string("acme/prod")).status == 403);
  // Missing, malformed, unknown: 401 with the RFC 6750 challenge.
  for (const std::string& bad : {std::string(), std::string("garbage"), std::string(10000, 'x'),
                                 std::string("tlpat_000000000000000000000000000000000J6VVf")}) {
    r = Auth(bad);
    BOOST_TEST(r.status == 401);
    BOOST_TEST(r.Header("WWW-Authenticate").value_or("") == R"(Bearer error="invalid_token")");
  }
  HttpRequest basic{"GET", "/v1/auth", "Basic " + token, "", false, "", false, "", "", ""};
  BOOST_TEST(Send(basic).status == 401);
  // Revoked: refused on the very next request.
  BOOST_TEST(Call("DELETE", "/v1/namespaces/acme%2Fprod/tokens/" + S(t, "id")).status == 200);
  BOOST_TEST(Auth(token).status == 401);
}

// Validation routes lead the table (matching stops early); every spelling of a path routes the
// same, and only what a route reads must be valid.
BOOST_AUTO_TEST_CASE(validation_routes_lead_the_table_and_odd_targets_take_the_full_parse) {
  auto names = Router::RouteNames();
  BOOST_REQUIRE(names.size() > 3u);
  BOOST_TEST(names[0] == "auth");
  BOOST_TEST(names[1] == "validate");
  BOOST_TEST(names[2] == "introspect");
  json::object t = Create("acme");
  // Escaped and dot-segment spellings are routed by the full parser, to the same answers.
  BOOST_TEST(Auth(S(t, "token"), "/v1/%61uth").status == 200);
  BOOST_TEST(Auth(S(t, "token"), "/v1/authx").status == 404);
  // Even a malformed query gets a gateway-safe answer on /v1/auth: 401, never 400.
  HttpResponse bad = Auth(S(t, "token"), "/v1/auth?namespace=acme&x=%zz");
  BOOST_TEST(bad.status == 401);
  BOOST_TEST(bad.Header("WWW-Authenticate").value_or("") == R"(Bearer error="invalid_request")");
  BOOST_TEST(Call("POST", "/v1/validate?x=%zz", "{}", false).status == 400);
  // Below /v1/auth the client's path (Envoy appends it) is not examined, so not judged.
  BOOST_TEST(Auth(S(t, "token"), "/v1/auth/api/%zz/{x}").status == 200);
  // A management path with a broken escape is a bad target.
  BOOST_TEST(Call("GET", "/v1/namespaces/ac%zzme/tokens").status == 400);
  BOOST_TEST(Call("GET", "/v1/namespaces/acme/tokens?limit=%zz").status == 400);
  BOOST_TEST(Call("GET", "/v1/validate", "", false).status == 405);
  BOOST_TEST(Call("POST", "/v1/validate?x=1", R"({"token":")" + S(t, "token") + R"("})", false).status == 200);
}

BOOST_AUTO_TEST_CASE(introspect_follows_rfc_7662) {
  json::object t = Create("acme");
  std::string token = S(t, "token");
  HttpResponse r = Introspect("token=" + token + "&token_type_hint=access_token");
  BOOST_TEST(r.status == 200);
  json::object o = json::parse(r.body).as_object();
  BOOST_TEST(o.at("active").as_bool());
  BOOST_TEST(S(o, "jti") == S(t, "id"));
  BOOST_TEST(S(o, "namespace") == "acme");
  BOOST_TEST(S(o, "token_type") == "Bearer");
  BOOST_TEST(o.at("iat").as_int64() == *core::ParseRfc3339(S(t, "created_at")));
  BOOST_TEST(o.at("exp").as_int64() == *core::ParseRfc3339(S(t, "expires_at")));
  // Percent-encoding and a charset parameter are fine.
  std::string encoded = "token=" + token.substr(0, 3) + "%61" + token.substr(4);  // "tlpat_": 'a' as %61
  BOOST_TEST(json::parse(Introspect(encoded, "application/x-www-form-urlencoded; charset=UTF-8").body).at("active").as_bool());
  // Inactive: {"active":false} and nothing else.
  for (const std::string& form : {std::string("token=garbage"), std::string("token=tlpat_000000000000000000000000000000000J6VVf"),
                                  "token=" + std::string(5000, 'a'), std::string("token=")}) {
    r = Introspect(form);
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body == R"({"active":false})");
  }
  BOOST_TEST(Introspect("token_type_hint=access_token").status == 400);
  BOOST_TEST(Introspect("token=a&token=b").status == 400);
  BOOST_TEST(Introspect("token=" + token, "application/json").status == 415);
  BOOST_TEST(Call("DELETE", "/v1/namespaces/acme/tokens/" + S(t, "id")).status == 200);
  BOOST_TEST(Introspect("token=" + token).body == R"({"active":false})");
}

BOOST_AUTO_TEST_CASE(validator_token_guards_the_validation_endpoints) {
  Fixture guarded("tlval_validator-secret");
  json::object t = guarded.Create("acme");
  std::string token = S(t, "token");
  HttpRequest validate{"POST", "/v1/validate", "", "", false, "", false, "", "", R"({"token":")" + token + R"("})"};
  BOOST_TEST(guarded.Send(validate).status == 401);
  validate.authorization = "Bearer tlval_wrong";
  BOOST_TEST(guarded.Send(validate).status == 401);
  validate.authorization = "Bearer tlval_validator-secret";
  BOOST_TEST(json::parse(guarded.Send(validate).body).at("active").as_bool());
  validate.authorization = std::string("Bearer ") + kAdmin;  // the admin token may validate too
  BOOST_TEST(guarded.Send(validate).status == 200);
  validate.authorization.clear();
  validate.validator_token = "tlval_validator-secret";
  BOOST_TEST(guarded.Send(validate).status == 200);

  HttpRequest introspect{"POST", "/v1/introspect", "", "", false, "", false, "",
                         "application/x-www-form-urlencoded", "token=" + token};
  BOOST_TEST(guarded.Send(introspect).status == 401);
  introspect.authorization = "Bearer tlval_validator-secret";
  BOOST_TEST(json::parse(guarded.Send(introspect).body).at("active").as_bool());

  // /v1/auth carries the user's token in Authorization: the validator's goes in its own header.
  HttpResponse r = guarded.Auth(token);
  BOOST_TEST(r.status == 401);
  BOOST_TEST(ErrorCode(r) == "unauthorized");
  HttpRequest auth{"GET", "/v1/auth", "Bearer " + token, "", false, "", false, "tlval_validator-secret", "", ""};
  BOOST_TEST(guarded.Send(auth).status == 200);
  auth.validator_token = "tlval_wrong";
  BOOST_TEST(guarded.Send(auth).status == 401);
  // Management still needs the admin token, not the validator's.
  HttpRequest list{"GET", "/v1/namespaces/acme/tokens", "Bearer tlval_validator-secret", "", false, "", false, "", "", ""};
  BOOST_TEST(guarded.Send(list).status == 401);
}

BOOST_AUTO_TEST_CASE(metrics_count_requests_validations_and_the_ledger) {
  json::object t = Create("acme");
  for (int i = 0; i < 3; ++i) Call("POST", "/v1/validate", R"({"token":")" + S(t, "token") + R"("})", false);
  Call("POST", "/v1/validate", R"({"token":"garbage"})", false);
  Auth(S(t, "token"), "/v1/auth", std::string("other"));
  Call("GET", "/nowhere", "", false);
  HttpResponse r = Call("GET", "/metrics", "", false);
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.content_type.find("text/plain") == 0u);
  const std::string& m = r.body;
  for (const char* line : {"tokenledger_http_requests_total{route=\"validate\",status=\"200\"} 4",
                           "tokenledger_http_requests_total{route=\"create\",status=\"201\"} 1",
                           "tokenledger_http_requests_total{route=\"auth\",status=\"403\"} 1",
                           "tokenledger_http_requests_total{route=\"none\",status=\"404\"} 1",
                           "tokenledger_validations_total{protocol=\"http\",result=\"active\"} 3",
                           "tokenledger_validations_total{protocol=\"http\",result=\"malformed\"} 1",
                           "tokenledger_validations_total{protocol=\"http\",result=\"wrong_namespace\"} 1",
                           "tokenledger_validation_duration_seconds_count{protocol=\"http\"} 5",
                           "tokenledger_append_duration_seconds_count 1",
                           "tokenledger_ledger_head_seq 1", "tokenledger_active_tokens 1",
                           "tokenledger_ledger_append_batches_total 1", "tokenledger_writes_refused 0",
                           "# TYPE tokenledger_active_index_bytes gauge",
                           "# TYPE tokenledger_validation_duration_seconds histogram"})
    BOOST_TEST(m.find(line) != std::string::npos, line);
}

BOOST_AUTO_TEST_CASE(expiring_within_lists_the_active_tokens_that_expire_in_the_window) {
  core::Timestamp now = core::SystemClock().Now();
  auto create = [&](const std::string& name, core::Timestamp expires_at) {
    HttpResponse r = Call("POST", "/v1/namespaces/acme/tokens",
                          R"({"name":")" + name + R"(","expires_at":")" + core::FormatRfc3339(expires_at) + R"("})");
    BOOST_REQUIRE_EQUAL(r.status, 201);
    return S(json::parse(r.body), "id");
  };
  std::string in_1d = create("1d", now + 86400), in_5d = create("5d", now + 5 * 86400),
              in_5d_revoked = create("5d-revoked", now + 5 * 86400), in_30d = create("30d", now + 30 * 86400);
  Create("acme", "a-year");
  Create("other", "elsewhere");
  BOOST_REQUIRE_EQUAL(Call("DELETE", "/v1/namespaces/acme/tokens/" + in_5d_revoked).status, 200);
  auto names = [&](const std::string& query) {
    HttpResponse r = Call("GET", "/v1/namespaces/acme/tokens?" + query);
    BOOST_REQUIRE_EQUAL(r.status, 200);
    std::vector<std::string> out;
    json::value body = json::parse(r.body);
    for (const auto& t : body.at("tokens").as_array()) out.push_back(S(t, "name"));
    return out;
  };
  BOOST_TEST(names("expiring_within=7d") == (std::vector<std::string>{"5d", "1d"}));  // newest first
  BOOST_TEST(names("expiring_within=2d") == (std::vector<std::string>{"1d"}));
  BOOST_TEST(names("expiring_within=12h").empty());
  BOOST_TEST(names("expiring_within=31d&status=active") == (std::vector<std::string>{"30d", "5d", "1d"}));
  BOOST_TEST(names("expiring_within=366d&limit=2") == (std::vector<std::string>{"a-year", "30d"}));
  // As the ledger stood before the revocation, the revoked one was still active and expiring.
  HttpResponse before = Call("GET", "/v1/namespaces/acme/tokens?expiring_within=7d&as_of=4");
  BOOST_TEST(before.body.find("5d-revoked") != std::string::npos, before.body);
  for (const char* bad : {"expiring_within=7", "expiring_within=1w", "expiring_within=400d",
                          "expiring_within=7d&status=revoked", "expiring_within=7d&status=expired"})
    BOOST_TEST(Call("GET", std::string("/v1/namespaces/acme/tokens?") + bad).status == 400, bad);
}

BOOST_AUTO_TEST_CASE(answers_that_read_the_log_or_sign_run_through_the_offload_hook) {
  json::object t = Create("acme", "ci");
  std::atomic<int> offloaded{0};
  std::vector<std::thread> workers;
  std::mutex workers_mutex;
  router->SetOffload([&](std::function<void()> task) {
    ++offloaded;
    std::lock_guard lock(workers_mutex);
    workers.emplace_back(std::move(task));  // another thread, as the front end's pool
  });
  auto expect = [&](const std::string& method, const std::string& target, const std::string& body, bool admin,
                    int status, int offloads) {
    int before = offloaded.load();
    HttpResponse r = Call(method, target, body, admin);
    BOOST_TEST(r.status == status, target << " " << r.body);
    BOOST_TEST(offloaded.load() - before == offloads, target);
  };
  std::string token = S(t, "token");
  // Reads of the log, signing: offloaded.
  expect("GET", "/v1/tokens/" + S(t, "id") + "/history", "", true, 200, 1);
  expect("GET", "/v1/ledger/head", "", true, 200, 1);
  expect("GET", "/v1/export?format=csv", "", true, 200, 1);
  expect("GET", "/v1/namespaces/acme/tokens?as_of=1", "", true, 200, 1);
  expect("GET", "/v1/namespaces/acme/tokens?as_of=99", "", true, 400, 1);  // resolved there too
  expect("POST", "/v1/validate", R"({"token":")" + token + R"(","as_of":1})", false, 200, 1);
  // The hot path and memory-only answers stay on the calling thread.
  expect("POST", "/v1/validate", R"({"token":")" + token + R"("})", false, 200, 0);
  expect("GET", "/v1/namespaces/acme/tokens", "", true, 200, 0);
  expect("GET", "/v1/namespaces/acme/tokens/" + S(t, "id"), "", true, 200, 0);
  // Refused before any work: not offloaded.
  expect("GET", "/v1/ledger/head", "", false, 401, 0);
  router->SetOffload(nullptr);
  for (auto& w : workers) w.join();
}

BOOST_AUTO_TEST_CASE(revoke_leaked_revokes_active_tokens_by_value_and_says_only_how_many) {
  json::object a = Create("acme", "ci"), b = Create("other/team", "deploy"), kept = Create("acme", "kept");
  std::string body = json::serialize(json::object{
      {"tokens", json::array{S(a, "token"), S(b, "token"), S(a, "token"), "tlpat_000000000000000000000000000000000J6VVf",
                             "not a token"}},
      {"source", "github-secret-scanning"}});
  // No credential, or one that is neither admin nor validator: nothing happens.
  BOOST_TEST(Call("POST", "/v1/tokens/revoke-leaked", body, false).status == 401);
  HttpRequest wrong;
  wrong.method = "POST";
  wrong.target = "/v1/tokens/revoke-leaked";
  wrong.body = body;
  wrong.authorization = "Bearer " + S(kept, "token");  // a token is not a credential here
  BOOST_TEST(Send(wrong).status == 401);
  BOOST_TEST(ledger->head_seq() == 3u);

  HttpResponse r = Call("POST", "/v1/tokens/revoke-leaked", body);
  BOOST_TEST(r.status == 200, r.body);
  json::object o = json::parse(r.body).as_object();
  BOOST_TEST(o.at("matched").as_int64() == 2);  // a twice, b once; the rest are not tokens of ours
  BOOST_TEST(o.at("revoked").as_int64() == 2);
  BOOST_TEST(r.body.find("acme") == std::string::npos);
  BOOST_TEST(r.body.find("other") == std::string::npos);
  BOOST_TEST(r.body.find("tok_") == std::string::npos);
  BOOST_TEST(ledger->head_seq() == 5u);  // both revocations in one append
  // Finding a reported token is not a use of it.
  BOOST_TEST(json::parse(Call("GET", "/v1/namespaces/acme/tokens/" + S(a, "id")).body).at("last_used_at").is_null());
  for (const json::object* t : {&a, &b}) {
    auto history = Call("GET", "/v1/tokens/" + S(*t, "id") + "/history");
    BOOST_TEST(history.body.find(R"("reason":"leaked")") != std::string::npos, history.body);
    BOOST_TEST(history.body.find(R"("actor":"leak-report:github-secret-scanning")") != std::string::npos, history.body);
  }
  BOOST_TEST(Call("POST", "/v1/validate", R"({"token":")" + S(a, "token") + R"("})", false).body == R"({"active":false})");
  BOOST_TEST(Call("POST", "/v1/validate", R"({"token":")" + S(kept, "token") + R"("})", false).body.find("true") !=
             std::string::npos);
  // Reported again: nothing left to revoke.
  r = Call("POST", "/v1/tokens/revoke-leaked", body);
  BOOST_TEST(json::parse(r.body).at("matched").as_int64() == 0);
  BOOST_TEST(ledger->head_seq() == 5u);

  for (const char* bad : {R"({"tokens":[]})", R"({"tokens":"x"})", R"({"tokens":[1]})", R"({"tokens":["x"],"source":""})",
                          R"({"tokens":["x"],"extra":1})", R"({})"})
    BOOST_TEST(Call("POST", "/v1/tokens/revoke-leaked", bad).status == 400, bad);
  json::array many;
  for (int i = 0; i < 1001; ++i) many.emplace_back("x");
  BOOST_TEST(Call("POST", "/v1/tokens/revoke-leaked", json::serialize(json::object{{"tokens", many}})).status == 400);
}

BOOST_AUTO_TEST_CASE(rotate_answers_the_new_token_once_and_revokes_the_old_at_once_or_after_grace) {
  json::object a = Create("acme", "ci"), b = Create("acme", "deploy");
  std::string path_a = "/v1/namespaces/acme/tokens/" + S(a, "id") + "/rotate";
  BOOST_TEST(Call("POST", path_a, "", false).status == 401);
  HttpResponse r = Call("POST", path_a, "");  // no body: no grace, a fresh year
  BOOST_TEST(r.status == 201, r.body);
  BOOST_TEST(r.Header("Cache-Control").value_or("") == "no-store");
  json::object n = json::parse(r.body).as_object();
  BOOST_TEST(S(n, "rotated_from") == S(a, "id"));
  BOOST_TEST(S(n, "name") == "ci");
  BOOST_TEST(S(n, "status") == "active");
  BOOST_TEST(core::IsWellFormedToken(S(n, "token")));
  BOOST_TEST(ledger->head_seq() == 5u);  // created, rotated, revoked
  BOOST_TEST(Call("POST", "/v1/validate", R"({"token":")" + S(a, "token") + R"("})", false).body == R"({"active":false})");
  json::object old = json::parse(Call("GET", "/v1/namespaces/acme/tokens/" + S(a, "id")).body).as_object();
  BOOST_TEST(S(old, "status") == "revoked");
  BOOST_TEST(S(old, "rotated_to") == S(n, "id"));
  auto history = Call("GET", "/v1/tokens/" + S(a, "id") + "/history").body;
  BOOST_TEST(history.find(R"("type":"token.rotated")") != std::string::npos, history);
  BOOST_TEST(history.find(R"("new_token_id":")" + S(n, "id")) != std::string::npos, history);
  BOOST_TEST(history.find(R"("reason":"rotated")") != std::string::npos, history);
  // Revoked now: 409, as for a second rotation.
  r = Call("POST", path_a, "{}");
  BOOST_TEST(r.status == 409);
  BOOST_TEST(json::parse(r.body).at("error").at("code").as_string() == "already_revoked", r.body);

  std::string path_b = "/v1/namespaces/acme/tokens/" + S(b, "id") + "/rotate";
  r = Call("POST", path_b, R"({"grace_seconds":3600,"expires_at":"2035-01-01T00:00:00Z"})");
  BOOST_TEST(r.status == 400);  // beyond a year
  r = Call("POST", path_b, R"({"grace_seconds":3600})");
  BOOST_TEST(r.status == 201, r.body);
  BOOST_TEST(Call("POST", "/v1/validate", R"({"token":")" + S(b, "token") + R"("})", false).body.find("true") !=
             std::string::npos);
  json::object in_grace = json::parse(Call("GET", "/v1/namespaces/acme/tokens/" + S(b, "id")).body).as_object();
  BOOST_TEST(S(in_grace, "status") == "active");
  BOOST_TEST(!S(in_grace, "revoke_at").empty());
  r = Call("POST", path_b, R"({"grace_seconds":10})");
  BOOST_TEST(r.status == 409);
  BOOST_TEST(json::parse(r.body).at("error").at("code").as_string() == "already_rotated", r.body);

  std::uint64_t head = ledger->head_seq();
  for (const char* bad : {R"({"grace_seconds":86401})", R"({"grace_seconds":-1})", R"({"grace_seconds":1.5})",
                          R"({"grace_seconds":"60"})", R"({"expires_at":5})", R"({"expires_at":"tomorrow"})",
                          R"({"name":"x"})", "[]", "{"}) {
    BOOST_TEST(Call("POST", path_b, bad).status == 400, bad);
  }
  BOOST_TEST(Call("POST", "/v1/namespaces/other/tokens/" + S(b, "id") + "/rotate", "").status == 404);
  BOOST_TEST(Call("POST", "/v1/namespaces/acme/tokens/tok_nope/rotate", "").status == 404);
  BOOST_TEST(ledger->head_seq() == head);
}

BOOST_AUTO_TEST_CASE(listings_show_when_each_token_was_last_used_but_not_as_of) {
  json::object used = Create("acme", "used"), idle = Create("acme", "idle");
  for (const char* path : {"/v1/validate", "/v1/auth"}) {
    if (std::string(path) == "/v1/validate") {
      BOOST_TEST(Call("POST", path, R"({"token":")" + S(used, "token") + R"("})", false).status == 200);
    } else {
      HttpRequest auth;
      auth.method = "GET";
      auth.target = path;
      auth.authorization = "Bearer " + S(used, "token");
      BOOST_TEST(Send(auth).status == 200);
    }
  }
  auto listed = json::parse(Call("GET", "/v1/namespaces/acme/tokens").body).at("tokens").as_array();
  BOOST_REQUIRE(listed.size() == 2u);
  for (const auto& t : listed) {
    const auto& o = t.as_object();
    if (S(o, "id") == S(used, "id")) BOOST_TEST(o.at("last_used_at").is_string());
    else BOOST_TEST(o.at("last_used_at").is_null());
  }
  auto then = json::parse(Call("GET", "/v1/namespaces/acme/tokens?as_of=2").body).at("tokens").as_array();
  BOOST_REQUIRE(then.size() == 2u);
  for (const auto& t : then) BOOST_TEST(!t.as_object().contains("last_used_at"));
}

BOOST_AUTO_TEST_CASE(the_console_is_served_from_the_binary_with_a_strict_policy) {
  HttpResponse r = Call("GET", "/console", "", false);
  BOOST_TEST(r.status == 301);
  BOOST_TEST(r.Header("Location").value_or("") == "/console/");
  r = Call("GET", "/console/", "", false);  // open: the page itself asks for the admin token
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.content_type == "text/html; charset=utf-8");
  BOOST_TEST(r.body.find("<title>Access Tokens") != std::string::npos);
  // No inline script or style may run, no other origin is reached, nothing may frame it.
  std::string policy(r.Header("Content-Security-Policy").value_or(""));
  BOOST_TEST(policy.find("default-src 'none'") != std::string::npos, policy);
  BOOST_TEST(policy.find("script-src 'self'") != std::string::npos, policy);
  BOOST_TEST(policy.find("frame-ancestors 'none'") != std::string::npos, policy);
  BOOST_TEST(r.Header("Referrer-Policy").value_or("") == "no-referrer");
  BOOST_TEST(r.body.find("<script>") == std::string::npos);
  BOOST_TEST(r.body.find("http://") == std::string::npos);  // no CDN: works offline
  BOOST_TEST(r.body.find("https://") == std::string::npos);
  for (auto [file, type] : {std::pair{"console.js", "text/javascript; charset=utf-8"},
                            std::pair{"console.css", "text/css; charset=utf-8"},
                            std::pair{"favicon.svg", "image/svg+xml"}}) {
    r = Call("GET", std::string("/console/") + file, "", false);
    BOOST_TEST(r.status == 200, file);
    BOOST_TEST(r.content_type == type, file);
    BOOST_TEST(r.body.find("https://") == std::string::npos, file);
  }
  BOOST_TEST(Call("GET", "/console/console.js?v=2", "", false).status == 200);
  BOOST_TEST(Call("GET", "/console/missing.js", "", false).status == 404);
  BOOST_TEST(Call("GET", "/console/a/console.js", "", false).status == 404);
  BOOST_TEST(Call("POST", "/console/", "", false).status == 405);
}

BOOST_AUTO_TEST_CASE(revoke_leaked_takes_the_validator_token_when_one_is_configured) {
  Fixture closed(std::string_view("tlval_leak-reporter"));
  json::object t = closed.Create("acme", "ci");
  HttpRequest request;
  request.method = "POST";
  request.target = "/v1/tokens/revoke-leaked";
  request.body = R"({"tokens":[")" + S(t, "token") + R"("]})";
  request.validator_token = "tlval_leak-reporter";
  HttpResponse r = closed.Send(request);
  BOOST_TEST(r.status == 200, r.body);
  BOOST_TEST(json::parse(r.body).at("matched").as_int64() == 1);
  BOOST_TEST(json::parse(r.body).at("revoked").as_int64() == 1);
  auto history = closed.Call("GET", "/v1/tokens/" + S(t, "id") + "/history");
  BOOST_TEST(history.body.find(R"("actor":"leak-report:unspecified")") != std::string::npos, history.body);
  request.validator_token = "tlval_wrong";
  BOOST_TEST(closed.Send(request).status == 401);
}

BOOST_AUTO_TEST_SUITE_END()
