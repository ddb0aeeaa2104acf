// tokenctl: the command line. Online commands talk to a running tokenledgerd over HTTP;
// offline commands read a data dir directly (also while a server runs on it).
// Exit codes: 0 success, 1 a negative answer (invalid token, verify mismatch, a token not
// revoked), 2 usage, connection or server error.
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <tuple>

#include "core/digest.h"
#include "core/secret_file.h"
#include "core/signing.h"
#include "core/time_format.h"
#include "events/event_export.h"
#include "events/export_verifier.h"
#include "events/signed_head.h"
#include "events/storage.h"
#include "projections/ledger_verifier.h"
#include "projections/replay.h"
#include "projections/token_json.h"
#include "core/http_client.h"
#include "tools/offline_ledger.h"

namespace po = boost::program_options;
namespace json = boost::json;
using namespace tokenledger;

namespace {

constexpr int kOk = 0, kNegative = 1, kUsage = 2;

constexpr char kMainUsage[] =
    "Usage: tokenctl [global options] COMMAND [ARGS] [options]\n"
    "\n"
    "Online commands (against a running tokenledgerd):\n"
    "  create NS NAME [--expires-at T]   create a token; prints its secret once\n"
    "  list NS [--status S] [--limit N]  list tokens of a namespace, newest first\n"
    "  revoke NS ID... [--reason R]      revoke one or several tokens at once\n"
    "  validate TOKEN [--namespace NS]   check a token; exit 0 if active, 1 if not\n"
    "Offline commands (on a data dir, also while the server runs):\n"
    "  verify [--public-key KEY]         check the hash chain, the signed head and that the\n"
    "                                    projections equal a full replay; exit 1 on a mismatch\n"
    "  events [--after N] [--limit N]    print events as NDJSON\n"
    "  replay --as-of T|SEQ              print every namespace's tokens as of then\n"
    "  export --format jsonl|csv         export events (with the signed head line in JSONL)\n"
    "  public-key                        print the ledger's Ed25519 public key\n"
    "Offline, on an export file alone:\n"
    "  verify-export FILE --public-key KEY [--head HEAD.json]\n"
    "                                    check an export's chain and its signed head\n"
    "\n"
    "Run 'tokenctl COMMAND --help' for a command's options. Exit codes: 0 success,\n"
    "1 negative answer, 2 usage or connection error.\n"
    "\n"
    "Global options";

struct Globals {
  std::string server, admin_token_file, actor, data_dir, ca_file;
  bool json_output = false;
  tools::ProgressMode progress = tools::ProgressMode::kAuto;
};

int Fail(const std::string& message) {
  std::cerr << "tokenctl: " << message << "\n";
  return kUsage;
}

// Parses a command's own options and positionals; prints help and returns 0 when asked.
std::optional<int> ParseCommand(const std::vector<std::string>& args, po::options_description& desc,
                                const po::positional_options_description& positional, po::variables_map& vm,
                                const std::string& usage) {
  desc.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(args).options(desc).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << usage << "\n\n" << desc << "\n";
      return kOk;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "tokenctl: " << e.what() << "\n\n" << usage << "\n\n" << desc << "\n";
    return kUsage;
  }
  return std::nullopt;
}

class Online {
 public:
  explicit Online(const Globals& g) : globals_(g) {}

  // Connects and reads the admin token; returns an exit code on failure.
  std::optional<int> Init(bool need_admin) {
    auto client = core::HttpClient::Create(globals_.server, std::chrono::seconds(10), globals_.ca_file);
    if (!client.ok()) return Fail(client.status().message());
    client_ = std::move(client).value();
    if (!need_admin) return std::nullopt;
    std::string token;
    if (const char* env = std::getenv("TOKENLEDGER_ADMIN_TOKEN"); env != nullptr && *env != '\0') {
      token = env;
    } else {
      auto from_file = core::ReadSecretFile(globals_.admin_token_file);
      if (!from_file.ok())
        return Fail("admin token: " + from_file.status().message() +
                    " (use --admin-token-file or TOKENLEDGER_ADMIN_TOKEN)");
      token = std::move(from_file).value();
    }
    headers_.emplace_back("Authorization", "Bearer " + token);
    if (!globals_.actor.empty()) headers_.emplace_back("X-Actor", globals_.actor);
    return std::nullopt;
  }

