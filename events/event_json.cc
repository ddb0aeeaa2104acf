#include "events/event_json.h"

#include <boost/json.hpp>
#include <charconv>

#include "core/time_format.h"
#include "events/event_codec.h"

namespace tokenledger::events {
namespace json = boost::json;
namespace {

constexpr size_t kMaxEventText = 64 * 1024;

json::object EventObject(const Event& e) {
  json::object o;
  o.reserve(12);
  o["seq"] = e.seq;
  o["type"] = EventTypeName(e.payload);
  o["recorded_at"] = core::FormatRfc3339(e.recorded_at);
  o["namespace"] = NamespaceOf(e.payload);
  o["token_id"] = TokenIdOf(e.payload);
  o["actor"] = e.actor;
  if (const auto* c = std::get_if<TokenCreated>(&e.payload)) {
    o["name"] = c->name;
    o["secret_digest"] = core::ToHex(c->secret_digest);
    o["expires_at"] = core::FormatRfc3339(c->expires_at);
  } else if (const auto* r = std::get_if<TokenRevoked>(&e.payload)) {
    o["reason"] = r->reason;
  } else if (const auto* t = std::get_if<TokenRotated>(&e.payload)) {
    o["new_token_id"] = t->new_token_id;
    o["revoke_at"] = core::FormatRfc3339(t->revoke_at);
  }
  o["prev_hash"] = core::ToHex(e.prev_hash);
  o["hash"] = core::ToHex(e.hash);
  return o;
}

void AppendCsvField(std::string_view field, std::string& out) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

core::Status Bad(std::string what) { return core::Status::InvalidArgument(std::move(what)); }

core::Result<core::Sha256Digest> HexField(std::string_view name, std::string_view text) {
  auto d = core::DigestFromHex(text);
  if (!d.ok()) return Bad("\"" + std::string(name) + "\" must be 64 hex characters");
  return d;
}

core::Result<core::Timestamp> TimeField(std::string_view name, std::string_view text) {
  auto t = core::ParseRfc3339(text);
  if (!t.ok()) return Bad("\"" + std::string(name) + "\" is not an RFC 3339 time");
  return t;
}

// The fields of an event by name, from either text form; builds the Event.
struct EventFields {
  std::uint64_t seq = 0;
  std::string_view type, recorded_at, ns, token_id, actor, name, secret_digest, expires_at, reason, new_token_id,
      revoke_at, prev_hash, hash;

  core::Result<Event> Build() const {
    Event e;
    e.seq = seq;
    if (seq == 0) return Bad("\"seq\" must be a positive integer");
    auto recorded = TimeField("recorded_at", recorded_at);
    if (!recorded.ok()) return recorded.status();
    e.recorded_at = *recorded;
    e.actor = std::string(actor);
    if (type == "token.created") {
      TokenCreated c{std::string(token_id), std::string(ns), std::string(name), {}, 0};
      auto digest = HexField("secret_digest", secret_digest);
      if (!digest.ok()) return digest.status();
      c.secret_digest = *digest;
      auto expires = TimeField("expires_at", expires_at);
      if (!expires.ok()) return expires.status();
      c.expires_at = *expires;
      e.payload = std::move(c);
    } else if (type == "token.revoked") {
      e.payload = TokenRevoked{std::string(token_id), std::string(ns), std::string(reason)};
    } else if (type == "token.expired") {
      e.payload = TokenExpired{std::string(token_id), std::string(ns)};
    } else if (type == "token.rotated") {
      auto revoke = TimeField("revoke_at", revoke_at);
      if (!revoke.ok()) return revoke.status();
      e.payload = TokenRotated{std::string(token_id), std::string(ns), std::string(new_token_id), *revoke};
    } else {
      return Bad("unknown event type \"" + std::string(type) + "\"");
    }
    auto prev = HexField("prev_hash", prev_hash);
    if (!prev.ok()) return prev.status();
    e.prev_hash = *prev;
    auto h = HexField("hash", hash);
    if (!h.ok()) return h.status();
    e.hash = *h;
    return e;
  }
};

}  // namespace

void AppendEventJson(const Event& event, std::string& out) { out.append(json::serialize(EventObject(event))); }

void AppendEventCsv(const Event& e, std::string& out) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, e.seq);
  out.append(digits, end).push_back(',');
  out.append(EventTypeName(e.payload)).push_back(',');
  out.append(core::FormatRfc3339(e.recorded_at)).push_back(',');
  AppendCsvField(NamespaceOf(e.payload), out);
  out.push_back(',');
  AppendCsvField(TokenIdOf(e.payload), out);
  out.push_back(',');
  AppendCsvField(e.actor, out);
  out.push_back(',');
  if (const auto* c = std::get_if<TokenCreated>(&e.payload)) {
    AppendCsvField(c->name, out);
    out.append(",").append(core::ToHex(c->secret_digest)).append(",");
    out.append(core::FormatRfc3339(c->expires_at)).append(",");
  } else if (const auto* r = std::get_if<TokenRevoked>(&e.payload)) {
    out.append(",,,");
    AppendCsvField(r->reason, out);
  } else {
    out.append(",,,");
  }
  out.push_back(',');
  if (const auto* t = std::get_if<TokenRotated>(&e.payload)) {
    AppendCsvField(t->new_token_id, out);
    out.append(",").append(core::FormatRfc3339(t->revoke_at));
  } else {
    out.push_back(',');
  }
  out.append(",").append(core::ToHex(e.prev_hash));
  out.append(",").append(core::ToHex(e.hash)).append("\r\n");
}

