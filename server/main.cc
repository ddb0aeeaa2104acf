// tokenledgerd: wires flags -> ledger (RocksDB + projections) -> router -> network front end.
#include <sys/resource.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "core/log.h"
#include "core/secret_file.h"
#include "core/signing.h"
#include "projections/ledger.h"
#include "server/access_control.h"
#include "server/admin_token.h"
#include "server/front_end.h"
#include "server/metrics.h"
#include "server/router.h"
#include "server/webhooks.h"

namespace po = boost::program_options;
using namespace tokenledger;

namespace {

constexpr char kUsage[] =
    "Usage: tokenledgerd [options]\n"
    "\n"
    "Serves the tokenledger HTTP API: Personal Access Tokens kept as an event-sourced,\n"
    "hash-chained ledger in RocksDB. Prints 'tokenledgerd listening on http://HOST:PORT'\n"
    "(https with --tls-cert/--tls-key) once it accepts requests, and then, with --resp-listen,\n"
    "'tokenledgerd resp listening on HOST:PORT'. SIGINT/SIGTERM drain in-flight requests and\n"
    "exit 0. Exit 1: the data dir or a listen address is unusable; 2: bad flags.\n"
    "\n"
    "Options";

// Splits "HOST:PORT" (HOST may be "[::1]").
bool SplitListen(const std::string& listen, std::string& host, std::uint16_t& port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) return false;
  host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  try {
    size_t used = 0;
    unsigned long p = std::stoul(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1 || p > 65535) return false;
    port = static_cast<std::uint16_t>(p);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

// Each connection is a file descriptor; RocksDB and the listeners need a few hundred more. The
// soft limit (often 1024) is raised toward the hard one so --max-connections can be reached.
void RaiseOpenFilesLimit(size_t max_connections) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  rlim_t wanted = static_cast<rlim_t>(max_connections) + 1024;
  if (limit.rlim_cur >= wanted) return;
  rlim_t raised = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
  if (raised > limit.rlim_cur) {
    limit.rlim_cur = raised;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (raised < wanted)
    core::Log(core::LogLevel::kWarn, "open-files limit " + std::to_string(raised) + " is below --max-connections + 1024; "
                                     "connections beyond it fail at accept (raise the hard limit: ulimit -Hn)");
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir, listen, admin_token_file, log_level, tls_cert, tls_key, validator_token_file, resp_listen,
      signing_key_file, webhook_secret_file, webhook_ca_file;
  std::vector<std::string> webhook_urls;
  int max_lifetime_days = 0, threads = 0, webhook_timeout = 0;
  size_t max_write_queue = 0, max_connections = 0, max_body_bytes = 0, max_header_bytes = 0;
  int read_timeout = 0, write_timeout = 0;
  bool skip_data_file_check = false;
  po::options_description options(kUsage);
  options.add_options()
      ("help,h", "show this help and exit")
      ("data-dir", po::value(&data_dir)->default_value("./data"), "RocksDB data directory (created if missing)")
      ("listen", po::value(&listen)->default_value("127.0.0.1:8080"), "HOST:PORT to serve on; port 0 picks a free port")
      ("admin-token-file", po::value(&admin_token_file), "file holding the admin bearer token; created with mode 0600 and a fresh secret if missing (default DATA_DIR/admin.token)")
      ("signing-key-file", po::value(&signing_key_file), "Ed25519 private key (PEM, PKCS#8) that signs the ledger head for offline verification; created with mode 0600 if missing (default DATA_DIR/signing.key)")
      ("max-lifetime-days", po::value(&max_lifetime_days)->default_value(projections::kDefaultMaxLifetimeDays), "longest token lifetime in days, 1-366; never more than one calendar year")
      ("max-write-queue", po::value(&max_write_queue)->default_value(projections::kDefaultMaxQueuedCommands), "write requests that may wait for the ledger's writer; beyond this, writes answer 503 overloaded with Retry-After instead of queueing (1-1000000)")
      ("max-connections", po::value(&max_connections)->default_value(16384), "open client connections, HTTP and RESP together; one more is closed at accept (1-1000000; the open-files limit is raised to fit when the hard limit allows)")
      ("max-body-bytes", po::value(&max_body_bytes)->default_value(64 * 1024), "largest request body; larger ones are answered 413 and the connection closed (1024-16777216)")
      ("max-header-bytes", po::value(&max_header_bytes)->default_value(16 * 1024), "largest request line plus headers; larger ones are answered 431 and the connection closed (1024-1048576)")
      ("read-timeout", po::value(&read_timeout)->default_value(30), "seconds a client has to send a whole request, and that an idle keep-alive or RESP connection stays open (1-3600)")
      ("write-timeout", po::value(&write_timeout)->default_value(30), "seconds a client has to take a whole response (each piece of a streamed one), and to finish a TLS handshake (1-3600)")
      ("skip-data-file-check", po::bool_switch(&skip_data_file_check), "do not check every data file's checksums at start (saves one read of the data, ~0.1 s per million events; corruption is then found only when read)")
      ("threads", po::value(&threads)->default_value(std::max(2u, std::thread::hardware_concurrency())), "I/O threads")
      ("log-level", po::value(&log_level)->default_value("info"), "debug, info, warn or error")
      ("tls-cert", po::value(&tls_cert), "PEM certificate (chain) file: serve HTTPS instead of HTTP (needs --tls-key)")
      ("tls-key", po::value(&tls_key), "PEM private key file for --tls-cert")
      ("validator-token-file", po::value(&validator_token_file), "file holding a secret the validation endpoints then require: X-Validator-Token or Authorization: Bearer on /v1/validate and /v1/introspect, X-Validator-Token on /v1/auth, AUTH on the RESP port (default: they are open)")
      ("resp-listen", po::value(&resp_listen), "HOST:PORT for the Redis-protocol (RESP2) validation port: PING, VALIDATE, AUTH, QUIT (default: off)")
      ("webhook-url", po::value(&webhook_urls)->composing(), "http(s) URL to POST a signed JSON notification to when a token is revoked, expires, or enters 30, 7 or 1 day(s) before expiry; retried with backoff until it answers 2xx; give it again for more receivers (default: none)")
      ("webhook-secret-file", po::value(&webhook_secret_file), "file holding the key of the webhooks' HMAC-SHA256 signature (X-Tokenledger-Signature); created with mode 0600 and a fresh secret if missing (default DATA_DIR/webhook.secret)")
      ("webhook-ca-file", po::value(&webhook_ca_file), "PEM CA certificates to trust for https webhook receivers, besides the system's")
      ("webhook-timeout", po::value(&webhook_timeout)->default_value(10), "seconds each webhook attempt may take: connect, send and answer (1-300)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "tokenledgerd: " << e.what() << "\n\n" << options << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << options << "\n";
    return 0;
  }
  auto level = core::ParseLogLevel(log_level);
  if (!level.ok()) {
    std::cerr << "tokenledgerd: --log-level: " << level.status().message() << "\n";
    return 2;
  }
  core::SetLogLevel(*level);
  if (tls_cert.empty() != tls_key.empty()) {
    std::cerr << "tokenledgerd: --tls-cert and --tls-key must be given together\n";
    return 2;
  }
  if (max_write_queue < 1 || max_write_queue > 1000000) {
    std::cerr << "tokenledgerd: --max-write-queue must be 1-1000000\n";
    return 2;
  }
  if (max_connections < 1 || max_connections > 1000000) {
    std::cerr << "tokenledgerd: --max-connections must be 1-1000000\n";
    return 2;
  }
  if (webhook_timeout < 1 || webhook_timeout > 300) {
    std::cerr << "tokenledgerd: --webhook-timeout must be 1-300\n";
    return 2;
  }
  for (const std::string& url : webhook_urls) {
    if (auto parsed = server::ParseWebhookUrl(url); !parsed.ok()) {
      std::cerr << "tokenledgerd: " << parsed.status().message() << "\n";
      return 2;
    }
  }
  if (max_body_bytes < 1024 || max_body_bytes > 16 * 1024 * 1024) {
    std::cerr << "tokenledgerd: --max-body-bytes must be 1024-16777216\n";
    return 2;
  }
  if (max_header_bytes < 1024 || max_header_bytes > 1024 * 1024) {
    std::cerr << "tokenledgerd: --max-header-bytes must be 1024-1048576\n";
    return 2;
  }
  if (read_timeout < 1 || read_timeout > 3600 || write_timeout < 1 || write_timeout > 3600) {
    std::cerr << "tokenledgerd: --read-timeout and --write-timeout must be 1-3600 seconds\n";
    return 2;
  }
  if (threads < 1 || threads > 256) {
    std::cerr << "tokenledgerd: --threads must be 1-256\n";
    return 2;
  }
  server::FrontEndOptions front_options;
  front_options.threads = threads;
  front_options.tls_cert_file = tls_cert;
  front_options.tls_key_file = tls_key;
  front_options.max_connections = max_connections;
  front_options.body_limit = max_body_bytes;
  front_options.header_limit = max_header_bytes;
  front_options.read_timeout = std::chrono::seconds(read_timeout);
  front_options.write_timeout = std::chrono::seconds(write_timeout);
  if (!SplitListen(listen, front_options.host, front_options.port)) {
    std::cerr << "tokenledgerd: --listen must be HOST:PORT, e.g. 127.0.0.1:8080\n";
    return 2;
  }
  if (!resp_listen.empty()) {
    std::string host;
    if (!SplitListen(resp_listen, host, front_options.resp_port)) {
      std::cerr << "tokenledgerd: --resp-listen must be HOST:PORT, e.g. 127.0.0.1:6380\n";
      return 2;
    }
    front_options.resp_host = host;
  }
  std::optional<std::string> validator_token;
  if (!validator_token_file.empty()) {
    auto token = core::ReadSecretFile(validator_token_file);
    if (!token.ok()) {
      std::cerr << "tokenledgerd: --validator-token-file: " << token.status().message() << "\n";
      return 2;
    }
    validator_token = std::move(token).value();
  }

  // The data dir holds secrets (the admin token, the signing key): only its owner may enter.
  std::error_code dir_error;
  if (std::filesystem::create_directories(data_dir, dir_error))
    std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all, dir_error);
  if (dir_error) {
    std::cerr << "tokenledgerd: cannot create data dir " << data_dir << ": " << dir_error.message() << "\n";
    return 1;
  }
  if (signing_key_file.empty()) signing_key_file = data_dir + "/signing.key";
  auto signing_key = core::SigningKey::LoadOrCreate(signing_key_file);
  if (!signing_key.ok()) {
    std::cerr << "tokenledgerd: --signing-key-file: " << signing_key.status().message() << "\n";
    return 1;
  }

  projections::LedgerOptions ledger_options;
  ledger_options.data_dir = data_dir;
  ledger_options.signing_key = &*signing_key;
  ledger_options.max_lifetime_days = max_lifetime_days;
  ledger_options.max_queued_commands = max_write_queue;
  ledger_options.verify_data_files = !skip_data_file_check;
  auto ledger = projections::Ledger::Open(ledger_options);
  if (!ledger.ok()) {
    std::cerr << "tokenledgerd: " << ledger.status().message() << "\n";
    return 1;
  }
  core::Log(core::LogLevel::kInfo, "ledger open at seq " + std::to_string((*ledger)->head_seq()) +
                                       " (projection checkpoint " + std::to_string((*ledger)->loaded_checkpoint()) +
                                       ", replayed " + std::to_string((*ledger)->replayed_events()) + " events)");
  if (admin_token_file.empty()) admin_token_file = data_dir + "/admin.token";
  auto admin_token = server::LoadOrCreateAdminToken(admin_token_file);
  if (!admin_token.ok()) {
    std::cerr << "tokenledgerd: " << admin_token.status().message() << "\n";
    return 1;
  }

  RaiseOpenFilesLimit(max_connections);
  server::AccessControl access(*admin_token, validator_token);
  server::ServerMetrics metrics(server::Router::RouteNames());
  std::unique_ptr<server::Webhooks> webhooks;
  if (!webhook_urls.empty()) {
    if (webhook_secret_file.empty()) webhook_secret_file = data_dir + "/webhook.secret";
    auto secret = core::LoadOrCreateSecretFile(webhook_secret_file, "tlwhk_", "webhook secret file");
    if (!secret.ok()) {
      std::cerr << "tokenledgerd: " << secret.status().message() << "\n";
      return 1;
    }
    server::WebhookOptions webhook_options;
    webhook_options.urls = webhook_urls;
    webhook_options.secret = *secret;
    webhook_options.ca_file = webhook_ca_file;
    webhook_options.timeout = std::chrono::seconds(webhook_timeout);
    auto started = server::Webhooks::Start(**ledger, metrics, std::move(webhook_options));
    if (!started.ok()) {
      std::cerr << "tokenledgerd: webhooks: " << started.status().message() << "\n";
      return 1;
    }
    webhooks = std::move(started).value();
  }
  server::Router router(**ledger, access, metrics);
  server::FrontEnd front_end(front_options, router, **ledger, access, metrics);
  auto addresses = front_end.Start();
  if (!addresses.ok()) {
    std::cerr << "tokenledgerd: " << addresses.status().message() << "\n";
    return 1;
  }
  std::printf("tokenledgerd listening on %s\n", addresses->http_url.c_str());
  if (!addresses->resp_address.empty()) std::printf("tokenledgerd resp listening on %s\n", addresses->resp_address.c_str());
  std::fflush(stdout);
  front_end.Run();
  // Undelivered notifications stay in the outbox for the next start.
  if (webhooks) webhooks->Stop();
  (*ledger)->Stop();
  core::Log(core::LogLevel::kInfo, "stopped cleanly at seq " + std::to_string((*ledger)->head_seq()));
  return 0;
}
