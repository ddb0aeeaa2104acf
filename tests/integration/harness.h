// The integration harness: the real tokenledgerd as a child process on port 0 with a temp data
// dir, a shell runner, and a running server with an admin HTTP client.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/secret_file.h"
#include "tests/test_util.h"
#include "core/http_client.h"
#include "tools/server_process.h"

namespace tokenledger::testing {

inline const std::string kBin = TL_BIN_DIR;

// A tokenledgerd child process on port 0 with two I/O threads (tools/server_process.h), the
// test failing at once when it cannot be started or prints something unexpected.
class ServerProcess : public tools::ServerProcess {
 public:
  ServerProcess(const std::string& data_dir, const std::string& log_path, std::vector<std::string> extra = {},
                rlim_t file_size_limit = 0)
      : tools::ServerProcess({kBin + "/tokenledgerd", data_dir, log_path, WithThreads(std::move(extra)),
                              file_size_limit}) {
    BOOST_REQUIRE(started());
  }

  std::string WaitListening(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    return WaitLine("tokenledgerd listening on ", timeout);
  }
  std::string WaitLine(const std::string& prefix, std::chrono::seconds timeout = std::chrono::seconds(30)) {
    std::string unexpected;
    std::string rest = tools::ServerProcess::WaitLine(prefix, timeout, &unexpected);
    BOOST_REQUIRE_MESSAGE(unexpected.empty(), "unexpected line: " + unexpected);
    return rest;
  }

 private:
  static std::vector<std::string> WithThreads(std::vector<std::string> extra) {
    extra.insert(extra.begin(), {"--threads", "2"});
    return extra;
  }
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a command line through the shell; returns exit code and output (stdout and stderr).
inline std::pair<int, std::string> Run(const std::string& command) {
  std::string output;
  int rc = tools::RunCommand(command, output);
  return {rc, output};
}

// A running server on a fresh data dir, with an admin client.
struct Running {
  TempDir dir;
  std::string data = dir.Sub("data");
  std::string log = dir.Sub("server.log");
  std::unique_ptr<ServerProcess> server;
  std::string url;
  std::string admin;
  std::unique_ptr<core::HttpClient> client;

  std::vector<std::string> extra_flags;

  explicit Running(std::vector<std::string> flags = {}) : extra_flags(std::move(flags)) { Start(); }
  // With the data dir somewhere else (a small filesystem, say).
  Running(const std::string& data_dir, std::vector<std::string> flags) : data(data_dir), extra_flags(std::move(flags)) {
    Start();
  }
  void Start(rlim_t file_size_limit = 0) {
    server = std::make_unique<ServerProcess>(data, log, extra_flags, file_size_limit);
    url = server->WaitListening();
    BOOST_REQUIRE_MESSAGE(!url.empty(), "server did not start: " + ReadFile(log));
    auto secret = core::ReadSecretFile(data + "/admin.token");
    BOOST_REQUIRE(secret.ok());
    admin = *secret;
    if (url.rfind("https://", 0) == 0) return;  // the HTTP client speaks plain HTTP only
    auto c = core::HttpClient::Create(url);
    BOOST_REQUIRE(c.ok());
    client = std::move(c).value();
  }
  std::vector<std::pair<std::string, std::string>> Auth(const std::string& actor = "") const {
    std::vector<std::pair<std::string, std::string>> h = {{"Authorization", "Bearer " + admin}};
    if (!actor.empty()) h.emplace_back("X-Actor", actor);
    return h;
  }
  core::ClientResponse Call(const std::string& method, const std::string& target, const std::string& body = "",
                             bool with_admin = true) {
    auto r = client->Request(method, target, body, with_admin ? Auth() : std::vector<std::pair<std::string, std::string>>{});
    BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    return *r;
  }
  boost::json::object Create(const std::string& ns_encoded, const std::string& name) {
    auto r = Call("POST", "/v1/namespaces/" + ns_encoded + "/tokens", R"({"name":")" + name + R"("})");
    BOOST_REQUIRE_EQUAL(r.status, 201);
    return boost::json::parse(r.body).as_object();
  }
  bool Valid(const std::string& secret) {
    auto r = Call("POST", "/v1/validate", R"({"token":")" + secret + R"("})", false);
    BOOST_REQUIRE_EQUAL(r.status, 200);
    return boost::json::parse(r.body).at("active").as_bool();
  }
};

// A self-signed certificate for 127.0.0.1 (subject and IP SAN), P-256 key, valid one day.
inline void WriteSelfSignedCertificate(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  BOOST_REQUIRE(key != nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), static_cast<long>(std::time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
  BOOST_REQUIRE(san != nullptr);
  X509_add_ext(cert, san, -1);
  X509_EXTENSION_free(san);
  BOOST_REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
  FILE* f = std::fopen(cert_path.c_str(), "w");
  BOOST_REQUIRE(f != nullptr);
  PEM_write_X509(f, cert);
  std::fclose(f);
  f = std::fopen(key_path.c_str(), "w");
  BOOST_REQUIRE(f != nullptr);
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(cert);
  EVP_PKEY_free(key);
}

// The value of an unlabelled sample in a Prometheus text exposition, or -1.
inline double MetricValue(const std::string& exposition, const std::string& name) {
  size_t at = exposition.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::atof(exposition.c_str() + at + name.size() + 2);
}

// The port of a "http://HOST:PORT" URL.
inline std::uint16_t PortOf(const std::string& url) {
  return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

inline std::string S(const boost::json::value& v, const char* key) { return boost::json::value_to<std::string>(v.at(key)); }

}  // namespace tokenledger::testing
