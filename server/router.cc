#include "server/router.h"

#include <array>
#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>
#include <boost/url.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <charconv>
#include <chrono>
#include <optional>

#include "core/log.h"
#include "core/names.h"
#include "core/time_format.h"
#include "core/token_format.h"
#include "events/event_export.h"
#include "events/event_json.h"
#include "projections/replay.h"
#include "projections/token_json.h"
#include "server/console_assets.h"

namespace tokenledger::server {
namespace json = boost::json;
using projections::TokenJson;
using projections::TokenRecord;

namespace {

constexpr unsigned kMaxJsonDepth = 8;

HttpResponse JsonResponse(int status, const json::value& body) {
  HttpResponse r;
  r.status = status;
  r.body = json::serialize(body);
  return r;
}

int HttpStatusOf(const core::Status& s) {
  switch (s.code()) {
    case core::StatusCode::kOk: return 200;
    case core::StatusCode::kInvalidArgument:
    case core::StatusCode::kOutOfRange: return 400;
    case core::StatusCode::kUnauthenticated: return 401;
    case core::StatusCode::kNotFound: return 404;
    case core::StatusCode::kConflict: return 409;
    case core::StatusCode::kUnavailable:
    case core::StatusCode::kResourceExhausted: return 503;
    default: return 500;
  }
}

HttpResponse StatusResponse(const core::Status& s) {
  if (s.code() == core::StatusCode::kResourceExhausted) {
    // Back-pressure, not a fault: say when to come back.
    HttpResponse r = ErrorResponse(503, "overloaded", s.message());
    r.AddHeader("Retry-After", "1");
    return r;
  }
  if (HttpStatusOf(s) == 500) {
    // Internal details go to the log, not to the client.
    core::Log(core::LogLevel::kError, "request failed: " + s.ToString());
    return ErrorResponse(500, "internal", "internal error; see the server log");
  }
  return ErrorResponse(HttpStatusOf(s), core::StatusCodeName(s.code()), s.message());
}

// Parses a JSON object body with a depth limit; the body size is already bounded by the server.
core::Result<json::object> ParseObject(std::string_view body) {
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, json::storage_ptr(), options);
  if (ec) return core::Status::InvalidArgument("body is not valid JSON: " + ec.message());
  if (!v.is_object()) return core::Status::InvalidArgument("body must be a JSON object");
  return std::move(v.as_object());
}

core::Status RejectUnknownFields(const json::object& o, std::initializer_list<std::string_view> known) {
  for (const auto& kv : o) {
    bool found = false;
    for (auto k : known) found = found || kv.key() == k;
    if (!found) return core::Status::InvalidArgument("unknown field \"" + std::string(kv.key()) + "\"");
  }
  return core::Status::Ok();
}

HttpResponse InvalidJson(const core::Status& s) { return ErrorResponse(400, "invalid_json", s.message()); }

// A denial for a gateway (see HandleAuth): status, challenge and the usual error JSON, appended
// to the connection's reused response without allocating (codes and messages are constants
// that need no JSON escaping).
void WriteGatewayDenial(HttpResponse& r, int status, std::string_view challenge, std::string_view code,
                        std::string_view message) {
  r.status = status;
  r.AddHeader("WWW-Authenticate", challenge);
  r.body.append(R"({"error":{"code":")").append(code).append(R"(","message":")").append(message).append("\"}}");
}

std::optional<std::uint64_t> ParseUint(std::string_view text) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

// Reads a ?namespace= filter into ns; the 400 to answer when it is not a namespace.
std::optional<HttpResponse> NamespaceFilter(const std::string& value, std::optional<std::string>& ns) {
  core::Status valid = core::ValidateNamespace(value);
  if (!valid.ok()) return ErrorResponse(400, "invalid_namespace", valid.message());
  ns = value;
  return std::nullopt;
}

HttpResponse UnknownParameter(const std::string& key) {
  return ErrorResponse(400, "invalid_argument", "unknown query parameter \"" + key + "\"");
}

}  // namespace

HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message) {
  json::object error;
  error["code"] = code;
  error["message"] = message;
  json::object body;
  body["error"] = std::move(error);
  HttpResponse r = JsonResponse(status, body);
  if (status == 401) r.AddHeader("WWW-Authenticate", "Bearer");
  return r;
}

struct Router::Params {
  std::string ns;
  std::string id;
  boost::urls::params_encoded_view query;  // empty without a query string
};

// A request path split into its decoded segments, without allocating unless a segment is
// percent-encoded. Only the first kKept segments are kept (enough for every route pattern);
// count counts them all.
struct Router::Path {
  static constexpr size_t kKept = 8;
  std::array<std::string_view, kKept> segments;
  std::array<std::string, kKept> decoded;  // backing for the escaped ones
  size_t count = 0;
  size_t first_bad = std::string_view::npos;  // the first segment that is not valid RFC 3986

  // Splits an origin-form path ("/a/b"); false when it does not start with '/'.
  bool Split(std::string_view path) {
    if (path.empty() || path[0] != '/') return false;
    if (path.size() == 1) return true;  // "/": no segments
    for (std::string_view rest = path.substr(1);;) {
      size_t slash = rest.find('/');
      Add(rest.substr(0, slash));
      if (slash == std::string_view::npos) return true;
      rest.remove_prefix(slash + 1);
    }
  }

 private:
  void Add(std::string_view segment) {
    bool valid = boost::urls::grammar::find_if_not(segment.data(), segment.data() + segment.size(),
                                                   boost::urls::pchars + '%') == segment.data() + segment.size();
    auto escaped = valid ? boost::urls::make_pct_string_view(segment) : boost::urls::make_pct_string_view("");
    if (!valid || !escaped) {
      if (first_bad == std::string_view::npos) first_bad = count;
    } else if (count < kKept && segment.find('%') != std::string_view::npos) {
      decoded[count] = escaped->decode();
      segment = decoded[count];
    }
    if (count < kKept) segments[count] = segment;
    ++count;
  }
};

struct Router::Route {
  std::string_view name;                  // the metrics label
  std::string_view method;                // "*": any method
  std::vector<std::string_view> pattern;  // literal segments, or ":ns" / ":id"
  Handler handler;
  bool admin;
  bool prefix = false;   // also matches any path below the pattern (not examined)
  bool gateway = false;  // answers only 200, 401 or 403: bad input is a 401 (see HandleAuth)
  bool offload = false;  // reads RocksDB or signs: runs through Offload, off the I/O thread
};

