// The network front end in process (HTTP and RESP), with short timeouts, over real loopback
// sockets.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>
#include <thread>

#include "core/token_format.h"
#include "server/front_end.h"
#include "tests/alloc_counter.h"
#include "tests/server/server_fixture.h"

using namespace tokenledger;
using namespace tokenledger::server;
using tokenledger::testing::TempDir;

namespace {

// A server on 127.0.0.1:0 (HTTP and RESP) with a short read timeout, run on a background thread.
struct LiveServer : tokenledger::testing::ServerParts {
  std::unique_ptr<FrontEnd> front_end;
  std::thread runner;
  int port = 0;
  int resp_port = 0;

  explicit LiveServer(std::chrono::seconds read_timeout = std::chrono::seconds(1)) : ServerParts("admin") {
    FrontEndOptions options;
    options.port = 0;
    options.threads = 2;
    options.read_timeout = read_timeout;
    options.write_timeout = std::chrono::seconds(1);
    options.resp_host = "127.0.0.1";
    options.resp_port = 0;
    front_end = std::make_unique<FrontEnd>(options, *router, *ledger, *access, *metrics);
    auto addresses = front_end->Start();
    BOOST_REQUIRE(addresses.ok());
    port = std::stoi(addresses->http_url.substr(addresses->http_url.rfind(':') + 1));
    resp_port = std::stoi(addresses->resp_address.substr(addresses->resp_address.rfind(':') + 1));
    runner = std::thread([this] { front_end->Run(); });
  }
  ~LiveServer() {
    front_end->Shutdown();
    if (runner.joinable()) runner.join();
  }