  // Sends a request; on a transport error or an unexpected status prints and returns nullopt.
  std::optional<json::value> Call(std::string_view method, const std::string& target, const std::string& body,
                                  std::initializer_list<int> ok_statuses, int* status_out = nullptr) {
    auto res = client_->Request(method, target, body, headers_);
    if (!res.ok()) {
      std::cerr << "tokenctl: " << res.status().message() << "\n";
      return std::nullopt;
    }
    if (status_out) *status_out = res->status;
    boost::system::error_code ec;
    json::value v = json::parse(res->body, ec);
    bool expected = false;
    for (int s : ok_statuses) expected = expected || s == res->status;
    if (!expected || ec) {
      std::string message = res->body;
      if (!ec && v.is_object() && v.as_object().contains("error")) {
        const auto& err = v.at("error");
        message = json::value_to<std::string>(err.at("code")) + ": " + json::value_to<std::string>(err.at("message"));
      }
      std::cerr << "tokenctl: server answered " << res->status << ": " << message << "\n";
      return std::nullopt;
    }
    return v;
  }

 private:
  const Globals& globals_;
  std::unique_ptr<core::HttpClient> client_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

std::string Str(const json::value& o, std::string_view key) {
  const json::value* v = o.as_object().if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string("-");
}

int Create(const Globals& g, const std::vector<std::string>& args) {
  std::string ns, name, expires_at;
  po::options_description desc("create options");
  desc.add_options()("namespace", po::value(&ns)->required(), "namespace (positional)")(
      "name", po::value(&name)->required(), "token name (positional)")(
      "expires-at", po::value(&expires_at), "RFC 3339 expiry, at most the server's maximum lifetime");
  po::positional_options_description pos;
  pos.add("namespace", 1).add("name", 1);
  po::variables_map vm;
  if (auto rc = ParseCommand(args, desc, pos, vm, "Usage: tokenctl create NS NAME [--expires-at T]")) return *rc;
  Online online(g);
  if (auto rc = online.Init(true)) return *rc;
  json::object body{{"name", name}};
  if (!expires_at.empty()) body["expires_at"] = expires_at;
  auto v = online.Call("POST", "/v1/namespaces/" + core::EncodePathSegment(ns) + "/tokens", json::serialize(body), {201});
  if (!v) return kUsage;
  if (g.json_output) {
    std::cout << json::serialize(*v) << "\n";
  } else {
    std::cout << "id:         " << Str(*v, "id") << "\n"
              << "namespace:  " << Str(*v, "namespace") << "\n"
              << "expires_at: " << Str(*v, "expires_at") << "\n"
              << "token:      " << Str(*v, "token") << "\n"
              << "Store the token now: it is shown once and cannot be retrieved again.\n";
  }
  return kOk;
}

int List(const Globals& g, const std::vector<std::string>& args) {
  std::string ns, status = "all";
  size_t limit = 0;
  po::options_description desc("list options");
  desc.add_options()("namespace", po::value(&ns)->required(), "namespace (positional)")(
      "status", po::value(&status)->default_value("all"), "active, revoked, expired or all")(
      "limit", po::value(&limit), "show at most N tokens (default: all)");
  po::positional_options_description pos;
  pos.add("namespace", 1);
  po::variables_map vm;
  if (auto rc = ParseCommand(args, desc, pos, vm, "Usage: tokenctl list NS [--status S] [--limit N]")) return *rc;
  Online online(g);
  if (auto rc = online.Init(true)) return *rc;
  json::array all;
  std::string cursor;
  for (;;) {
    size_t page = limit == 0 ? 1000 : std::min<size_t>(1000, limit - all.size());
    std::string target = "/v1/namespaces/" + core::EncodePathSegment(ns) + "/tokens?status=" + status +
                         "&limit=" + std::to_string(page) + (cursor.empty() ? "" : "&cursor=" + cursor);
    auto v = online.Call("GET", target, "", {200});
    if (!v) return kUsage;
    for (auto& t : v->at("tokens").as_array()) all.push_back(t);
    const json::value& next = v->at("next_cursor");
    if (next.is_null() || (limit != 0 && all.size() >= limit)) break;
    cursor = json::value_to<std::string>(next);
  }
  if (g.json_output) {
    std::cout << json::serialize(all) << "\n";
    return kOk;
  }
  std::printf("%-24s %-8s %-20s %-20s %s\n", "ID", "STATUS", "CREATED", "EXPIRES", "NAME");
  for (const auto& t : all)
    std::printf("%-24s %-8s %-20s %-20s %s\n", Str(t, "id").c_str(), Str(t, "status").c_str(),
                Str(t, "created_at").c_str(), Str(t, "expires_at").c_str(), Str(t, "name").c_str());
  return kOk;
}

int Revoke(const Globals& g, const std::vector<std::string>& args) {
  std::string ns, reason;
  std::vector<std::string> ids;
  po::options_description desc("revoke options");
  desc.add_options()("namespace", po::value(&ns)->required(), "namespace (positional)")(
      "id", po::value(&ids)->required()->multitoken(), "token ids (positional, one or more)")(
      "reason", po::value(&reason), "why; recorded in the revocation events");
  po::positional_options_description pos;
  pos.add("namespace", 1).add("id", -1);
  po::variables_map vm;
  if (auto rc = ParseCommand(args, desc, pos, vm, "Usage: tokenctl revoke NS ID... [--reason R]\n"
                                                  "All ids are revoked in one atomic append. Exit 1 if any was not revoked."))
    return *rc;
  Online online(g);
  if (auto rc = online.Init(true)) return *rc;
  json::array id_array;
  for (const auto& id : ids) id_array.emplace_back(id);
  json::object body{{"ids", std::move(id_array)}};
  if (!reason.empty()) body["reason"] = reason;
  auto v = online.Call("POST", "/v1/namespaces/" + core::EncodePathSegment(ns) + "/tokens/revoke",
                       json::serialize(body), {200});
  if (!v) return kUsage;
  int rc = kOk;
  if (g.json_output) std::cout << json::serialize(*v) << "\n";
  for (const auto& r : v->at("results").as_array()) {
    if (!g.json_output) std::cout << Str(r, "id") << " " << Str(r, "result") << "\n";
    if (Str(r, "result") != "revoked") rc = kNegative;
  }
  return rc;
}

int Validate(const Globals& g, const std::vector<std::string>& args) {
  std::string token, ns;
  po::options_description desc("validate options");
  desc.add_options()("token", po::value(&token)->required(), "the token secret (positional; '-' reads stdin)")(
      "namespace", po::value(&ns), "require the token to belong to this namespace");
  po::positional_options_description pos;
  pos.add("token", 1);
  po::variables_map vm;
  if (auto rc = ParseCommand(args, desc, pos, vm, "Usage: tokenctl validate TOKEN [--namespace NS]\n"
                                                  "Exit 0 if the token is active, 1 if not."))
    return *rc;
  if (token == "-") {
    std::getline(std::cin, token);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  }
  Online online(g);
  if (auto rc = online.Init(false)) return *rc;
  json::object body{{"token", token}};
  if (!ns.empty()) body["namespace"] = ns;
  auto v = online.Call("POST", "/v1/validate", json::serialize(body), {200});
  if (!v) return kUsage;
  bool active = v->at("active").as_bool();
  if (g.json_output) {
    std::cout << json::serialize(*v) << "\n";
  } else if (active) {
    std::cout << "active: " << Str(*v, "token_id") << " namespace " << Str(*v, "namespace") << " expires "
              << Str(*v, "expires_at") << "\n";
  } else {
    std::cout << "inactive\n";
  }
  return active ? kOk : kNegative;
}

// A public key given as hex, PEM, or a file holding either.
core::Result<core::PublicKey> ReadPublicKey(const std::string& text) {
  if (std::filesystem::is_regular_file(text)) {
    std::ifstream in(text);
    std::stringstream content;
    content << in.rdbuf();
    auto key = core::ParsePublicKey(content.str());
    if (!key.ok()) return core::Status::InvalidArgument(text + ": " + key.status().message());
    return key;
  }
  return core::ParsePublicKey(text);
}

std::string SigningKeyPath(const Globals& g, const std::string& given) {
  return given.empty() ? g.data_dir + "/signing.key" : given;
}

// Opens the data dir offline; null (after saying why) when it cannot.
std::unique_ptr<tools::OfflineLedger> OpenOffline(const Globals& g) {
  auto ledger = tools::OfflineLedger::Open(g.data_dir);
  if (!ledger.ok()) {
    Fail(ledger.status().message());
    return nullptr;
  }
  return std::move(ledger).value();
}

int Verify(const Globals& g, const std::vector<std::string>& args) {
  std::string public_key;
  po::options_description desc("verify options");
  desc.add_options()("public-key", po::value(&public_key),
                     "the key the saved signed head must be signed with: 64 hex characters, a PEM public key, "
                     "or a file holding either (default: the key the head names, which only proves it was signed)");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc = ParseCommand(args, desc, pos, vm, "Usage: tokenctl --data-dir DIR verify [--public-key KEY]\n"
                                                  "Checks every data file's checksums, that seqs are gapless, every hash\n"
                                                  "links, every event decodes, recorded_at never decreases, the saved\n"
                                                  "signed head is validly signed and names an event of the log, and the\n"
                                                  "persisted projection equals a full replay. Exit 1 on any mismatch.\n"
                                                  "Safe while tokenledgerd runs on DIR."))
    return *rc;
  projections::VerifyOptions options;
  if (!public_key.empty()) {
    auto key = ReadPublicKey(public_key);
    if (!key.ok()) return Fail("--public-key: " + key.status().message());
    options.trusted_key = *key;
  }
  auto ledger = OpenOffline(g);
  if (!ledger) return kUsage;
  tools::Progress progress("verify", g.progress);
  options.progress = [&progress](std::uint64_t n) { progress.Update(n); };
  auto report = projections::VerifyLedger(ledger->storage(), options);
  if (!report.ok()) return Fail(report.status().message());
  progress.Done(report->events);
  std::cout << "events:      " << report->events << "\n"
            << "head seq:    " << report->head_seq << "\n"
            << "head hash:   " << core::ToHex(report->head_hash) << "\n"
            << "tokens:      " << report->tokens << "\n"
            << "projection:  checkpoint " << report->checkpoint << "\n";
  if (report->signed_head)
    std::cout << "signed head: seq " << report->signed_head->seq << " signed at "
              << core::FormatRfc3339(report->signed_head->signed_at) << " by "
              << core::HexEncode(std::string_view(reinterpret_cast<const char*>(report->signed_head->public_key.data()), 32))
              << "\n";
  else
    std::cout << "signed head: none saved yet\n";
  for (const auto& p : report->problems) std::cout << "MISMATCH: " << p << "\n";
  std::cout << (report->ok() ? "verified: chain intact, signed head valid, projections equal a full replay\n"
                             : "verify FAILED\n");
  return report->ok() ? kOk : kNegative;
}