// Collects one request's answer: filled in place now, or taken over by a Responder for later.
class Router::Reply {
 public:
  Reply(ServerMetrics& metrics, size_t route, HttpResponse& response, const DeferFn& defer)
      : metrics_(metrics), route_(route), response_(response), defer_(defer) {}
  HttpResponse& response() { return response_; }
  size_t route() const { return route_; }
  void Set(HttpResponse r) { response_ = std::move(r); }
  // The answer will come later through the returned Responder (call it exactly once).
  Responder Later() {
    deferred_ = true;
    return [metrics = &metrics_, route = route_, inner = defer_()](HttpResponse r) {
      metrics->CountRequest(route, r.status);
      inner(std::move(r));
    };
  }
  bool deferred() const { return deferred_; }

 private:
  ServerMetrics& metrics_;
  size_t route_;
  HttpResponse& response_;
  const DeferFn& defer_;
  bool deferred_ = false;
};

const std::vector<Router::Route>& Router::Routes() {
  static const std::vector<Route> routes = {
      // The validation routes first: they are most of the traffic and matching stops early.
      // Gateways send their sub-request with the client's method, and Envoy appends the
      // client's path to its path_prefix: any method, any path below /v1/auth.
      {"auth", "*", {"v1", "auth"}, &Router::HandleAuth, false, true, true},
      {"validate", "POST", {"v1", "validate"}, &Router::HandleValidate, false},
      {"introspect", "POST", {"v1", "introspect"}, &Router::HandleIntrospect, false},
      {"healthz", "GET", {"healthz"}, &Router::HandleHealthz, false},
      {"readyz", "GET", {"readyz"}, &Router::HandleReadyz, false},
      {"metrics", "GET", {"metrics"}, &Router::HandleMetrics, false},
      {"create", "POST", {"v1", "namespaces", ":ns", "tokens"}, &Router::HandleCreate, true},
      {"list", "GET", {"v1", "namespaces", ":ns", "tokens"}, &Router::HandleList, true},
      {"batch_revoke", "POST", {"v1", "namespaces", ":ns", "tokens", "revoke"}, &Router::HandleBatchRevoke, true},
      {"get", "GET", {"v1", "namespaces", ":ns", "tokens", ":id"}, &Router::HandleGet, true},
      {"revoke", "DELETE", {"v1", "namespaces", ":ns", "tokens", ":id"}, &Router::HandleDelete, true},
      {"rotate", "POST", {"v1", "namespaces", ":ns", "tokens", ":id", "rotate"}, &Router::HandleRotate, true},
      {"events", "GET", {"v1", "events"}, &Router::HandleEvents, true},
      {"history", "GET", {"v1", "tokens", ":id", "history"}, &Router::HandleHistory, true, false, false, true},
      {"export", "GET", {"v1", "export"}, &Router::HandleExport, true, false, false, true},
      {"ledger_head", "GET", {"v1", "ledger", "head"}, &Router::HandleLedgerHead, true, false, false, true},
      // The admin token or the validator token (checked in the handler): secret scanners and
      // gateways that find a leaked token report it with the credential they already have.
      {"revoke_leaked", "POST", {"v1", "tokens", "revoke-leaked"}, &Router::HandleRevokeLeaked, false},
      // Static files, open: the page asks for the admin token and sends it to the API itself.
      {"console", "GET", {"console"}, &Router::HandleConsole, false, true},
  };
  return routes;
}

namespace {
bool HasNamespace(const std::vector<std::string_view>& pattern) {
  return std::find(pattern.begin(), pattern.end(), ":ns") != pattern.end();
}
}  // namespace

std::vector<std::string_view> Router::RouteNames() {
  std::vector<std::string_view> names;
  for (const Route& r : Routes()) names.push_back(r.name);
  return names;
}

Router::Router(projections::Ledger& ledger, const AccessControl& access, ServerMetrics& metrics)
    : ledger_(ledger), access_(access), metrics_(metrics) {}

bool Router::MayValidate(const HttpRequest& request) const {
  if (!access_.validator_required()) return true;
  if (!request.validator_token.empty()) return access_.MayValidate(request.validator_token);
  return access_.MayValidate(AccessControl::BearerCredential(request.authorization));
}

void Router::Offload(Reply& reply, std::function<void(Reply&)> work) {
  Responder respond = reply.Later();  // counts the answer in the metrics
  auto task = [this, route = reply.route(), respond, work = std::move(work)]() mutable {
    HttpResponse response;
    // work answers synchronously; should it defer, it answers through respond (counted twice).
    DeferFn defer = [respond] { return respond; };
    Reply inner(metrics_, route, response, defer);
    try {
      work(inner);
    } catch (const std::exception& e) {
      core::Log(core::LogLevel::kError, std::string("handler threw: ") + e.what());
      if (inner.deferred()) return;
      response = ErrorResponse(500, "internal", "internal error; see the server log");
    }
    if (!inner.deferred()) respond(std::move(response));
  };
  if (offload_) offload_(std::move(task));
  else task();
}

bool Router::PathMatches(const Route& route, const Path& path) {
  if (route.prefix ? path.count < route.pattern.size() : path.count != route.pattern.size()) return false;
  for (size_t i = 0; i < route.pattern.size(); ++i)
    if (route.pattern[i][0] != ':' && path.segments[i] != route.pattern[i]) return false;
  return true;
}

bool Router::BadTarget(std::optional<size_t> gateway_route, HttpResponse& response) {
  if (gateway_route) {
    WriteGatewayDenial(response, 401, R"(Bearer error="invalid_request")", "invalid_request",
                       "the request target is not valid");
    metrics_.CountRequest(*gateway_route, response.status);
  } else {
    response = ErrorResponse(400, "invalid_target", "request target is not a valid path");
    metrics_.CountRequest(ServerMetrics::kNoRoute, response.status);
  }
  return true;
}