  // A fresh active token's secret, through the router (no network).
  std::string CreateToken(const std::string& ns) {
    HttpRequest request;
    request.method = "POST";
    request.target = "/v1/namespaces/" + ns + "/tokens";
    request.authorization = "Bearer admin";
    request.body = R"({"name":"t"})";
    std::promise<HttpResponse> done;
    router->Handle(request, [&](HttpResponse r) { done.set_value(std::move(r)); });
    HttpResponse r = done.get_future().get();
    BOOST_REQUIRE_EQUAL(r.status, 201);
    size_t at = r.body.find("tlpat_");
    BOOST_REQUIRE(at != std::string::npos);
    return r.body.substr(at, core::kTokenLength);
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
  void Send(std::string_view bytes) { BOOST_REQUIRE(SendRaw(bytes)); }
  // Allocation-free send (BOOST_REQUIRE may allocate).
  bool SendRaw(std::string_view bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // Allocation-free: reads into buf until it holds one whole HTTP response (header plus
  // Content-Length bytes); returns its length, or 0 on EOF, error or after 2 s.
  size_t ReadHttpResponse(char* buf, size_t capacity) {
    size_t have = 0;
    for (int waited = 0; waited < 2000;) {
      std::string_view got(buf, have);
      size_t head_end = got.find("\r\n\r\n");
      if (head_end != std::string_view::npos) {
        size_t cl = got.find("Content-Length: ");
        if (cl != std::string_view::npos && cl < head_end) {
          size_t length = std::strtoul(buf + cl + 16, nullptr, 10);
          if (have >= head_end + 4 + length) return head_end + 4 + length;
        }
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 10) <= 0) {
        waited += 10;
        continue;
      }
      ssize_t n = ::recv(fd_, buf + have, capacity - have, 0);
      if (n <= 0) return 0;
      have += static_cast<size_t>(n);
    }
    return 0;
  }
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

BOOST_AUTO_TEST_SUITE(front_end)

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

BOOST_AUTO_TEST_CASE(head_gets_headers_only_and_the_connection_stays_usable) {
  LiveServer server;
  RawConnection c(server.port);
  BOOST_REQUIRE(c.connected());
  c.Send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got = c.ReadUntil("\"ok\"}", std::chrono::seconds(3));
  // Two responses; the first announces the GET's length but carries no body.
  size_t second = got.find("HTTP/1.1 200", 1);
  BOOST_REQUIRE(second != std::string::npos);
  std::string head = got.substr(0, second);
  BOOST_TEST(head.find("Content-Length: 15\r\n") != std::string::npos, head);
  BOOST_TEST(head.size() == head.find("\r\n\r\n") + 4, head);
  BOOST_TEST(got.substr(second).find(R"({"status":"ok"})") != std::string::npos);
}

#ifdef TL_COUNT_ALLOCATIONS
// The whole server path of a validation (read, parse, route, look up, answer, write) allocates
// nothing on a warm keep-alive connection: counted on every thread of the process.
BOOST_AUTO_TEST_CASE(validation_over_http_allocates_nothing_on_a_warm_connection) {
  LiveServer server;
  std::string token = server.CreateToken("acme");
  std::string body = R"({"token":")" + token + R"("})";
  std::vector<std::string> requests = {
      "GET /v1/auth HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\nX-Required-Namespace: acme\r\n\r\n",
      "GET /v1/auth HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tlpat_bogus\r\n\r\n",
      "POST /v1/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body,
      "POST /v1/introspect HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
      "Content-Length: " + std::to_string(token.size() + 6) + "\r\n\r\ntoken=" + token};
  RawConnection c(server.port);
  BOOST_REQUIRE(c.connected());
  char buf[8192];
  // Warm-up: buffers reach their size, both I/O threads claim their reader slots.
  for (int i = 0; i < 50; ++i)
    for (const auto& r : requests) {
      c.Send(r);
      BOOST_REQUIRE(c.ReadHttpResponse(buf, sizeof buf) > 0);
    }
  long allocations = 0;
  int answered = 0;
  {
    tokenledger::testing::ProcessAllocationCounter counter;
    for (int i = 0; i < 250; ++i)
      for (const auto& r : requests)
        if (c.SendRaw(r) && c.ReadHttpResponse(buf, sizeof buf) > 0) ++answered;
    allocations = counter.count();
  }
  BOOST_TEST(answered == 1000);
  BOOST_TEST(allocations == 0);
}
#endif

// Sends bytes to the RESP port and reads until `expect` is seen (or EOF / 3 s).
std::string RespExchange(RawConnection& c, std::string_view bytes, std::string_view expect, bool* eof = nullptr) {
  c.Send(bytes);
  return c.ReadUntil(expect, std::chrono::seconds(3), eof);
}

BOOST_AUTO_TEST_CASE(resp_port_validates_pings_and_pipelines) {
  LiveServer server;
  std::string token = server.CreateToken("acme");
  RawConnection c(server.resp_port);
  BOOST_REQUIRE(c.connected());
  BOOST_TEST(RespExchange(c, "*1\r\n$4\r\nPING\r\n", "\r\n") == "+PONG\r\n");
  BOOST_TEST(RespExchange(c, "ping\r\n", "\r\n") == "+PONG\r\n");  // inline, as telnet sends
  std::string validate = "*2\r\n$8\r\nVALIDATE\r\n$44\r\n" + token + "\r\n";
  c.Send(validate);
  std::string reply;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  // An array of 3: five CRLF-terminated lines.
  while (std::count(reply.begin(), reply.end(), '\n') < 5 && std::chrono::steady_clock::now() < until)
    reply += c.ReadUntil("\n", std::chrono::milliseconds(100));
  BOOST_TEST(reply.find("*3\r\n$24\r\ntok_") == 0u);
  BOOST_TEST(reply.find("$4\r\nacme\r\n:") != std::string::npos);
  // Another namespace, unknown and malformed tokens: a null bulk string, no reason.
  BOOST_TEST(RespExchange(c, "*3\r\n$8\r\nvalidate\r\n$44\r\n" + token + "\r\n$5\r\nother\r\n", "\r\n") ==
             "$-1\r\n");
  BOOST_TEST(RespExchange(c, "VALIDATE tlpat_garbage\r\n", "\r\n") == "$-1\r\n");
  // 200 pipelined commands in one write: 200 answers, in order.
  std::string batch;
  for (int i = 0; i < 100; ++i) batch += validate + "*1\r\n$4\r\nPING\r\n";
  c.Send(batch);
  std::string all;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  size_t pongs = 0;
  while (pongs < 100 && std::chrono::steady_clock::now() < deadline) {
    all += c.ReadUntil("+PONG", std::chrono::milliseconds(200));
    pongs = 0;
    for (size_t at = all.find("+PONG"); at != std::string::npos; at = all.find("+PONG", at + 1)) ++pongs;
  }
  BOOST_TEST(pongs == 100u);
  size_t arrays = 0;
  for (size_t at = all.find("*3\r\n"); at != std::string::npos; at = all.find("*3\r\n", at + 1)) ++arrays;
  BOOST_TEST(arrays == 100u);
  BOOST_TEST(RespExchange(c, "FLUSHALL\r\n", "\r\n").find("-ERR unknown command 'FLUSHALL'") == 0u);
  bool eof = false;
  BOOST_TEST(RespExchange(c, "QUIT\r\n", "\r\n") == "+OK\r\n");
  c.ReadUntil("", std::chrono::seconds(2), &eof);
  BOOST_TEST(eof);
  BOOST_TEST(server.metrics->validations(Protocol::kResp, projections::Validity::kActive) == 101u);
}

BOOST_AUTO_TEST_CASE(resp_port_closes_on_garbage_oversize_and_half_frames) {
  LiveServer server;
  {
    RawConnection c(server.resp_port);
    bool eof = false;
    std::string reply = RespExchange(c, std::string("*1\r\n\x00\xff\x13garbage\r\n", 17), "\r\n", &eof);
    BOOST_TEST(reply.find("-ERR Protocol error") == 0u);
    c.ReadUntil("", std::chrono::seconds(2), &eof);
    BOOST_TEST(eof);
  }
  {
    RawConnection c(server.resp_port);
    bool eof = false;
    std::string reply = RespExchange(c, "*2\r\n$8\r\nVALIDATE\r\n$999999\r\n", "\r\n", &eof);
    BOOST_TEST(reply.find("-ERR Protocol error: invalid bulk length") == 0u);
    c.ReadUntil("", std::chrono::seconds(2), &eof);
    BOOST_TEST(eof);
  }
  {
    RawConnection c(server.resp_port);
    bool eof = false;
    std::string reply = RespExchange(c, std::string(10000, 'A'), "\r\n", &eof);
    BOOST_TEST(reply.find("-ERR Protocol error: too big inline request") == 0u);
  }
  {
    // Half a frame, then silence: closed by the read timeout (1 s here), no reply.
    RawConnection c(server.resp_port);
    auto start = std::chrono::steady_clock::now();
    bool eof = false;
    std::string reply = RespExchange(c, "*2\r\n$8\r\nVALIDATE\r\n$44\r\ntlpat_", "\r\n", &eof);
    if (!eof) c.ReadUntil("", std::chrono::seconds(4), &eof);
    BOOST_TEST(eof);
    BOOST_TEST(reply.empty());
    BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(4)));
  }
  // The server still answers.
  RawConnection c(server.resp_port);
  BOOST_TEST(RespExchange(c, "PING\r\n", "\r\n") == "+PONG\r\n");
}

BOOST_AUTO_TEST_CASE(an_idle_resp_connection_is_closed_after_the_read_timeout) {
  LiveServer server;
  RawConnection c(server.resp_port);
  BOOST_REQUIRE(c.connected());
  BOOST_TEST(RespExchange(c, "PING\r\n", "\r\n") == "+PONG\r\n");
  auto start = std::chrono::steady_clock::now();
  bool eof = false;
  c.ReadUntil("", std::chrono::seconds(5), &eof);  // then silence
  BOOST_TEST(eof);
  BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(4)));
  // The session is gone once its last handler has run (just after the close).
  for (int i = 0; i < 100 && server.metrics->open_connections(Protocol::kResp) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  BOOST_TEST(server.metrics->open_connections(Protocol::kResp) == 0);
}

BOOST_AUTO_TEST_CASE(metrics_count_open_connections) {
  LiveServer server;
  RawConnection a(server.port), b(server.resp_port);
  a.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  a.ReadUntil("\"ok\"", std::chrono::seconds(3));
  b.Send("PING\r\n");
  b.ReadUntil("\r\n", std::chrono::seconds(3));
  BOOST_TEST(server.metrics->open_connections(Protocol::kHttp) == 1);
  BOOST_TEST(server.metrics->open_connections(Protocol::kResp) == 1);
}

BOOST_AUTO_TEST_SUITE_END()