// Writes an exporter's pieces to out.
int WriteExport(events::EventExporter& exporter, std::ostream& out, const std::string& what, tools::ProgressMode mode) {
  tools::Progress progress(what, mode);
  std::string piece;
  for (;;) {
    piece.clear();
    auto more = exporter.Next(piece, 256 * 1024);
    if (!more.ok()) return Fail(more.status().message());
    out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
    progress.Update(exporter.events_scanned());
    if (!*more) break;
  }
  out.flush();
  if (!out) return Fail("writing the output failed");
  progress.Done(exporter.events_scanned());
  return kOk;
}

int Events(const Globals& g, const std::vector<std::string>& args) {
  std::uint64_t after = 0, limit = 0;
  std::string ns;
  po::options_description desc("events options");
  desc.add_options()("after", po::value(&after), "print events after this seq (default 0: from the first)")(
      "limit", po::value(&limit), "print at most N events (default: all)")(
      "namespace", po::value(&ns), "only this namespace's events");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc = ParseCommand(args, desc, pos, vm, "Usage: tokenctl --data-dir DIR events [--after N] [--limit N] [--namespace NS]\n"
                                                  "Prints events as NDJSON, one per line, as GET /v1/events does."))
    return *rc;
  auto ledger = OpenOffline(g);
  if (!ledger) return kUsage;
  const events::EventStore& store = ledger->store();
  events::ExportRange range{after + 1, store.head_seq(), std::nullopt};
  if (!ns.empty()) range.namespace_id = ns;
  if (limit > 0) range.limit = limit;
  events::EventExporter exporter(store, events::ExportFormat::kNdjson, range);
  return WriteExport(exporter, std::cout, "events", g.progress);
}

