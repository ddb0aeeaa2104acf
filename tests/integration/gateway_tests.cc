// The gateway-facing surface against real peers: HTTPS through curl, the RESP port through
// redis-cli and redis-benchmark, and a real nginx doing auth_request against tokenledgerd.
// tools/test.sh installs nginx, redis-tools and curl; a missing one fails these tests.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <cstdio>
#include <ctime>
#include <filesystem>

#include "core/time_format.h"
#include "tests/integration/harness.h"

using namespace tokenledger;
using namespace tokenledger::testing;
namespace json = boost::json;

namespace {

// A loopback port free right now (bound and released).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string HostPort(const std::string& url) { return url.substr(url.find("://") + 3); }

void RequireTool(const std::string& path) {
  BOOST_REQUIRE_MESSAGE(std::filesystem::exists(path),
                        path + " is missing: run ./tools/test.sh, which installs it (nginx, redis-tools, curl)");
}

// A real nginx with tests/data/nginx_gateway.conf.in, run in the foreground as a child process.
class Nginx {
 public:
  Nginx(const TempDir& dir, const std::string& tokenledger, int gateway_port, int upstream_port) : dir_(dir.Sub("nginx")) {
    RequireTool("/usr/sbin/nginx");
    std::filesystem::create_directories(dir_ + "/tmp");
    std::string conf = ReadFile(std::string(TL_TEST_DATA_DIR) + "/nginx_gateway.conf.in");
    auto replace = [&conf](const std::string& from, const std::string& to) {
      for (size_t at = conf.find(from); at != std::string::npos; at = conf.find(from, at + to.size()))
        conf.replace(at, from.size(), to);
    };
    // Workers of a root master would run as nobody, who cannot enter the private temp dir.
    replace("@USER@", ::geteuid() == 0 ? "user root;" : "");
    replace("@DIR@", dir_);
    replace("@TOKENLEDGER@", tokenledger);
    replace("@GATEWAY@", "127.0.0.1:" + std::to_string(gateway_port));
    replace("@UPSTREAM@", "127.0.0.1:" + std::to_string(upstream_port));
    std::ofstream(dir_ + "/nginx.conf") << conf;
    auto [rc, out] = Run("/usr/sbin/nginx -t -p " + dir_ + " -c " + dir_ + "/nginx.conf");
    BOOST_REQUIRE_MESSAGE(rc == 0, "nginx -t: " + out);
    pid_ = ::fork();
    BOOST_REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      std::string conf_path = dir_ + "/nginx.conf";
      ::execl("/usr/sbin/nginx", "nginx", "-p", dir_.c_str(), "-c", conf_path.c_str(), "-g", "daemon off;", nullptr);
      ::_exit(127);
    }
    // Ready once the gateway port accepts a connection.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      auto [code, body] = Run("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:" + std::to_string(upstream_port) + "/");
      if (body == "200") return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    BOOST_FAIL("nginx did not start: " + ReadFile(dir_ + "/error.log"));
  }
  ~Nginx() {
    if (pid_ > 0) {
      ::kill(pid_, SIGQUIT);
      for (int i = 0; i < 100 && ::waitpid(pid_, nullptr, WNOHANG) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::string error_log() const { return ReadFile(dir_ + "/error.log"); }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

// curl through the gateway: "STATUS BODY".
std::string ThroughGateway(int port, const std::string& path, const std::string& token, const std::string& method = "GET") {
  std::string auth = token.empty() ? "" : " -H 'Authorization: Bearer " + token + "'";
  auto [rc, out] = Run("curl -s -X " + method + " -w ' %{http_code}' http://127.0.0.1:" + std::to_string(port) + path + auth);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  size_t space = out.rfind(' ');
  return out.substr(space + 1) + " " + out.substr(0, space);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gateways)

BOOST_AUTO_TEST_CASE(nginx_auth_request_lets_valid_tokens_through_and_refuses_the_rest) {
  RequireTool("/usr/bin/curl");
  Running s;
  int gateway = FreePort(), upstream = FreePort();
  Nginx nginx(s.dir, HostPort(s.url), gateway, upstream);

  json::object acme = s.Create("acme", "ci");
  json::object beta = s.Create("beta", "ci");
  json::object doomed = s.Create("acme", "doomed");
  std::string soon = core::FormatRfc3339(std::time(nullptr) + 2);
  auto short_lived = s.Call("POST", "/v1/namespaces/acme/tokens", R"({"name":"short","expires_at":")" + soon + R"("})");
  BOOST_REQUIRE_EQUAL(short_lived.status, 201);
  std::string expiring = S(json::parse(short_lived.body), "token");

  // Valid: the API answers and sees who is calling.
  std::string ok = ThroughGateway(gateway, "/acme/items", S(acme, "token"));
  BOOST_TEST(ok.rfind("200 upstream: namespace=acme id=" + S(acme, "id") + " expires=" + S(acme, "expires_at"), 0) == 0u, ok);
  // The client's method is the sub-request's method: a POST goes through the same way.
  BOOST_TEST(ThroughGateway(gateway, "/acme/items", S(acme, "token"), "POST").rfind("200 ", 0) == 0u);
  // Another namespace: 403. Unknown, malformed, missing: 401.
  BOOST_TEST(ThroughGateway(gateway, "/acme/items", S(beta, "token")).rfind("403 ", 0) == 0u);
  BOOST_TEST(ThroughGateway(gateway, "/acme/items", "tlpat_000000000000000000000000000000000J6VVf").rfind("401 ", 0) == 0u);
  BOOST_TEST(ThroughGateway(gateway, "/acme/items", "not-a-token").rfind("401 ", 0) == 0u);
  BOOST_TEST(ThroughGateway(gateway, "/acme/items", "").rfind("401 ", 0) == 0u);
  // Revoked through the API: refused on the very next request.
  BOOST_TEST(ThroughGateway(gateway, "/acme/items", S(doomed, "token")).rfind("200 ", 0) == 0u);
  BOOST_TEST(s.Call("DELETE", "/v1/namespaces/acme/tokens/" + S(doomed, "id")).status == 200);
  BOOST_TEST(ThroughGateway(gateway, "/acme/items", S(doomed, "token")).rfind("401 ", 0) == 0u);
  // Expired: refused from expires_at on.
  BOOST_TEST(ThroughGateway(gateway, "/acme/items", expiring).rfind("200 ", 0) == 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(2600));
  BOOST_TEST(ThroughGateway(gateway, "/acme/items", expiring).rfind("401 ", 0) == 0u);
  // Never a 500 from nginx: tokenledgerd answered every sub-request with 200, 401 or 403.
  BOOST_TEST(nginx.error_log().find("auth request unexpected status") == std::string::npos, nginx.error_log());
}

BOOST_AUTO_TEST_CASE(https_with_a_self_signed_certificate) {
  RequireTool("/usr/bin/curl");
  TempDir certs;
  std::string cert = certs.Sub("cert.pem"), key = certs.Sub("key.pem");
  WriteSelfSignedCertificate(cert, key);
  Running s({"--tls-cert", cert, "--tls-key", key});
  BOOST_TEST(s.url.rfind("https://127.0.0.1:", 0) == 0u, s.url);
  std::string base = "curl -sS --cacert " + cert + " " + s.url;
  auto [rc, out] = Run(base + "/healthz");
  BOOST_TEST(rc == 0);
  BOOST_TEST(out == R"({"status":"ok"})");
  std::string admin = " -H 'Authorization: Bearer " + s.admin + "'";
  std::tie(rc, out) = Run(base + "/v1/namespaces/acme/tokens -d '{\"name\":\"tls\"}'" + admin);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  std::string token = S(json::parse(out), "token");
  std::tie(rc, out) = Run(base + "/v1/validate -d '{\"token\":\"" + token + "\"}'");
  BOOST_TEST(json::parse(out).at("active").as_bool());
  std::tie(rc, out) = Run(base + "/v1/auth -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer " + token + "'");
  BOOST_TEST(out == "200");
  // tokenctl speaks https too, trusting the test's certificate.
  std::string ctl = kBin + "/tokenctl --server " + s.url + " --admin-token-file " + s.data + "/admin.token ";
  std::tie(rc, out) = Run(ctl + "--cacert " + cert + " list acme");
  BOOST_TEST(rc == 0, out);
  BOOST_TEST(out.find("tls") != std::string::npos, out);
  std::tie(rc, out) = Run(ctl + "--cacert " + cert + " validate " + token);
  BOOST_TEST(rc == 0, out);
  std::tie(rc, out) = Run(ctl + "list acme");  // the system CAs do not know the test's certificate
  BOOST_TEST(rc == 2, out);
  BOOST_TEST(out.find("TLS handshake") != std::string::npos, out);
  // Without the certificate curl refuses the server; plain HTTP on the TLS port gets nowhere.
  std::tie(rc, out) = Run("curl -sS " + s.url + "/healthz");
  BOOST_TEST(rc != 0);
  std::tie(rc, out) = Run("curl -sS -m 5 http://" + HostPort(s.url) + "/healthz");
  BOOST_TEST(rc != 0);
  std::tie(rc, out) = Run(base + "/healthz");
  BOOST_TEST(out == R"({"status":"ok"})");
}

BOOST_AUTO_TEST_CASE(tls_flags_are_checked_at_start) {
  TempDir dir;
  std::string cert = dir.Sub("cert.pem"), key = dir.Sub("key.pem"), other_cert = dir.Sub("other.pem"),
              other_key = dir.Sub("other.key");
  WriteSelfSignedCertificate(cert, key);
  WriteSelfSignedCertificate(other_cert, other_key);
  std::string base = kBin + "/tokenledgerd --data-dir " + dir.Sub("data") + " --listen 127.0.0.1:0 ";
  auto [rc, out] = Run(base + "--tls-cert " + cert);
  BOOST_TEST(rc == 2);
  BOOST_TEST(out.find("--tls-cert and --tls-key must be given together") != std::string::npos, out);
  std::tie(rc, out) = Run(base + "--tls-cert " + dir.Sub("missing.pem") + " --tls-key " + key);
  BOOST_TEST(rc == 1);
  BOOST_TEST(out.find("cannot load TLS certificate") != std::string::npos, out);
  std::tie(rc, out) = Run(base + "--tls-cert " + cert + " --tls-key " + other_key);
  BOOST_TEST(rc == 1);
  BOOST_TEST(out.find("cannot load TLS key") != std::string::npos, out);
  BOOST_TEST(out.find("mismatch") != std::string::npos, out);
}

BOOST_AUTO_TEST_CASE(redis_cli_and_redis_benchmark_work_unchanged) {
  RequireTool("/usr/bin/redis-cli");
  RequireTool("/usr/bin/redis-benchmark");
  Running s({"--resp-listen", "127.0.0.1:0"});
  std::string resp = s.server->WaitLine("tokenledgerd resp listening on ");
  BOOST_REQUIRE(!resp.empty());
  std::string port = resp.substr(resp.rfind(':') + 1);
  json::object t = s.Create("acme", "redis");
  std::string token_path = "/v1/namespaces/acme/tokens/" + S(t, "id");
  BOOST_TEST(json::parse(s.Call("GET", token_path).body).at("last_used_at").is_null());
  std::string cli = "redis-cli -h 127.0.0.1 -p " + port + " ";
  auto [rc, out] = Run(cli + "PING");
  BOOST_TEST(out == "PONG\n");
  std::tie(rc, out) = Run(cli + "VALIDATE " + S(t, "token"));
  BOOST_TEST(rc == 0);
  std::int64_t expires = *core::ParseRfc3339(S(t, "expires_at"));
  BOOST_TEST(out == S(t, "id") + "\nacme\n" + std::to_string(expires) + "\n");
  // A RESP validation is a use too.
  auto last_used = json::parse(s.Call("GET", token_path).body).at("last_used_at");
  BOOST_REQUIRE(last_used.is_string());
  BOOST_TEST(std::abs(*core::ParseRfc3339(last_used.as_string()) - std::time(nullptr)) < 5);
  std::tie(rc, out) = Run(cli + "VALIDATE " + S(t, "token") + " beta");
  BOOST_TEST(out == "\n");  // nil
  std::tie(rc, out) = Run(cli + "GET somekey");
  BOOST_TEST(out.find("ERR unknown command 'GET'") != std::string::npos, out);
  // redis-benchmark: its start-up CONFIG GET probes are answered, pipelining works.
  std::tie(rc, out) = Run("redis-benchmark -h 127.0.0.1 -p " + port + " -c 4 -n 4000 -P 16 -q VALIDATE " + S(t, "token"));
  BOOST_TEST(rc == 0, out);
  BOOST_TEST(out.find("requests per second") != std::string::npos, out);
  BOOST_TEST(out.find("WARNING") == std::string::npos, out);
  BOOST_TEST(out.find("ERR") == std::string::npos, out);
  std::string metrics = s.Call("GET", "/metrics", "", false).body;
  const std::string series = "tokenledger_validations_total{protocol=\"resp\",result=\"active\"} ";
  size_t at = metrics.find(series);
  BOOST_REQUIRE(at != std::string::npos);
  BOOST_TEST(std::stol(metrics.substr(at + series.size())) >= 4001);  // the benchmark's and ours
}

BOOST_AUTO_TEST_CASE(a_validator_token_guards_http_and_resp_validation) {
  RequireTool("/usr/bin/redis-cli");
  TempDir secrets;
  std::string validator_file = secrets.Sub("validator.token");
  std::ofstream(validator_file) << "tlval_integration-secret\n";
  Running s({"--resp-listen", "127.0.0.1:0", "--validator-token-file", validator_file});
  std::string port = s.server->WaitLine("tokenledgerd resp listening on ");
  port = port.substr(port.rfind(':') + 1);
  json::object t = s.Create("acme", "guarded");
  auto r = s.Call("POST", "/v1/validate", R"({"token":")" + S(t, "token") + R"("})", false);
  BOOST_TEST(r.status == 401);
  auto with = s.client->Request("POST", "/v1/validate", R"({"token":")" + S(t, "token") + R"("})",
                                {{"Authorization", "Bearer tlval_integration-secret"}});
  BOOST_REQUIRE(with.ok());
  BOOST_TEST(json::parse(with->body).at("active").as_bool());
  std::string cli = "redis-cli -h 127.0.0.1 -p " + port + " ";
  auto [rc, out] = Run(cli + "VALIDATE " + S(t, "token"));
  BOOST_TEST(out.find("NOAUTH") != std::string::npos, out);
  std::tie(rc, out) = Run(cli + "--no-auth-warning -a tlval_integration-secret VALIDATE " + S(t, "token"));
  BOOST_TEST(out.rfind(S(t, "id") + "\n", 0) == 0u, out);
  // A missing validator token file is a usage error.
  std::tie(rc, out) = Run(kBin + "/tokenledgerd --data-dir " + secrets.Sub("d") + " --validator-token-file " +
                          secrets.Sub("absent"));
  BOOST_TEST(rc == 2, out);
}

BOOST_AUTO_TEST_SUITE_END()