bool Router::Handle(const HttpRequest& request, HttpResponse& response, const DeferFn& defer) {
  std::string_view target = request.target;
  size_t question = target.find('?');
  Path path;
  bool split = path.Split(target.substr(0, question));
  const auto& routes = Routes();
  bool path_known = false;
  for (size_t index = 0; split && index < routes.size(); ++index) {
    const Route& route = routes[index];
    if (!PathMatches(route, path)) continue;
    bool method_matches = route.method == "*" || route.method == request.method ||
                          (route.method == "GET" && request.method == "HEAD");
    if (!method_matches) {
      path_known = true;
      continue;
    }
    // What the route reads must be valid: its segments (a prefix route ignores the rest) and
    // the query string.
    Params params;
    bool valid = path.first_bad == std::string_view::npos || (route.prefix && path.first_bad >= route.pattern.size());
    if (valid && question != std::string_view::npos) {
      auto query = boost::urls::parse_query(target.substr(question + 1));
      valid = query.has_value();
      if (valid) params.query = *query;
    }
    if (!valid) return BadTarget(route.gateway ? std::optional<size_t>(index) : std::nullopt, response);
    // Only the management routes have {ns} and {id}; these are their only copies.
    for (size_t i = 0; i < route.pattern.size(); ++i) {
      if (route.pattern[i] == ":ns") params.ns = path.segments[i];
      if (route.pattern[i] == ":id") params.id = path.segments[i];
    }
    return Dispatch(index, request, params, response, defer);
  }
  if (!split || path.first_bad != std::string_view::npos) return BadTarget(std::nullopt, response);
  if (path_known) {
    std::string allowed;
    for (const Route& route : routes) {
      if (!PathMatches(route, path)) continue;
      if (!allowed.empty()) allowed += ", ";
      allowed += route.method;
      if (route.method == "GET") allowed += ", HEAD";
    }
    response = ErrorResponse(405, "method_not_allowed", "method not allowed; use " + allowed);
    response.AddHeader("Allow", allowed);
  } else {
    response = ErrorResponse(404, "route_not_found", "no such endpoint");
  }
  metrics_.CountRequest(ServerMetrics::kNoRoute, response.status);
  return true;
}

bool Router::Dispatch(size_t index, const HttpRequest& request, const Params& params, HttpResponse& response,
                      const DeferFn& defer) {
  const Route& route = Routes()[index];
  Reply reply(metrics_, index, response, defer);
  if (route.admin && !access_.IsAdmin(AccessControl::BearerCredential(request.authorization))) {
    reply.Set(ErrorResponse(401, "unauthorized", "a valid admin bearer token is required"));
  } else if (route.admin && HasNamespace(route.pattern) && !core::ValidateNamespace(params.ns).ok()) {
    reply.Set(ErrorResponse(400, "invalid_namespace", core::ValidateNamespace(params.ns).message()));
  } else if (route.admin && request.has_actor && !core::ValidateActor(request.actor).ok()) {
    reply.Set(ErrorResponse(400, "invalid_actor", core::ValidateActor(request.actor).message()));
  } else if (route.offload) {
    Offload(reply, [this, handler = route.handler, &request, params](Reply& r) { (this->*handler)(request, params, r); });
  } else {
    try {
      (this->*route.handler)(request, params, reply);
    } catch (const std::exception& e) {
      // Only allocation failure can get here; answer rather than drop the connection.
      core::Log(core::LogLevel::kError, std::string("handler threw: ") + e.what());
      if (reply.deferred()) return false;
      reply.Set(ErrorResponse(500, "internal", "internal error; see the server log"));
    }
  }
  if (reply.deferred()) return false;
  metrics_.CountRequest(index, response.status);
  return true;
}

void Router::Handle(const HttpRequest& request, Responder respond) {
  HttpResponse response;
  DeferFn defer = [&respond] { return respond; };
  if (Handle(request, response, defer)) respond(std::move(response));
}

void Router::HandleHealthz(const HttpRequest&, const Params&, Reply& reply) {
  reply.Set(JsonResponse(200, json::object{{"status", "ok"}}));
}

void Router::HandleReadyz(const HttpRequest&, const Params&, Reply& reply) {
  if (draining_.load()) return reply.Set(ErrorResponse(503, "draining", "shutting down"));
  if (!ledger_.writable())
    return reply.Set(ErrorResponse(503, "writes_refused", "the ledger refuses writes after a failed write; restart it"));
  reply.Set(JsonResponse(200, json::object{{"status", "ready"}, {"head_seq", ledger_.head_seq()}}));
}

void Router::HandleMetrics(const HttpRequest&, const Params&, Reply& reply) {
  HttpResponse& r = reply.response();
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = metrics_.Render(ledger_);
}

namespace {

constexpr std::string_view kValidatorRequired = "a valid validator token is required";

void AppendUint(std::string& out, std::uint64_t v) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
  out.append(digits, end);
}

// {"active":true,...} or {"active":false} for POST /v1/validate.
void WriteValidateBody(std::string& out, projections::Validity validity, const projections::ActiveToken& t) {
  if (validity != projections::Validity::kActive) {
    out.append(R"({"active":false})");
    return;
  }
  char when[20];
  core::FormatRfc3339To(t.expires_at, when);
  // Ids and namespaces are restricted to characters that need no JSON escaping.
  out.append(R"({"active":true,"token_id":")").append(t.token_id());
  out.append(R"(","namespace":")").append(t.namespace_id);
  out.append(R"(","expires_at":")").append(when, sizeof when).append("\"}");
}

bool IsFormContentType(std::string_view content_type) {
  constexpr std::string_view kForm = "application/x-www-form-urlencoded";
  std::string_view media_type = content_type.substr(0, content_type.find(';'));
  while (!media_type.empty() && media_type.back() == ' ') media_type.remove_suffix(1);
  return boost::beast::iequals(media_type, kForm);
}

}  // namespace