core::Result<Event> ParseEventJson(std::string_view text) {
  if (text.size() > kMaxEventText) return Bad("the line is longer than 64 KiB");
  json::parse_options options;
  options.max_depth = 2;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, json::storage_ptr(), options);
  if (ec) return Bad("not valid JSON: " + ec.message());
  const json::object* o = v.if_object();
  if (o == nullptr) return Bad("not a JSON object");
  EventFields f;
  const json::value* seq = o->if_contains("seq");
  if (seq == nullptr || !seq->is_number()) return Bad("\"seq\" must be a positive integer");
  boost::system::error_code conv;
  f.seq = seq->to_number<std::uint64_t>(conv);
  if (conv) return Bad("\"seq\" must be a positive integer");
  auto str = [&](std::string_view key, std::string_view& into) -> core::Status {
    const json::value* x = o->if_contains(key);
    if (x == nullptr || !x->is_string()) return Bad("\"" + std::string(key) + "\" must be a string");
    into = x->get_string();
    return core::Status::Ok();
  };
  std::vector<std::pair<std::string_view, std::string_view*>> fields = {
      {"type", &f.type}, {"recorded_at", &f.recorded_at}, {"namespace", &f.ns}, {"token_id", &f.token_id},
      {"actor", &f.actor}, {"prev_hash", &f.prev_hash}, {"hash", &f.hash}};
  core::Status s = str("type", f.type);
  if (!s.ok()) return s;
  if (f.type == "token.created") {
    fields.insert(fields.end(), {{"name", &f.name}, {"secret_digest", &f.secret_digest}, {"expires_at", &f.expires_at}});
  } else if (f.type == "token.revoked") {
    fields.push_back({"reason", &f.reason});
  } else if (f.type == "token.rotated") {
    fields.insert(fields.end(), {{"new_token_id", &f.new_token_id}, {"revoke_at", &f.revoke_at}});
  }
  for (auto& [key, into] : fields) {
    s = str(key, *into);
    if (!s.ok()) return s;
  }
  if (o->size() != fields.size() + 1) return Bad("the object has fields an event of its type does not");
  return f.Build();
}

core::Result<Event> EventFromCsvFields(const std::vector<std::string>& row) {
  // A row of the first format (kCsvHeaderV1) lacks the two rotation columns.
  std::vector<std::string> widened;
  if (row.size() == 12) {
    widened = row;
    widened.insert(widened.begin() + 10, 2, std::string());
  }
  const std::vector<std::string>& fields = row.size() == 12 ? widened : row;
  if (fields.size() != 14) return Bad("a row must have 14 fields, this one has " + std::to_string(row.size()));
  EventFields f;
  auto [p, ec] = std::from_chars(fields[0].data(), fields[0].data() + fields[0].size(), f.seq);
  if (ec != std::errc() || p != fields[0].data() + fields[0].size()) return Bad("\"seq\" must be a positive integer");
  f.type = fields[1];
  f.recorded_at = fields[2];
  f.ns = fields[3];
  f.token_id = fields[4];
  f.actor = fields[5];
  f.name = fields[6];
  f.secret_digest = fields[7];
  f.expires_at = fields[8];
  f.reason = fields[9];
  f.new_token_id = fields[10];
  f.revoke_at = fields[11];
  f.prev_hash = fields[12];
  f.hash = fields[13];
  bool created = f.type == "token.created", revoked = f.type == "token.revoked", rotated = f.type == "token.rotated";
  if (!created && (!f.name.empty() || !f.secret_digest.empty() || !f.expires_at.empty()))
    return Bad("name, secret_digest and expires_at must be empty for " + std::string(f.type));
  if (!revoked && !f.reason.empty()) return Bad("reason must be empty for " + std::string(f.type));
  if (!rotated && (!f.new_token_id.empty() || !f.revoke_at.empty()))
    return Bad("new_token_id and revoke_at must be empty for " + std::string(f.type));
  return f.Build();
}

core::Result<bool> CsvReader::Next(std::vector<std::string>& fields) {
  fields.clear();
  if (pos_ >= text_.size()) return false;
  record_line_ = line_;
  std::string field;
  bool quoted = false, was_quoted = false;
  while (pos_ < text_.size()) {
    char c = text_[pos_++];
    if (quoted) {
      if (c == '"') {
        if (pos_ < text_.size() && text_[pos_] == '"') {
          field.push_back('"');
          ++pos_;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line_;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"') {
      if (!field.empty() || was_quoted) return Bad("line " + std::to_string(line_) + ": a quote inside an unquoted field");
      quoted = was_quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (c == '\r' || c == '\n') {
      if (c == '\r' && pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
      ++line_;
      fields.push_back(std::move(field));
      return true;
    } else {
      if (was_quoted) return Bad("line " + std::to_string(line_) + ": text after a closing quote");
      field.push_back(c);
    }
  }
  if (quoted) return Bad("line " + std::to_string(record_line_) + ": a quoted field is not closed");
  fields.push_back(std::move(field));
  return true;
}

bool HashMatchesContent(const Event& e) {
  return core::Sha256Chained(e.prev_hash, EncodeCanonical(e.seq, e.recorded_at, e.actor, e.payload)) == e.hash;
}

}  // namespace tokenledger::events