int Replay(const Globals& g, const std::vector<std::string>& args) {
  std::string as_of_text, ns;
  po::options_description desc("replay options");
  desc.add_options()("as-of", po::value(&as_of_text)->required(), "an RFC 3339 time or a seq")(
      "namespace", po::value(&ns), "print only this namespace");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc = ParseCommand(args, desc, pos, vm, "Usage: tokenctl --data-dir DIR replay --as-of T|SEQ [--namespace NS] [--json]\n"
                                                  "Replays the log up to the last event recorded at or before T (or up to\n"
                                                  "SEQ) and prints every namespace's tokens as they stood then, newest\n"
                                                  "first; status is judged at T (at SEQ's recorded_at)."))
    return *rc;
  auto point = events::ParseLedgerPoint(as_of_text);
  if (!point.ok()) return Fail("--as-of: " + point.status().message());
  auto ledger = OpenOffline(g);
  if (!ledger) return kUsage;
  const events::EventStore& store = ledger->store();
  auto as_of = projections::ResolveAsOf(store, *point, core::SystemClock().Now());
  if (!as_of.ok()) return Fail("--as-of: " + as_of.status().message());
  projections::TokenTable table;
  tools::Progress progress("replay", g.progress);
  auto applied = projections::Replay(store, 1, as_of->seq, table, [&progress](std::uint64_t n) { progress.Update(n); });
  if (!applied.ok()) return Fail(applied.status().message());
  progress.Done(*applied);
  // Namespaces in order; each one's tokens newest first, judged at the as-of time.
  std::map<std::string_view, std::vector<const projections::TokenRecord*>> by_namespace;
  for (const projections::TokenRecord& record : table.records())
    if (ns.empty() || record.namespace_id == ns) by_namespace[record.namespace_id].push_back(&record);
  std::cerr << "replayed " << *applied << " events: the ledger as of seq " << as_of->seq << ", "
            << core::FormatRfc3339(as_of->time) << "\n";
  for (auto& [name, records] : by_namespace) {
    std::sort(records.begin(), records.end(),
              [](const auto* a, const auto* b) { return a->created_seq > b->created_seq; });
    if (g.json_output) {
      json::array tokens;
      for (const auto* r : records) tokens.push_back(projections::TokenJson(*r, as_of->time, projections::TokenView::kAsOf));
      std::cout << json::serialize(json::object{{"namespace", name}, {"as_of_seq", as_of->seq},
                                                {"as_of", core::FormatRfc3339(as_of->time)}, {"tokens", std::move(tokens)}})
                << "\n";
      continue;
    }
    std::cout << "namespace " << name << " (" << records.size() << " tokens)\n";
    std::printf("  %-24s %-8s %-20s %-20s %s\n", "ID", "STATUS", "CREATED", "EXPIRES", "NAME");
    for (const auto* r : records)
      std::printf("  %-24s %-8s %-20s %-20s %s\n", r->id.c_str(),
                  std::string(events::TokenStatusName(projections::StatusAt(*r, as_of->time))).c_str(),
                  core::FormatRfc3339(r->created_at).c_str(), core::FormatRfc3339(r->expires_at).c_str(), r->name.c_str());
  }
  std::fflush(stdout);
  return kOk;
}