void Router::HandleValidate(const HttpRequest& request, const Params& params, Reply& reply) {
  auto start = std::chrono::steady_clock::now();
  std::string as_of_query;  // empty (no allocation) unless ?as_of= is given
  if (!MayValidate(request)) return reply.Set(ErrorResponse(401, "unauthorized", kValidatorRequired));
  // Parsed into a stack buffer: the validation path does not allocate for the JSON tree.
  std::array<unsigned char, 4096> buffer;
  json::monotonic_resource resource(buffer.data(), buffer.size());
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  boost::system::error_code ec;
  json::value v = json::parse(request.body, ec, &resource, options);
  if (ec) return reply.Set(ErrorResponse(400, "invalid_json", "body is not valid JSON: " + ec.message()));
  const json::object* o = v.if_object();
  if (o == nullptr) return reply.Set(ErrorResponse(400, "invalid_json", "body must be a JSON object"));
  const json::value* token = o->if_contains("token");
  if (token == nullptr || !token->is_string())
    return reply.Set(ErrorResponse(400, "invalid_argument", "\"token\" must be a string"));
  std::optional<std::string_view> ns;
  if (const json::value* n = o->if_contains("namespace"); n != nullptr && !n->is_null()) {
    if (!n->is_string())
      return reply.Set(ErrorResponse(400, "invalid_argument", "\"namespace\" must be a string"));
    ns = n->get_string();
    core::Status s = core::ValidateNamespace(*ns);
    if (!s.ok()) return reply.Set(ErrorResponse(400, "invalid_namespace", s.message()));
  }
  // "as_of" in the body (a seq or an RFC 3339 string) or the query: the audit question.
  std::optional<std::string_view> as_of;
  char as_of_digits[24];
  if (const json::value* a = o->if_contains("as_of"); a != nullptr && !a->is_null()) {
    if (a->is_string()) {
      as_of = a->get_string();
    } else if (a->is_uint64() || (a->is_int64() && a->get_int64() >= 0)) {
      std::uint64_t seq = a->is_uint64() ? a->get_uint64() : static_cast<std::uint64_t>(a->get_int64());
      auto [end, ec] = std::to_chars(as_of_digits, as_of_digits + sizeof as_of_digits, seq);
      as_of = std::string_view(as_of_digits, end - as_of_digits);
    } else {
      return reply.Set(ErrorResponse(400, "invalid_as_of", "\"as_of\" must be a seq or an RFC 3339 time"));
    }
  }
  for (auto param : params.query) {
    if (*param.key != std::string_view("as_of")) continue;  // other parameters are ignored, as before
    if (as_of) return reply.Set(ErrorResponse(400, "invalid_as_of", "as_of is given more than once"));
    as_of_query = param.value.decode();
    as_of = as_of_query;
  }
  if (as_of) {
    return Offload(reply, [this, token = std::string(token->get_string()),
                           ns = ns ? std::optional<std::string>(*ns) : std::nullopt,
                           as_of = std::string(*as_of)](Reply& r) {
      ValidateAsOf(token, ns ? std::optional<std::string_view>(*ns) : std::nullopt, as_of, r);
    });
  }
  projections::ActiveToken active;
  // A token of another namespace is simply inactive here (no reason is given).
  projections::Validity validity = ledger_.Validate(token->get_string(), ns, &active);
  WriteValidateBody(reply.response().body, validity, active);
  metrics_.CountValidation(Protocol::kHttp, validity, std::chrono::steady_clock::now() - start);
}

void Router::HandleIntrospect(const HttpRequest& request, const Params&, Reply& reply) {
  auto start = std::chrono::steady_clock::now();
  if (!MayValidate(request)) return reply.Set(ErrorResponse(401, "unauthorized", kValidatorRequired));
  if (!IsFormContentType(request.content_type))
    return reply.Set(ErrorResponse(415, "unsupported_media_type",
                                   "RFC 7662 introspection takes an application/x-www-form-urlencoded body"));
  auto form = boost::urls::parse_query(request.body);
  if (!form) return reply.Set(ErrorResponse(400, "invalid_request", "the body is not a valid form"));
  // The decoded token, copied to the stack; anything longer than a token cannot be one.
  std::array<char, 2 * core::kTokenLength> token_chars;
  size_t token_size = 0;
  bool has_token = false, too_long = false;
  for (auto param : *form) {
    if (!param.has_value || *param.key != std::string_view("token")) continue;  // token_type_hint etc.
    if (has_token) return reply.Set(ErrorResponse(400, "invalid_request", "\"token\" is given more than once"));
    has_token = true;
    boost::urls::encoding_opts opts;
    opts.space_as_plus = true;
    for (char c : boost::urls::decode_view(param.value, opts)) {
      if (token_size == token_chars.size()) {
        too_long = true;
        break;
      }
      token_chars[token_size++] = c;
    }
  }
  if (!has_token) return reply.Set(ErrorResponse(400, "invalid_request", "the form has no \"token\" parameter"));
  projections::ActiveToken t;
  projections::Validity validity = too_long ? projections::Validity::kMalformed
                                            : ledger_.Validate({token_chars.data(), token_size}, std::nullopt, &t);
  std::string& out = reply.response().body;
  if (validity == projections::Validity::kActive) {
    out.append(R"({"active":true,"jti":")").append(t.token_id());
    out.append(R"(","iat":)");
    AppendUint(out, static_cast<std::uint64_t>(t.created_at));
    out.append(R"(,"exp":)");
    AppendUint(out, static_cast<std::uint64_t>(t.expires_at));
    out.append(R"(,"token_type":"Bearer","namespace":")").append(t.namespace_id).append("\"}");
  } else {
    out.append(R"({"active":false})");  // RFC 7662 2.2: nothing else for an inactive token
  }
  metrics_.CountValidation(Protocol::kHttp, validity, std::chrono::steady_clock::now() - start);
}

// Gateways (nginx auth_request, Traefik forwardAuth, Envoy ext_authz) only look at the status
// and headers, and nginx turns anything but 2xx, 401 and 403 into a 500 for the client: every
// answer here is 200, 401 or 403, with constant bodies.
void Router::HandleAuth(const HttpRequest& request, const Params& params, Reply& reply) {
  auto start = std::chrono::steady_clock::now();
  HttpResponse& r = reply.response();
  if (access_.validator_required() && !access_.MayValidate(request.validator_token))
    return WriteGatewayDenial(r, 401, R"(Bearer realm="tokenledger validator")", "unauthorized",
                              "a valid X-Validator-Token is required");
  projections::ActiveToken t;
  projections::Validity validity =
      ledger_.Validate(AccessControl::BearerCredential(request.authorization), std::nullopt, &t);
  if (validity == projections::Validity::kActive) {
    // Every namespace requirement must hold: the gateway's header and any ?namespace= (a client
    // can add requirements through the query Envoy forwards, never remove the gateway's).
    if (request.has_required_namespace && request.required_namespace != t.namespace_id)
      validity = projections::Validity::kWrongNamespace;
    for (auto param : params.query)
      if (*param.key == std::string_view("namespace") && *param.value != t.namespace_id)
        validity = projections::Validity::kWrongNamespace;
  }
  switch (validity) {
    case projections::Validity::kActive: {
      char when[20];
      core::FormatRfc3339To(t.expires_at, when);
      r.AddHeader("X-Token-Id", t.token_id());
      r.AddHeader("X-Token-Namespace", t.namespace_id);
      r.AddHeader("X-Token-Expires-At", std::string_view(when, sizeof when));
      break;
    }
    case projections::Validity::kWrongNamespace:
      WriteGatewayDenial(r, 403, R"(Bearer error="insufficient_scope")", "wrong_namespace",
                         "the token is not valid for the required namespace");
      break;
    default:
      WriteGatewayDenial(r, 401, R"(Bearer error="invalid_token")", "invalid_token",
                         "the bearer token is missing, malformed, unknown, revoked or expired");
      break;
  }
  metrics_.CountValidation(Protocol::kHttp, validity, std::chrono::steady_clock::now() - start);
}

