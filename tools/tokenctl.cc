// tokenctl: the command line. Online commands talk to a running tokenledgerd over HTTP;
// offline commands read a data dir directly (also while a server runs on it).
// Exit codes: 0 success, 1 a negative answer (invalid token, verify mismatch, a token not
// revoked), 2 usage, connection or server error.
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "core/digest.h"
#include "core/secret_file.h"
#include "events/storage.h"
#include "projections/ledger_verifier.h"
#include "tools/http_client.h"

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
    "  verify                            check the hash chain and that the projections\n"
    "                                    equal a full replay; exit 1 on any mismatch\n"
    "\n"
    "Run 'tokenctl COMMAND --help' for a command's options. Exit codes: 0 success,\n"
    "1 negative answer, 2 usage or connection error.\n"
    "\n"
    "Global options";

struct Globals {
  std::string server, admin_token_file, actor, data_dir, ca_file;
  bool json_output = false;
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
    auto client = tools::HttpClient::Create(globals_.server, std::chrono::seconds(10), globals_.ca_file);
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
  std::unique_ptr<tools::HttpClient> client_;
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
  auto v = online.Call("POST", "/v1/namespaces/" + tools::EncodePathSegment(ns) + "/tokens", json::serialize(body), {201});
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
    std::string target = "/v1/namespaces/" + tools::EncodePathSegment(ns) + "/tokens?status=" + status +
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
  auto v = online.Call("POST", "/v1/namespaces/" + tools::EncodePathSegment(ns) + "/tokens/revoke",
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

int Verify(const Globals& g, const std::vector<std::string>& args) {
  po::options_description desc("verify options");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc = ParseCommand(args, desc, pos, vm, "Usage: tokenctl --data-dir DIR verify\n"
                                                  "Checks seqs are gapless, every hash links, every event decodes,\n"
                                                  "and the persisted projection equals a full replay. Exit 1 on any\n"
                                                  "mismatch. Safe while tokenledgerd runs on DIR."))
    return *rc;
  if (!std::filesystem::exists(g.data_dir + "/CURRENT")) return Fail("no ledger in data dir " + g.data_dir);
  std::string secondary = (std::filesystem::temp_directory_path() / ("tokenctl-verify-" + std::to_string(::getpid()))).string();
  int rc = kUsage;
  {
    auto storage = events::Storage::OpenSecondary(g.data_dir, secondary);
    if (!storage.ok()) {
      std::filesystem::remove_all(secondary);
      return Fail(storage.status().message());
    }
    auto report = projections::VerifyLedger(**storage);
    if (!report.ok()) {
      rc = Fail(report.status().message());
    } else {
      std::cout << "events:      " << report->events << "\n"
                << "head seq:    " << report->head_seq << "\n"
                << "head hash:   " << core::ToHex(report->head_hash) << "\n"
                << "tokens:      " << report->tokens << "\n"
                << "projection:  checkpoint " << report->checkpoint << "\n";
      for (const auto& p : report->problems) std::cout << "MISMATCH: " << p << "\n";
      std::cout << (report->ok() ? "verified: chain intact, projections equal a full replay\n" : "verify FAILED\n");
      rc = report->ok() ? kOk : kNegative;
    }
  }
  std::filesystem::remove_all(secondary);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  Globals g;
  std::string command;
  po::options_description global(kMainUsage);
  global.add_options()("help,h", "show this help")(
      "server", po::value(&g.server)->default_value("http://127.0.0.1:8080"), "tokenledgerd URL, http:// or https:// (online commands)")(
      "cacert", po::value(&g.ca_file), "PEM CA certificate to trust for an https:// server (besides the system's)")(
      "admin-token-file", po::value(&g.admin_token_file)->default_value("./data/admin.token"),
      "file holding the admin token (or set TOKENLEDGER_ADMIN_TOKEN)")(
      "actor", po::value(&g.actor), "who is acting; recorded in the events (X-Actor)")(
      "data-dir", po::value(&g.data_dir)->default_value("./data"), "data dir (offline commands)")(
      "json", po::bool_switch(&g.json_output), "print the server's JSON instead of text");
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
  } catch (const po::error& e) {
    return Fail(std::string(e.what()) + " (see tokenctl --help)");
  }
  if (command == "create") return Create(g, rest);
  if (command == "list") return List(g, rest);
  if (command == "revoke") return Revoke(g, rest);
  if (command == "validate") return Validate(g, rest);
  if (command == "verify") return Verify(g, rest);
  return Fail("unknown command '" + command + "' (see tokenctl --help)");
}