int Export(const Globals& g, const std::vector<std::string>& args) {
  std::string format_text, ns, from_text, to_text, output, signing_key_file;
  po::options_description desc("export options");
  desc.add_options()("format", po::value(&format_text)->default_value("jsonl"), "jsonl or csv")(
      "namespace", po::value(&ns), "only this namespace's events (such an export cannot prove completeness)")(
      "from", po::value(&from_text), "first event: an RFC 3339 time (recorded at or after) or a seq")(
      "to", po::value(&to_text), "last event: an RFC 3339 time (recorded at or before) or a seq")(
      "output,o", po::value(&output), "write to this file (default: stdout)")(
      "signing-key-file", po::value(&signing_key_file), "key that signs the last line (default DATA_DIR/signing.key)");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc = ParseCommand(args, desc, pos, vm, "Usage: tokenctl --data-dir DIR export [--format jsonl|csv] [--from T] [--to T] [-o FILE]\n"
                                                  "Exports events as GET /v1/export does. JSONL ends with the signed head of\n"
                                                  "the last event exported (when the signing key is readable); CSV needs a\n"
                                                  "separate head (GET /v1/ledger/head?seq=N) to be verified."))
    return *rc;
  auto format = events::ParseExportFormat(format_text);
  if (!format.ok()) return Fail("--format: " + format.status().message());
  std::optional<events::LedgerPoint> from, to;
  for (auto [text, point, name] : {std::tuple{&from_text, &from, "--from"}, std::tuple{&to_text, &to, "--to"}}) {
    if (text->empty()) continue;
    auto parsed = events::ParseLedgerPoint(*text);
    if (!parsed.ok()) return Fail(std::string(name) + ": " + parsed.status().message());
    *point = *parsed;
  }
  auto ledger = OpenOffline(g);
  if (!ledger) return kUsage;
  const events::EventStore& store = ledger->store();
  auto range = events::ResolveRange(store, store.head_seq(), from, to);
  if (!range.ok()) return Fail(range.status().message());
  if (!ns.empty()) range->namespace_id = ns;
  events::EventExporter::SignFn sign;
  std::optional<core::SigningKey> key;
  if (*format == events::ExportFormat::kJsonl) {
    auto loaded = core::SigningKey::Load(SigningKeyPath(g, signing_key_file));
    if (loaded.ok()) {
      key = *loaded;
      core::SystemClock clock;
      sign = [&key, clock](std::uint64_t seq, const core::Sha256Digest& hash) -> core::Result<events::SignedHead> {
        return events::SignHead(*key, seq, hash, clock.Now());
      };
    } else {
      std::cerr << "tokenctl: warning: " << loaded.status().message()
                << "; the export gets no signed head line (verify it with --head from GET /v1/ledger/head?seq=N)\n";
    }
  }
  events::EventExporter exporter(store, *format, *range, sign);
  if (output.empty()) return WriteExport(exporter, std::cout, "export", g.progress);
  std::ofstream file(output, std::ios::binary | std::ios::trunc);
  if (!file) return Fail("cannot write " + output);
  int rc = WriteExport(exporter, file, "export", g.progress);
  if (rc == kOk) std::cerr << "exported " << exporter.events_written() << " events to " << output << "\n";
  return rc;
}