namespace {
// The optional "expires_at" of a create or rotate body: absent or null -> nullopt.
core::Result<std::optional<core::Timestamp>> OptionalExpiresAt(const json::object& body) {
  const json::value* e = body.if_contains("expires_at");
  if (e == nullptr || e->is_null()) return std::optional<core::Timestamp>();
  if (!e->is_string()) return core::Status::InvalidArgument("\"expires_at\" must be an RFC 3339 string");
  auto t = core::ParseRfc3339(e->get_string());
  if (!t.ok()) return t.status();
  return std::optional<core::Timestamp>(*t);
}

// The answer to a create or a rotation: the new token with its secret, shown this once.
HttpResponse CreatedTokenResponse(const projections::CreatedToken& created, core::Timestamp now) {
  json::object o = TokenJson(created.record, now);
  o["status"] = "active";
  o["token"] = created.secret;
  HttpResponse r = JsonResponse(201, o);
  // The secret is in this body: no cache may keep it.
  r.AddHeader("Cache-Control", "no-store");
  return r;
}
}  // namespace

void Router::HandleCreate(const HttpRequest& request, const Params& params, Reply& reply) {
  auto body = ParseObject(request.body);
  if (!body.ok()) return reply.Set(InvalidJson(body.status()));
  core::Status s = RejectUnknownFields(*body, {"name", "expires_at"});
  if (!s.ok()) return reply.Set(ErrorResponse(400, "invalid_argument", s.message()));
  const json::value* name = body->if_contains("name");
  if (name == nullptr || !name->is_string())
    return reply.Set(ErrorResponse(400, "invalid_name", "\"name\" is required and must be a string"));
  s = core::ValidateTokenName(name->get_string());
  if (!s.ok()) return reply.Set(ErrorResponse(400, "invalid_name", s.message()));
  auto expires_at = OptionalExpiresAt(*body);
  if (!expires_at.ok()) return reply.Set(ErrorResponse(400, "invalid_expires_at", expires_at.status().message()));
  projections::CreateTokenCommand command;
  command.expires_at = *expires_at;
  command.namespace_id = params.ns;
  command.name = name->get_string();
  command.actor = request.has_actor ? request.actor : "admin";
  const core::Clock& clock = ledger_.clock();
  ledger_.Create(std::move(command), [respond = reply.Later(), &clock](core::Result<projections::CreatedToken> result) {
    if (!result.ok()) {
      const core::Status& st = result.status();
      if (st.code() == core::StatusCode::kOutOfRange)
        return respond(ErrorResponse(400, "invalid_expires_at", st.message()));
      return respond(StatusResponse(st));
    }
    respond(CreatedTokenResponse(*result, clock.Now()));
  });
}

void Router::HandleRotate(const HttpRequest& request, const Params& params, Reply& reply) {
  if (!core::IsWellFormedTokenId(params.id))
    return reply.Set(ErrorResponse(404, "token_not_found", "no such token in this namespace"));
  // Every field is optional: an empty body is an empty object.
  auto body = request.body.empty() ? core::Result<json::object>(json::object()) : ParseObject(request.body);
  if (!body.ok()) return reply.Set(InvalidJson(body.status()));
  core::Status s = RejectUnknownFields(*body, {"grace_seconds", "expires_at"});
  if (!s.ok()) return reply.Set(ErrorResponse(400, "invalid_argument", s.message()));
  projections::RotateTokenCommand command;
  if (const json::value* g = body->if_contains("grace_seconds"); g != nullptr && !g->is_null()) {
    boost::system::error_code ec;
    std::int64_t grace = g->is_number() ? g->to_number<std::int64_t>(ec) : -1;
    if (!g->is_number() || ec || grace < 0 || grace > events::kMaxRotationGraceSeconds)
      return reply.Set(ErrorResponse(400, "invalid_grace_seconds", "\"grace_seconds\" must be an integer 0-86400 (24 h)"));
    command.grace_seconds = grace;
  }
  auto expires_at = OptionalExpiresAt(*body);
  if (!expires_at.ok()) return reply.Set(ErrorResponse(400, "invalid_expires_at", expires_at.status().message()));
  command.expires_at = *expires_at;
  command.namespace_id = params.ns;
  command.id = params.id;
  command.actor = request.has_actor ? request.actor : "admin";
  projections::Ledger* ledger = &ledger_;
  ledger_.Rotate(std::move(command), [respond = reply.Later(), ledger, ns = params.ns, id = params.id](
                                         core::Result<projections::CreatedToken> result) {
    if (result.ok()) return respond(CreatedTokenResponse(*result, ledger->clock().Now()));
    const core::Status& st = result.status();
    switch (st.code()) {
      case core::StatusCode::kOutOfRange: return respond(ErrorResponse(400, "invalid_expires_at", st.message()));
      case core::StatusCode::kNotFound:
        return respond(ErrorResponse(404, "token_not_found", "no such token in this namespace"));
      case core::StatusCode::kConflict: {
        // Revoked and expired are final; a rotated token may since have reached its revoke_at.
        auto old = ledger->Get(ns, id);
        events::TokenStatus status = old ? projections::StatusAt(*old, ledger->clock().Now()) : events::TokenStatus::kRevoked;
        if (status == events::TokenStatus::kExpired) return respond(ErrorResponse(409, "expired", st.message()));
        if (status == events::TokenStatus::kActive) return respond(ErrorResponse(409, "already_rotated", st.message()));
        return respond(ErrorResponse(409, "already_revoked", st.message()));
      }
      default: return respond(StatusResponse(st));
    }
  });
}

