// The Beast front end in process, with short timeouts, over real loopback sockets.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <thread>

#include "server/http_server.h"
#include "tests/test_util.h"

using namespace tokenledger;
using namespace tokenledger::server;
using tokenledger::testing::TempDir;

namespace {

// A server on 127.0.0.1:0 with a short read timeout, run on a background thread.
struct LiveServer {
  TempDir dir;
  std::unique_ptr<projections::Ledger> ledger;
  std::unique_ptr<Router> router;
  std::unique_ptr<HttpServer> http;
  std::thread runner;
  int port = 0;

  explicit LiveServer(std::chrono::seconds read_timeout = std::chrono::seconds(1)) {
    auto opened = projections::Ledger::Open({dir.path(), 366, nullptr});
    BOOST_REQUIRE(opened.ok());
    ledger = std::move(opened).value();
    router = std::make_unique<Router>(*ledger, "admin");
    HttpServerOptions options;
    options.port = 0;
    options.threads = 2;
    options.read_timeout = read_timeout;
    options.write_timeout = std::chrono::seconds(1);
    http = std::make_unique<HttpServer>(options, *router);
    auto url = http->Start();
    BOOST_REQUIRE(url.ok());
    port = std::stoi(url->substr(url->rfind(':') + 1));
    runner = std::thread([this] { http->Run(); });
  }
  ~LiveServer() {
    http->Shutdown();
    if (runner.joinable()) runner.join();
  }
};

class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConnection() { ::close(fd_); }
  bool connected() const { return connected_; }
  void Send(std::string_view bytes) { BOOST_REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size())); }
  // Reads until `needle` appears, EOF, or the deadline; returns what was read.
  std::string ReadUntil(std::string_view needle, std::chrono::milliseconds within, bool* eof = nullptr) {
    std::string got;
    auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        if (eof) *eof = true;
        break;
      }
      got.append(buf, static_cast<size_t>(n));
      if (!needle.empty() && got.find(needle) != std::string::npos) break;
    }
    return got;
  }

 private:
  int fd_;
  bool connected_ = false;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(http_server)

BOOST_AUTO_TEST_CASE(an_unfinished_request_is_dropped_after_the_read_timeout) {
  LiveServer server;
  RawConnection c(server.port);
  BOOST_REQUIRE(c.connected());
  c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n");  // never finished
  auto start = std::chrono::steady_clock::now();
  bool eof = false;
  c.ReadUntil("", std::chrono::seconds(5), &eof);
  BOOST_TEST(eof);
  BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(4)));
}

BOOST_AUTO_TEST_CASE(an_idle_keep_alive_connection_is_closed_after_the_timeout) {
  LiveServer server;
  RawConnection c(server.port);
  BOOST_REQUIRE(c.connected());
  c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(c.ReadUntil("\"ok\"", std::chrono::seconds(3)).find("200 OK") != std::string::npos);
  bool eof = false;
  c.ReadUntil("", std::chrono::seconds(5), &eof);
  BOOST_TEST(eof);
}

BOOST_AUTO_TEST_CASE(expect_100_continue_is_answered_before_the_body) {
  LiveServer server;
  RawConnection c(server.port);
  BOOST_REQUIRE(c.connected());
  std::string body = R"({"token":"x"})";
  c.Send("POST /v1/validate HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n");
  BOOST_TEST(c.ReadUntil("\r\n\r\n", std::chrono::seconds(3)).find("100 Continue") != std::string::npos);
  c.Send(body);
  BOOST_TEST(c.ReadUntil("}", std::chrono::seconds(3)).find(R"({"active":false})") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(shutdown_closes_idle_connections_and_returns) {
  auto server = std::make_unique<LiveServer>(std::chrono::seconds(30));
  RawConnection c(server->port);
  BOOST_REQUIRE(c.connected());
  c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(c.ReadUntil("\"ok\"", std::chrono::seconds(3)).find("200 OK") != std::string::npos);
  auto start = std::chrono::steady_clock::now();
  server.reset();  // Shutdown() + join of Run()
  // Far sooner than the 30 s idle timeout: shutdown closes idle connections itself.
  BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(10)));
  bool eof = false;
  c.ReadUntil("", std::chrono::seconds(2), &eof);
  BOOST_TEST(eof);
}

BOOST_AUTO_TEST_SUITE_END()