int PublicKey(const Globals& g, const std::vector<std::string>& args) {
  std::string signing_key_file;
  bool pem = false;
  po::options_description desc("public-key options");
  desc.add_options()("signing-key-file", po::value(&signing_key_file), "the private key (default DATA_DIR/signing.key)")(
      "pem", po::bool_switch(&pem), "print a PEM public key (for openssl) instead of hex");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc = ParseCommand(args, desc, pos, vm, "Usage: tokenctl --data-dir DIR public-key [--pem]\n"
                                                  "Prints the Ed25519 public key that checks the ledger's signed heads."))
    return *rc;
  auto key = core::SigningKey::Load(SigningKeyPath(g, signing_key_file));
  if (!key.ok()) return Fail(key.status().message());
  const core::PublicKey& public_key = key->public_key();
  if (pem) std::cout << core::PublicKeyPem(public_key);
  else std::cout << core::HexEncode(std::string_view(reinterpret_cast<const char*>(public_key.data()), 32)) << "\n";
  return kOk;
}

int VerifyExport(const Globals& g, const std::vector<std::string>& args) {
  std::string file, public_key, head_file;
  po::options_description desc("verify-export options");
  desc.add_options()("file", po::value(&file)->required(), "the export (positional; '-' reads stdin)")(
      "public-key", po::value(&public_key)->required(), "the ledger's public key: 64 hex characters, a PEM public key, or a file holding either")(
      "head", po::value(&head_file), "a signed head saved from GET /v1/ledger/head[?seq=N]: the export must hold its seq with the same hash (at its end: the head it ends at, as CSV needs)");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  if (auto rc = ParseCommand(args, desc, pos, vm, "Usage: tokenctl verify-export FILE --public-key KEY [--head HEAD.json]\n"
                                                  "Checks, offline, that every event's hash matches its content, seqs follow\n"
                                                  "each other, each prev_hash is the previous hash, and the export ends at a\n"
                                                  "head signed by KEY. Exit 1 naming the first bad seq."))
    return *rc;
  auto key = ReadPublicKey(public_key);
  if (!key.ok()) return Fail("--public-key: " + key.status().message());
  events::ExportVerifyOptions options;
  options.trusted_key = *key;
  if (!head_file.empty()) {
    std::ifstream in(head_file);
    if (!in) return Fail("cannot read " + head_file);
    std::stringstream content;
    content << in.rdbuf();
    auto head = events::ParseSignedHeadJson(content.str());
    if (!head.ok()) return Fail(head_file + ": " + head.status().message());
    options.head = *head;
  }
  tools::Progress progress("verify-export", g.progress);
  options.progress = [&progress](std::uint64_t n) { progress.Update(n); };
  std::ifstream in_file;
  if (file != "-") {
    in_file.open(file, std::ios::binary);
    if (!in_file) return Fail("cannot read " + file);
  }
  auto report = events::VerifyExport(file == "-" ? std::cin : in_file, options);
  if (!report.ok()) return Fail(report.status().message());
  progress.Done(report->events);
  if (!report->ok()) {
    std::cout << "verify-export FAILED: " << report->problem << "\n";
    return kNegative;
  }
  std::cout << "events:      " << report->events << " (seq " << report->first_seq << "-" << report->last_seq << ")\n"
            << "last hash:   " << core::ToHex(report->last_hash) << "\n"
            << "signed head: seq " << report->head->seq << " signed at " << core::FormatRfc3339(report->head->signed_at)
            << "\n";
  if (!report->starts_at_genesis)
    std::cout << "note:        the export starts at seq " << report->first_seq
              << "; its first prev_hash is taken as given (export from seq 1 to prove the whole log)\n";
  std::cout << "verified: every hash matches, the chain is unbroken, and it ends at a head signed by the key\n";
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  Globals g;
  std::string command, progress_text;
  po::options_description global(kMainUsage);
  global.add_options()("help,h", "show this help")(
      "server", po::value(&g.server)->default_value("http://127.0.0.1:8080"), "tokenledgerd URL, http:// or https:// (online commands)")(
      "cacert", po::value(&g.ca_file), "PEM CA certificate to trust for an https:// server (besides the system's)")(
      "admin-token-file", po::value(&g.admin_token_file)->default_value("./data/admin.token"),
      "file holding the admin token (or set TOKENLEDGER_ADMIN_TOKEN)")(
      "actor", po::value(&g.actor), "who is acting; recorded in the events (X-Actor)")(
      "data-dir", po::value(&g.data_dir)->default_value("./data"), "data dir (offline commands)")(
      "json", po::bool_switch(&g.json_output), "print the server's JSON instead of text")(
      "progress", po::value(&progress_text)->default_value("auto"),
      "progress lines (events/s) of long offline commands on stderr: auto (when stderr is a terminal), always, never");
  po::options_description hidden;
  hidden.add_options()("command", po::value(&command))("args", po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(global).add(hidden);
  po::positional_options_description pos;
  pos.add("command", 1).add("args", -1);
  std::vector<std::string> rest;
  try {
    po::parsed_options parsed = po::command_line_parser(argc, argv).options(all).positional(pos).allow_unregistered().run();
    po::variables_map vm;
    po::store(parsed, vm);
    po::notify(vm);
    rest = po::collect_unrecognized(parsed.options, po::include_positional);
    if (!rest.empty() && rest.front() == command) rest.erase(rest.begin());
    if (command.empty()) {
      std::cout << global << "\n";
      return vm.count("help") ? kOk : kUsage;
    }
    if (vm.count("help")) rest.push_back("--help");
    auto progress = tools::ParseProgressMode(progress_text);
    if (!progress.ok()) return Fail(progress.status().message());
    g.progress = *progress;
  } catch (const po::error& e) {
    return Fail(std::string(e.what()) + " (see tokenctl --help)");
  }
  if (command == "create") return Create(g, rest);
  if (command == "list") return List(g, rest);
  if (command == "revoke") return Revoke(g, rest);
  if (command == "validate") return Validate(g, rest);
  if (command == "verify") return Verify(g, rest);
  if (command == "events") return Events(g, rest);
  if (command == "replay") return Replay(g, rest);
  if (command == "export") return Export(g, rest);
  if (command == "public-key") return PublicKey(g, rest);
  if (command == "verify-export") return VerifyExport(g, rest);
  return Fail("unknown command '" + command + "' (see tokenctl --help)");
}