void Router::HandleList(const HttpRequest&, const Params& params, Reply& reply) {
  projections::StatusFilter filter = projections::StatusFilter::kAll;
  size_t limit = kDefaultListLimit;
  std::optional<std::uint64_t> cursor;
  std::optional<std::string> as_of;
  std::optional<std::int64_t> expiring_within;
  for (auto param : params.query) {
    std::string key = param.key.decode(), value = param.value.decode();
    if (key == "expiring_within") {
      auto d = core::ParseDuration(value);
      if (!d.ok()) return reply.Set(ErrorResponse(400, "invalid_argument", "expiring_within: " + d.status().message()));
      expiring_within = *d;
    } else if (key == "status") {
      auto f = projections::ParseStatusFilter(value);
      if (!f.ok()) return reply.Set(ErrorResponse(400, "invalid_argument", f.status().message()));
      filter = *f;
    } else if (key == "limit") {
      auto n = ParseUint(value);
      if (!n || *n < 1 || *n > kMaxListLimit)
        return reply.Set(ErrorResponse(400, "invalid_argument", "limit must be 1-1000"));
      limit = *n;
    } else if (key == "cursor") {
      cursor = ParseUint(value);
      if (!cursor || *cursor == 0)
        return reply.Set(ErrorResponse(400, "invalid_cursor", "cursor must be a next_cursor from a previous page"));
    } else if (key == "as_of") {
      as_of = std::move(value);
    } else {
      return reply.Set(UnknownParameter(key));
    }
  }
  // Expiring tokens are active ones: with another status the answer would always be empty.
  if (expiring_within && filter != projections::StatusFilter::kAll && filter != projections::StatusFilter::kActive)
    return reply.Set(ErrorResponse(400, "invalid_argument", "expiring_within lists active tokens; use it without status or with status=active"));
  auto list = [this, ns = params.ns, filter, limit, cursor, expiring_within](std::optional<projections::AsOf> point,
                                                                            Reply& r) {
    core::Timestamp now = point ? point->time : ledger_.clock().Now();
    std::optional<core::Timestamp> expires_by;
    if (expiring_within) expires_by = now + *expiring_within;
    auto page = ledger_.List(ns, filter, limit, cursor, point, expires_by);
    json::array tokens;
    tokens.reserve(page.tokens.size());
    for (const TokenRecord& t : page.tokens)
      tokens.push_back(TokenJson(t, now, point ? projections::TokenView::kAsOf : projections::TokenView::kNow));
    json::object body;
    body["tokens"] = std::move(tokens);
    if (page.next_cursor) body["next_cursor"] = std::to_string(*page.next_cursor);
    else body["next_cursor"] = nullptr;
    r.Set(JsonResponse(200, body));
  };
  if (!as_of) return list(std::nullopt, reply);
  // Resolving a point in history reads the log: off the I/O thread.
  Offload(reply, [this, list, as_of = std::move(*as_of)](Reply& r) {
    auto point = ResolveAsOf(as_of);
    if (!point.ok()) return r.Set(ErrorResponse(400, "invalid_as_of", point.status().message()));
    list(*point, r);
  });
}

void Router::HandleGet(const HttpRequest&, const Params& params, Reply& reply) {
  auto record = ledger_.Get(params.ns, params.id);
  if (!record) return reply.Set(ErrorResponse(404, "token_not_found", "no such token in this namespace"));
  reply.Set(JsonResponse(200, TokenJson(*record, ledger_.clock().Now())));
}

void Router::HandleDelete(const HttpRequest& request, const Params& params, Reply& reply) {
  if (!core::IsWellFormedTokenId(params.id))
    return reply.Set(ErrorResponse(404, "token_not_found", "no such token in this namespace"));
  projections::RevokeTokensCommand command{params.ns, {params.id}, "", request.has_actor ? request.actor : "admin"};
  projections::Ledger* ledger = &ledger_;
  std::string ns = params.ns, id = params.id;
  ledger_.Revoke(std::move(command), [respond = reply.Later(), ledger, ns, id](core::Result<std::vector<projections::RevokeOutcome>> result) {
    if (!result.ok()) return respond(StatusResponse(result.status()));
    switch (result->front().result) {
      case projections::RevokeResult::kNotFound:
        return respond(ErrorResponse(404, "token_not_found", "no such token in this namespace"));
      case projections::RevokeResult::kAlreadyRevoked:
        return respond(ErrorResponse(409, "already_revoked", "the token is already revoked"));
      case projections::RevokeResult::kExpired:
        return respond(ErrorResponse(409, "expired", "the token has expired"));
      case projections::RevokeResult::kRevoked: break;
    }
    auto record = ledger->Get(ns, id);
    if (!record) return respond(ErrorResponse(500, "internal", "revoked token missing from the projection"));
    respond(JsonResponse(200, TokenJson(*record, ledger->clock().Now())));
  });
}

void Router::HandleBatchRevoke(const HttpRequest& request, const Params& params, Reply& reply) {
  auto body = ParseObject(request.body);
  if (!body.ok()) return reply.Set(InvalidJson(body.status()));
  core::Status s = RejectUnknownFields(*body, {"ids", "reason"});
  if (!s.ok()) return reply.Set(ErrorResponse(400, "invalid_argument", s.message()));
  const json::value* ids = body->if_contains("ids");
  if (ids == nullptr || !ids->is_array())
    return reply.Set(ErrorResponse(400, "invalid_argument", "\"ids\" is required and must be an array of token ids"));
  if (ids->as_array().empty() || ids->as_array().size() > projections::kMaxRevokeIds)
    return reply.Set(ErrorResponse(400, "invalid_argument", "\"ids\" must hold 1-1000 token ids"));
  projections::RevokeTokensCommand command;
  for (const json::value& id : ids->as_array()) {
    if (!id.is_string()) return reply.Set(ErrorResponse(400, "invalid_argument", "every id must be a string"));
    if (id.get_string().size() > 64)
      return reply.Set(ErrorResponse(400, "invalid_argument", "an id is longer than 64 characters"));
    command.ids.emplace_back(id.get_string());
  }
  if (const json::value* reason = body->if_contains("reason"); reason != nullptr && !reason->is_null()) {
    if (!reason->is_string()) return reply.Set(ErrorResponse(400, "invalid_argument", "\"reason\" must be a string"));
    s = core::ValidateReason(reason->get_string());
    if (!s.ok()) return reply.Set(ErrorResponse(400, "invalid_argument", s.message()));
    command.reason = reason->get_string();
  }
  command.namespace_id = params.ns;
  command.actor = request.has_actor ? request.actor : "admin";
  ledger_.Revoke(std::move(command), [respond = reply.Later()](core::Result<std::vector<projections::RevokeOutcome>> result) {
    if (!result.ok()) return respond(StatusResponse(result.status()));
    json::array results;
    for (const auto& outcome : *result)
      results.push_back(json::object{{"id", outcome.id}, {"result", projections::RevokeResultName(outcome.result)}});
    respond(JsonResponse(200, json::object{{"results", std::move(results)}}));
  });
}

