#include "server/router.h"

#include <array>
#include <boost/json.hpp>
#include <boost/url.hpp>
#include <charconv>
#include <optional>

#include "core/log.h"
#include "core/names.h"
#include "core/time_format.h"
#include "core/token_format.h"

namespace tokenledger::server {
namespace json = boost::json;
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
    case core::StatusCode::kUnavailable: return 503;
    default: return 500;
  }
}

HttpResponse StatusResponse(const core::Status& s) {
  if (HttpStatusOf(s) == 500) {
    // Internal details go to the log, not to the client.
    core::Log(core::LogLevel::kError, "request failed: " + s.ToString());
    return ErrorResponse(500, "internal", "internal error; see the server log");
  }
  return ErrorResponse(HttpStatusOf(s), core::StatusCodeName(s.code()), s.message());
}

json::object TokenJson(const TokenRecord& r, core::Timestamp now) {
  json::object o;
  o["id"] = r.id;
  o["namespace"] = r.namespace_id;
  o["name"] = r.name;
  o["created_at"] = core::FormatRfc3339(r.created_at);
  o["expires_at"] = core::FormatRfc3339(r.expires_at);
  o["status"] = events::TokenStatusName(events::EffectiveStatus(r.status, r.expires_at, now));
  o["created_by"] = r.created_by;
  if (r.status == events::TokenStatus::kRevoked) {
    o["revoked_at"] = core::FormatRfc3339(r.revoked_at);
    o["revoked_by"] = r.revoked_by;
  }
  return o;
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

std::optional<std::uint64_t> ParseUint(std::string_view text) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

}  // namespace

HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message) {
  json::object error;
  error["code"] = code;
  error["message"] = message;
  json::object body;
  body["error"] = std::move(error);
  HttpResponse r = JsonResponse(status, body);
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

struct Router::Params {
  std::string ns;
  std::string id;
  boost::urls::url_view url;
};

struct Router::Route {
  std::string_view method;
  std::vector<std::string_view> pattern;  // literal segments, or ":ns" / ":id"
  Handler handler;
  bool admin;
};

const std::vector<Router::Route>& Router::Routes() {
  static const std::vector<Route> routes = {
      {"GET", {"healthz"}, &Router::HandleHealthz, false},
      {"GET", {"readyz"}, &Router::HandleReadyz, false},
      {"POST", {"v1", "validate"}, &Router::HandleValidate, false},
      {"POST", {"v1", "namespaces", ":ns", "tokens"}, &Router::HandleCreate, true},
      {"GET", {"v1", "namespaces", ":ns", "tokens"}, &Router::HandleList, true},
      {"POST", {"v1", "namespaces", ":ns", "tokens", "revoke"}, &Router::HandleBatchRevoke, true},
      {"GET", {"v1", "namespaces", ":ns", "tokens", ":id"}, &Router::HandleGet, true},
      {"DELETE", {"v1", "namespaces", ":ns", "tokens", ":id"}, &Router::HandleDelete, true},
  };
  return routes;
}

Router::Router(projections::Ledger& ledger, const std::string& admin_token)
    : ledger_(ledger), admin_digest_(core::Sha256(admin_token)) {}

bool Router::IsAdmin(const HttpRequest& request) const {
  constexpr std::string_view kBearer = "Bearer ";
  std::string_view auth = request.authorization;
  if (auth.size() <= kBearer.size() || auth.substr(0, kBearer.size()) != kBearer) return false;
  // Comparing digests keeps the comparison constant-time whatever the presented length.
  core::Sha256Digest presented = core::Sha256(auth.substr(kBearer.size()));
  return core::ConstantTimeEquals(
      std::string_view(reinterpret_cast<const char*>(presented.data()), presented.size()),
      std::string_view(reinterpret_cast<const char*>(admin_digest_.data()), admin_digest_.size()));
}

bool Router::PathMatches(const Route& route, boost::urls::segments_encoded_view segments) {
  if (route.pattern.size() != segments.size()) return false;
  auto it = segments.begin();
  for (std::string_view part : route.pattern) {
    // Literals compare against the decoded segment without building a string.
    if (part[0] != ':' && (**it).compare(part) != 0) return false;
    ++it;
  }
  return true;
}

void Router::Handle(const HttpRequest& request, Responder respond) {
  auto parsed = boost::urls::parse_origin_form(request.target);
  if (!parsed) return respond(ErrorResponse(400, "invalid_target", "request target is not a valid path"));
  Params params{{}, {}, *parsed};
  auto segments = params.url.encoded_segments();

  bool path_known = false;
  for (const Route& route : Routes()) {
    if (!PathMatches(route, segments)) continue;
    if (route.method != request.method) {
      path_known = true;
      continue;
    }
    // Only the management routes have {ns} and {id}; decoding them is their only copy.
    auto it = segments.begin();
    for (std::string_view part : route.pattern) {
      if (part == ":ns") params.ns = (*it).decode();
      if (part == ":id") params.id = (*it).decode();
      ++it;
    }
    if (route.admin) {
      if (!IsAdmin(request))
        return respond(ErrorResponse(401, "unauthorized", "a valid admin bearer token is required"));
      core::Status s = core::ValidateNamespace(params.ns);
      if (!s.ok()) return respond(ErrorResponse(400, "invalid_namespace", s.message()));
      if (request.has_actor) {
        s = core::ValidateActor(request.actor);
        if (!s.ok()) return respond(ErrorResponse(400, "invalid_actor", s.message()));
      }
    }
    try {
      (this->*route.handler)(request, params, respond);
    } catch (const std::exception& e) {
      // Only allocation failure can get here; answer rather than drop the connection.
      core::Log(core::LogLevel::kError, std::string("handler threw: ") + e.what());
      respond(ErrorResponse(500, "internal", "internal error; see the server log"));
    }
    return;
  }
  if (path_known) {
    std::string allowed;
    for (const Route& route : Routes()) {
      if (!PathMatches(route, segments)) continue;
      if (!allowed.empty()) allowed += ", ";
      allowed += route.method;
    }
    HttpResponse r = ErrorResponse(405, "method_not_allowed", "method not allowed; use " + allowed);
    r.headers.emplace_back("Allow", allowed);
    return respond(std::move(r));
  }
  respond(ErrorResponse(404, "route_not_found", "no such endpoint"));
}

void Router::HandleHealthz(const HttpRequest&, const Params&, Responder& respond) {
  respond(JsonResponse(200, json::object{{"status", "ok"}}));
}

void Router::HandleReadyz(const HttpRequest&, const Params&, Responder& respond) {
  if (draining_.load()) return respond(ErrorResponse(503, "draining", "shutting down"));
  if (!ledger_.writable())
    return respond(ErrorResponse(503, "writes_refused", "the ledger refuses writes after a failed write; restart it"));
  respond(JsonResponse(200, json::object{{"status", "ready"}, {"head_seq", ledger_.head_seq()}}));
}

void Router::HandleValidate(const HttpRequest& request, const Params&, Responder& respond) {
  // Parsed into a stack buffer: the validation path does not allocate for the JSON tree.
  std::array<unsigned char, 4096> buffer;
  json::monotonic_resource resource(buffer.data(), buffer.size());
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  boost::system::error_code ec;
  json::value v = json::parse(request.body, ec, &resource, options);
  if (ec) return respond(ErrorResponse(400, "invalid_json", "body is not valid JSON: " + ec.message()));
  const json::object* o = v.if_object();
  if (o == nullptr) return respond(ErrorResponse(400, "invalid_json", "body must be a JSON object"));
  const json::value* token = o->if_contains("token");
  if (token == nullptr || !token->is_string())
    return respond(ErrorResponse(400, "invalid_argument", "\"token\" must be a string"));
  std::optional<std::string_view> ns;
  if (const json::value* n = o->if_contains("namespace"); n != nullptr && !n->is_null()) {
    if (!n->is_string())
      return respond(ErrorResponse(400, "invalid_argument", "\"namespace\" must be a string"));
    ns = n->get_string();
    core::Status s = core::ValidateNamespace(*ns);
    if (!s.ok()) return respond(ErrorResponse(400, "invalid_namespace", s.message()));
  }
  HttpResponse r;
  r.body.reserve(192);
  // A token of another namespace is simply inactive here (no reason is given).
  projections::Validity validity =
      ledger_.Validate(token->get_string(), ns, [&](const projections::ActiveTokenEntry& e) {
        char when[20];
        core::FormatRfc3339To(e.expires_at, when);
        // Ids and namespaces are restricted to characters that need no JSON escaping.
        r.body.append(R"({"active":true,"token_id":")").append(e.token_id);
        r.body.append(R"(","namespace":")").append(e.namespace_id);
        r.body.append(R"(","expires_at":")").append(when, sizeof when).append("\"}");
      });
  if (validity != projections::Validity::kActive) r.body = R"({"active":false})";
  respond(std::move(r));
}

void Router::HandleCreate(const HttpRequest& request, const Params& params, Responder& respond) {
  auto body = ParseObject(request.body);
  if (!body.ok()) return respond(InvalidJson(body.status()));
  core::Status s = RejectUnknownFields(*body, {"name", "expires_at"});
  if (!s.ok()) return respond(ErrorResponse(400, "invalid_argument", s.message()));
  const json::value* name = body->if_contains("name");
  if (name == nullptr || !name->is_string())
    return respond(ErrorResponse(400, "invalid_name", "\"name\" is required and must be a string"));
  s = core::ValidateTokenName(name->get_string());
  if (!s.ok()) return respond(ErrorResponse(400, "invalid_name", s.message()));
  projections::CreateTokenCommand command;
  if (const json::value* e = body->if_contains("expires_at"); e != nullptr && !e->is_null()) {
    if (!e->is_string())
      return respond(ErrorResponse(400, "invalid_expires_at", "\"expires_at\" must be an RFC 3339 string"));
    auto t = core::ParseRfc3339(e->get_string());
    if (!t.ok()) return respond(ErrorResponse(400, "invalid_expires_at", t.status().message()));
    command.expires_at = *t;
  }
  command.namespace_id = params.ns;
  command.name = name->get_string();
  command.actor = request.has_actor ? request.actor : "admin";
  const core::Clock& clock = ledger_.clock();
  ledger_.Create(std::move(command), [respond, &clock](core::Result<projections::CreatedToken> result) {
    if (!result.ok()) {
      const core::Status& st = result.status();
      if (st.code() == core::StatusCode::kOutOfRange)
        return respond(ErrorResponse(400, "invalid_expires_at", st.message()));
      return respond(StatusResponse(st));
    }
    json::object o = TokenJson(result->record, clock.Now());
    o["status"] = "active";
    o["token"] = result->secret;
    HttpResponse r = JsonResponse(201, o);
    // The secret is in this body: no cache may keep it.
    r.headers.emplace_back("Cache-Control", "no-store");
    respond(std::move(r));
  });
}

void Router::HandleList(const HttpRequest&, const Params& params, Responder& respond) {
  projections::StatusFilter filter = projections::StatusFilter::kAll;
  size_t limit = kDefaultListLimit;
  std::optional<std::uint64_t> cursor;
  for (auto param : params.url.params()) {
    if (param.key == "status") {
      auto f = projections::ParseStatusFilter(param.value);
      if (!f.ok()) return respond(ErrorResponse(400, "invalid_argument", f.status().message()));
      filter = *f;
    } else if (param.key == "limit") {
      auto n = ParseUint(param.value);
      if (!n || *n < 1 || *n > kMaxListLimit)
        return respond(ErrorResponse(400, "invalid_argument", "limit must be 1-1000"));
      limit = *n;
    } else if (param.key == "cursor") {
      cursor = ParseUint(param.value);
      if (!cursor || *cursor == 0)
        return respond(ErrorResponse(400, "invalid_cursor", "cursor must be a next_cursor from a previous page"));
    } else if (param.key == "as_of") {
      return respond(ErrorResponse(400, "unsupported", "as_of is not supported by this version yet"));
    } else {
      return respond(ErrorResponse(400, "invalid_argument", "unknown query parameter \"" + param.key + "\""));
    }
  }
  auto page = ledger_.List(params.ns, filter, limit, cursor);
  core::Timestamp now = ledger_.clock().Now();
  json::array tokens;
  tokens.reserve(page.tokens.size());
  for (const TokenRecord& r : page.tokens) tokens.push_back(TokenJson(r, now));
  json::object body;
  body["tokens"] = std::move(tokens);
  if (page.next_cursor) body["next_cursor"] = std::to_string(*page.next_cursor);
  else body["next_cursor"] = nullptr;
  respond(JsonResponse(200, body));
}

void Router::HandleGet(const HttpRequest&, const Params& params, Responder& respond) {
  auto record = ledger_.Get(params.ns, params.id);
  if (!record) return respond(ErrorResponse(404, "token_not_found", "no such token in this namespace"));
  respond(JsonResponse(200, TokenJson(*record, ledger_.clock().Now())));
}

void Router::HandleDelete(const HttpRequest& request, const Params& params, Responder& respond) {
  if (!core::IsWellFormedTokenId(params.id))
    return respond(ErrorResponse(404, "token_not_found", "no such token in this namespace"));
  projections::RevokeTokensCommand command{params.ns, {params.id}, "", request.has_actor ? request.actor : "admin"};
  projections::Ledger* ledger = &ledger_;
  std::string ns = params.ns, id = params.id;
  ledger_.Revoke(std::move(command), [respond, ledger, ns, id](core::Result<std::vector<projections::RevokeOutcome>> result) {
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

void Router::HandleBatchRevoke(const HttpRequest& request, const Params& params, Responder& respond) {
  auto body = ParseObject(request.body);
  if (!body.ok()) return respond(InvalidJson(body.status()));
  core::Status s = RejectUnknownFields(*body, {"ids", "reason"});
  if (!s.ok()) return respond(ErrorResponse(400, "invalid_argument", s.message()));
  const json::value* ids = body->if_contains("ids");
  if (ids == nullptr || !ids->is_array())
    return respond(ErrorResponse(400, "invalid_argument", "\"ids\" is required and must be an array of token ids"));
  if (ids->as_array().empty() || ids->as_array().size() > projections::kMaxRevokeIds)
    return respond(ErrorResponse(400, "invalid_argument", "\"ids\" must hold 1-1000 token ids"));
  projections::RevokeTokensCommand command;
  for (const json::value& id : ids->as_array()) {
    if (!id.is_string()) return respond(ErrorResponse(400, "invalid_argument", "every id must be a string"));
    if (id.get_string().size() > 64)
      return respond(ErrorResponse(400, "invalid_argument", "an id is longer than 64 characters"));
    command.ids.emplace_back(id.get_string());
  }
  if (const json::value* reason = body->if_contains("reason"); reason != nullptr && !reason->is_null()) {
    if (!reason->is_string()) return respond(ErrorResponse(400, "invalid_argument", "\"reason\" must be a string"));
    s = core::ValidateReason(reason->get_string());
    if (!s.ok()) return respond(ErrorResponse(400, "invalid_argument", s.message()));
    command.reason = reason->get_string();
  }
  command.namespace_id = params.ns;
  command.actor = request.has_actor ? request.actor : "admin";
  ledger_.Revoke(std::move(command), [respond](core::Result<std::vector<projections::RevokeOutcome>> result) {
    if (!result.ok()) return respond(StatusResponse(result.status()));
    json::array results;
    for (const auto& outcome : *result)
      results.push_back(json::object{{"id", outcome.id}, {"result", projections::RevokeResultName(outcome.result)}});
    respond(JsonResponse(200, json::object{{"results", std::move(results)}}));
  });
}

}  // namespace tokenledger::server
