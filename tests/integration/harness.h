// The integration harness: the real tokenledgerd as a child process on port 0 with a temp data
// dir, a shell runner, and a running server with an admin HTTP client.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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
#include "tools/http_client.h"

namespace tokenledger::testing {

inline const std::string kBin = TL_BIN_DIR;

// A tokenledgerd child process. Its stderr goes to a file, stdout is read for the listening line.
class ServerProcess {
 public:
  // file_size_limit > 0 caps every file the server writes (RLIMIT_FSIZE) so that a disk write
  // really fails (EFBIG) once the WAL reaches it.
  ServerProcess(const std::string& data_dir, const std::string& log_path, std::vector<std::string> extra = {},
                rlim_t file_size_limit = 0) {
    int out[2];
    BOOST_REQUIRE(::pipe(out) == 0);
    pid_ = ::fork();
    BOOST_REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      int err = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      ::dup2(err, 2);
      ::close(out[0]);
      if (file_size_limit > 0) {
        ::signal(SIGXFSZ, SIG_IGN);  // make the write fail with EFBIG instead of killing
        rlimit limit{file_size_limit, file_size_limit};
        ::setrlimit(RLIMIT_FSIZE, &limit);
      }
      std::vector<std::string> args = {kBin + "/tokenledgerd", "--data-dir", data_dir, "--listen", "127.0.0.1:0",
                                       "--threads", "2"};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    stdout_fd_ = out[0];
  }
  ~ServerProcess() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
  }

  // Reads stdout until the listening line (or EOF / timeout); returns the URL or "".
  std::string WaitListening(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    return WaitLine("tokenledgerd listening on ", timeout);
  }

  // Reads the next stdout line (or "" on EOF / timeout); it must start with prefix, which is
  // cut off.
  std::string WaitLine(const std::string& prefix, std::chrono::seconds timeout = std::chrono::seconds(30)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      size_t nl = stdout_text_.find('\n');
      if (nl != std::string::npos) {
        std::string line = stdout_text_.substr(0, nl);
        stdout_text_.erase(0, nl + 1);
        BOOST_REQUIRE_MESSAGE(line.rfind(prefix, 0) == 0, "unexpected line: " + line);
        return line.substr(prefix.size());
      }
      pollfd p{stdout_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
      if (n <= 0) return "";
      stdout_text_.append(buf, static_cast<size_t>(n));
    }
    return "";
  }

  void Signal(int sig) { ::kill(pid_, sig); }
  pid_t pid() const { return pid_; }

  // Waits for exit; returns the exit code, 128+signal when killed, -1 on timeout.
  int Wait(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string stdout_text_;
  bool reaped_ = false;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a command line through the shell; returns exit code and stdout.
inline std::pair<int, std::string> Run(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  BOOST_REQUIRE(pipe != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// A running server on a fresh data dir, with an admin client.
struct Running {
  TempDir dir;
  std::string data = dir.Sub("data");
  std::string log = dir.Sub("server.log");
  std::unique_ptr<ServerProcess> server;
  std::string url;
  std::string admin;
  std::unique_ptr<tools::HttpClient> client;

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
    auto c = tools::HttpClient::Create(url);
    BOOST_REQUIRE(c.ok());
    client = std::move(c).value();
  }
  std::vector<std::pair<std::string, std::string>> Auth(const std::string& actor = "") const {
    std::vector<std::pair<std::string, std::string>> h = {{"Authorization", "Bearer " + admin}};
    if (!actor.empty()) h.emplace_back("X-Actor", actor);
    return h;
  }
  tools::ClientResponse Call(const std::string& method, const std::string& target, const std::string& body = "",
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