void Router::HandleConsole(const HttpRequest& request, const Params&, Reply& reply) {
  std::string_view path = request.target;
  path = path.substr(0, path.find('?'));
  if (path == "/console") {
    HttpResponse r = ErrorResponse(301, "moved", "the console is at /console/");
    r.AddHeader("Location", "/console/");
    return reply.Set(std::move(r));
  }
  std::string_view name = path.substr(std::string_view("/console/").size());
  if (name.empty()) name = "index.html";
  for (const StaticAsset& asset : ConsoleAssets()) {
    if (asset.name != name) continue;
    HttpResponse r;
    r.content_type = asset.content_type;
    r.body = std::string(asset.body);
    // Only our own files run, nothing may frame the page (clickjacking), the admin token never
    // leaks through a Referer, and a new build's files are fetched again.
    r.AddHeader("Content-Security-Policy",
                "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
                "form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
    r.AddHeader("X-Content-Type-Options", "nosniff");
    r.AddHeader("X-Frame-Options", "DENY");
    r.AddHeader("Referrer-Policy", "no-referrer");
    r.AddHeader("Cache-Control", "no-cache");
    return reply.Set(std::move(r));
  }
  reply.Set(ErrorResponse(404, "not_found", "no such console file"));
}

void Router::HandleRevokeLeaked(const HttpRequest& request, const Params&, Reply& reply) {
  std::string_view bearer = AccessControl::BearerCredential(request.authorization);
  bool admin = access_.IsAdmin(bearer);
  bool validator = access_.validator_required() &&
                   access_.MayValidate(request.validator_token.empty() ? bearer : std::string_view(request.validator_token));
  if (!admin && !validator)
    return reply.Set(ErrorResponse(401, "unauthorized", "the admin or the validator token is required"));
  auto body = ParseObject(request.body);
  if (!body.ok()) return reply.Set(InvalidJson(body.status()));
  core::Status s = RejectUnknownFields(*body, {"tokens", "source"});
  if (!s.ok()) return reply.Set(ErrorResponse(400, "invalid_argument", s.message()));
  const json::value* tokens = body->if_contains("tokens");
  if (tokens == nullptr || !tokens->is_array() || tokens->as_array().empty() ||
      tokens->as_array().size() > projections::kMaxRevokeIds)
    return reply.Set(ErrorResponse(400, "invalid_argument", "\"tokens\" must be an array of 1-1000 token secrets"));
  std::string source = "unspecified";
  if (const json::value* given = body->if_contains("source"); given != nullptr && !given->is_null()) {
    if (!given->is_string() || given->get_string().empty() || given->get_string().size() > kMaxLeakSourceLength ||
        !core::ValidateActor(given->get_string()).ok())
      return reply.Set(ErrorResponse(400, "invalid_argument", "\"source\" must be 1-100 printable ASCII characters"));
    source = given->get_string();
  }
  // Each secret is looked up in the active index (any namespace); only the ids of active ones
  // go to the writer, which decides again (one may have been revoked meanwhile).
  projections::RevokeTokensCommand command;
  command.any_namespace = true;
  command.reason = "leaked";
  command.actor = "leak-report:" + source;
  for (const json::value& token : tokens->as_array()) {
    if (!token.is_string()) return reply.Set(ErrorResponse(400, "invalid_argument", "every token must be a string"));
    projections::ActiveToken active;
    // Finding a reported token is not a use of it: its last_used_at stays the last real one.
    if (ledger_.Validate(token.get_string(), std::nullopt, &active, projections::Use::kDontRecord) !=
        projections::Validity::kActive)
      continue;
    std::string id(active.token_id());
    if (std::find(command.ids.begin(), command.ids.end(), id) == command.ids.end()) command.ids.push_back(std::move(id));
  }
  // How many matched an active token and how many this request revoked (fewer when another
  // revoked one meanwhile); never which tokens or namespaces.
  size_t matched = command.ids.size();
  auto answer = [matched](size_t revoked) {
    return JsonResponse(200, json::object{{"matched", matched}, {"revoked", revoked}});
  };
  if (command.ids.empty()) return reply.Set(answer(0));
  ledger_.Revoke(std::move(command), [respond = reply.Later(), answer](core::Result<std::vector<projections::RevokeOutcome>> result) {
    if (!result.ok()) return respond(StatusResponse(result.status()));
    size_t revoked = std::count_if(result->begin(), result->end(), [](const projections::RevokeOutcome& o) {
      return o.result == projections::RevokeResult::kRevoked;
    });
    respond(answer(revoked));
  });
}

core::Result<projections::AsOf> Router::ResolveAsOf(std::string_view text) const {
  auto point = events::ParseLedgerPoint(text);
  if (!point.ok()) return core::Status::InvalidArgument("as_of: " + point.status().message());
  return projections::ResolveAsOf(ledger_.event_store(), *point, ledger_.clock().Now());
}

void Router::ValidateAsOf(std::string_view token, std::optional<std::string_view> ns, std::string_view as_of,
                          Reply& reply) {
  auto point = ResolveAsOf(as_of);
  if (!point.ok()) return reply.Set(ErrorResponse(400, "invalid_as_of", point.status().message()));
  auto record = ledger_.ValidateAsOf(token, ns, *point);
  if (!record.ok()) return reply.Set(StatusResponse(record.status()));
  if (!record->has_value()) return reply.Set(JsonResponse(200, json::object{{"active", false}}));
  const TokenRecord& r = **record;
  reply.Set(JsonResponse(200, json::object{{"active", true},
                                           {"token_id", r.id},
                                           {"namespace", r.namespace_id},
                                           {"expires_at", core::FormatRfc3339(r.expires_at)},
                                           {"as_of_seq", point->seq}}));
}

namespace {

// A streamed body of events (the feed or an export) read from the log piece by piece.
class EventStream final : public BodyStream {
 public:
  explicit EventStream(std::unique_ptr<events::EventExporter> exporter) : exporter_(std::move(exporter)) {}
  core::Result<bool> Next(std::string& out) override { return exporter_->Next(out); }

 private:
  std::unique_ptr<events::EventExporter> exporter_;
};

HttpResponse StreamedEvents(std::unique_ptr<events::EventExporter> exporter, std::string_view content_type) {
  HttpResponse r;
  r.content_type = content_type;
  r.stream = std::make_shared<EventStream>(std::move(exporter));
  return r;
}

constexpr std::string_view kNdjson = "application/x-ndjson";

}  // namespace

// The catch-up subscription: events after `after`, streamed; with wait, held until one exists.
void Router::HandleEvents(const HttpRequest&, const Params& params, Reply& reply) {
  std::uint64_t after = 0, limit = kDefaultEventsLimit, wait = 0;
  std::optional<std::string> ns;
  for (auto param : params.query) {
    std::string key = param.key.decode(), value = param.value.decode();
    auto number = ParseUint(value);
    if (key == "after") {
      if (!number) return reply.Set(ErrorResponse(400, "invalid_argument", "after must be a seq (0 or more)"));
      after = *number;
    } else if (key == "limit") {
      if (!number || *number < 1 || *number > kMaxEventsLimit)
        return reply.Set(ErrorResponse(400, "invalid_argument", "limit must be 1-1000000"));
      limit = *number;
    } else if (key == "wait") {
      if (!number || *number > kMaxWaitSeconds)
        return reply.Set(ErrorResponse(400, "invalid_argument", "wait must be 0-60 seconds"));
      wait = *number;
    } else if (key == "namespace") {
      if (auto bad = NamespaceFilter(value, ns)) return reply.Set(std::move(*bad));
    } else {
      return reply.Set(UnknownParameter(key));
    }
  }
  const events::EventStore& store = ledger_.event_store();
  auto respond_now = [&store, after, limit, ns]() {
    events::ExportRange range{after + 1, store.head_seq(), ns, limit};
    HttpResponse r = StreamedEvents(
        std::make_unique<events::EventExporter>(store, events::ExportFormat::kNdjson, range), kNdjson);
    r.AddHeader("X-Ledger-Head", std::to_string(range.last_seq));
    return r;
  };
  if (wait == 0) return reply.Set(respond_now());
  auto deadline = projections::EventWaiters::Clock::now() + std::chrono::seconds(wait);
  ledger_.WaitForEvents(after, ns, deadline, [respond = reply.Later(), respond_now](bool arrived) {
    if (arrived) return respond(respond_now());
    // Timed out (or shutting down): an empty page; the consumer asks again from the same seq.
    HttpResponse r;
    r.content_type = kNdjson;
    respond(std::move(r));
  });
}

void Router::HandleHistory(const HttpRequest&, const Params& params, Reply& reply) {
  auto history = core::IsWellFormedTokenId(params.id) ? ledger_.History(params.id)
                                                       : core::Status::NotFound("no such token");
  if (!history.ok()) {
    if (history.status().code() == core::StatusCode::kNotFound)
      return reply.Set(ErrorResponse(404, "token_not_found", "no such token"));
    return reply.Set(StatusResponse(history.status()));
  }
  const events::Event& created = history->front();
  std::string& out = reply.response().body;
  // Ids and namespaces need no JSON escaping (their syntax excludes it).
  out.append(R"({"token_id":")").append(events::TokenIdOf(created.payload));
  out.append(R"(","namespace":")").append(events::NamespaceOf(created.payload)).append(R"(","events":[)");
  for (size_t i = 0; i < history->size(); ++i) {
    if (i > 0) out.push_back(',');
    events::AppendEventJson((*history)[i], out);
  }
  out.append("]}");
}

void Router::HandleExport(const HttpRequest&, const Params& params, Reply& reply) {
  events::ExportFormat format = events::ExportFormat::kJsonl;
  std::optional<events::LedgerPoint> from, to;
  std::optional<std::string> ns;
  for (auto param : params.query) {
    std::string key = param.key.decode(), value = param.value.decode();
    if (key == "format") {
      auto f = events::ParseExportFormat(value);
      if (!f.ok()) return reply.Set(ErrorResponse(400, "invalid_argument", f.status().message()));
      format = *f;
    } else if (key == "from" || key == "to") {
      auto point = events::ParseLedgerPoint(value);
      if (!point.ok()) return reply.Set(ErrorResponse(400, "invalid_argument", key + ": " + point.status().message()));
      (key == "from" ? from : to) = *point;
    } else if (key == "namespace") {
      if (auto bad = NamespaceFilter(value, ns)) return reply.Set(std::move(*bad));
    } else {
      return reply.Set(UnknownParameter(key));
    }
  }
  const events::EventStore& store = ledger_.event_store();
  auto range = events::ResolveRange(store, store.head_seq(), from, to);
  if (!range.ok()) return reply.Set(StatusResponse(range.status()));
  range->namespace_id = ns;
  events::EventExporter::SignFn sign;
  if (ledger_.can_sign()) {
    sign = [ledger = &ledger_](std::uint64_t seq, const core::Sha256Digest& hash) { return ledger->SignHash(seq, hash); };
  }
  bool csv = format == events::ExportFormat::kCsv;
  std::string first = std::to_string(range->first_seq), last = std::to_string(range->last_seq);
  HttpResponse r = StreamedEvents(std::make_unique<events::EventExporter>(store, format, *range, std::move(sign)),
                                  csv ? "text/csv; charset=utf-8" : kNdjson);
  r.AddHeader("Content-Disposition", "attachment; filename=\"tokenledger-" + first + "-" + last +
                                         (csv ? ".csv\"" : ".jsonl\""));
  r.AddHeader("X-Ledger-Export-Range", first + "-" + last);
  reply.Set(std::move(r));
}

void Router::HandleLedgerHead(const HttpRequest&, const Params& params, Reply& reply) {
  std::optional<std::uint64_t> seq;
  for (auto param : params.query) {
    std::string key = param.key.decode(), value = param.value.decode();
    if (key != "seq") return reply.Set(UnknownParameter(key));
    seq = ParseUint(value);
    if (!seq) return reply.Set(ErrorResponse(400, "invalid_argument", "seq must be a number"));
  }
  auto head = ledger_.SignHead(seq);
  if (!head.ok()) return reply.Set(StatusResponse(head.status()));
  reply.response().body = events::SignedHeadJson(*head);
}

}  // namespace tokenledger::server
