#include "tools/bench/load_generator.h"
#include "tools/bench/percentile.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <string_view>

namespace tokenledger::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Random {  // xorshift64*: cheap enough not to show in the load generator's profile
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  size_t Below(size_t n) {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return static_cast<size_t>((state * 0x2545F4914F6CDD1Dull) % n);
  }
};

int Connect(const std::string& host, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

// Length of one complete RESP reply at the start of s, 0 if incomplete; null is set for a null
// bulk string or array.
size_t RespReplyLength(std::string_view s, bool& null) {
  if (s.empty()) return 0;
  size_t crlf = s.find("\r\n");
  if (crlf == std::string_view::npos) return 0;
  long n = 0;
  switch (s[0]) {
    case '+': case '-': case ':': return crlf + 2;
    case '$':
      n = std::strtol(s.data() + 1, nullptr, 10);
      if (n < 0) {
        null = true;
        return crlf + 2;
      }
      return s.size() >= crlf + 2 + static_cast<size_t>(n) + 2 ? crlf + 2 + static_cast<size_t>(n) + 2 : 0;
    case '*': {
      n = std::strtol(s.data() + 1, nullptr, 10);
      if (n < 0) {
        null = true;
        return crlf + 2;
      }
      size_t at = crlf + 2;
      for (long i = 0; i < n; ++i) {
        bool inner_null = false;
        size_t len = RespReplyLength(s.substr(at), inner_null);
        if (len == 0) return 0;
        at += len;
      }
      return at;
    }
    default:
      std::fprintf(stderr, "bad RESP reply\n");
      std::exit(1);
  }
}

// Length of one complete HTTP response at the start of s, 0 if incomplete; status set.
size_t HttpResponseLength(std::string_view s, int& status) {
  size_t head = s.find("\r\n\r\n");
  if (head == std::string_view::npos) return 0;
  status = std::atoi(s.data() + 9);
  size_t cl = s.find("Content-Length: ");
  size_t length = cl != std::string_view::npos && cl < head ? std::strtoul(s.data() + cl + 16, nullptr, 10) : 0;
  return s.size() >= head + 4 + length ? head + 4 + length : 0;
}

bool WriteAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 100);
    } else {
      return false;
    }
  }
  return true;
}

// Appends what the socket holds to in; false (after saying so) once the server closed it.
bool Receive(int fd, std::string& in) {
  char buf[65536];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n <= 0) {
    std::fprintf(stderr, "connection closed by the server\n");
    return false;
  }
  in.append(buf, static_cast<size_t>(n));
  return true;
}

}  // namespace

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

int RunRespLoad(const RespLoadOptions& o) {
  const LoadTarget& t = o.target;
  if (o.keys.empty()) {
    std::fprintf(stderr, "resp-load: no keys or tokens to send (see --keys-file, --tokens-file)\n");
    return 2;
  }
  struct Conn {
    int fd;
    std::string in;
    int pending = 0;
  };
  std::vector<Conn> conns;
  for (int i = 0; i < t.connections; ++i) conns.push_back({Connect(t.host, t.port), {}, 0});
  Random random;
  std::string batch;
  auto send_batch = [&](Conn& c) {
    batch.clear();
    for (int i = 0; i < o.pipeline; ++i) {
      const std::string& key = o.keys[random.Below(o.keys.size())];
      batch += "*2\r\n$" + std::to_string(o.command.size()) + "\r\n" + o.command + "\r\n$" +
               std::to_string(key.size()) + "\r\n" + key + "\r\n";
    }
    if (!WriteAll(c.fd, batch)) std::exit(1);
    c.pending = o.pipeline;
  };
  std::vector<pollfd> fds(conns.size());
  long done = 0, hits = 0;
  auto start = Clock::now();
  auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(t.seconds));
  for (auto& c : conns) send_batch(c);
  while (Clock::now() < end) {
    for (size_t i = 0; i < conns.size(); ++i) fds[i] = {conns[i].fd, POLLIN, 0};
    if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
    for (size_t i = 0; i < conns.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Conn& c = conns[i];
      if (!Receive(c.fd, c.in)) return 1;
      size_t at = 0;
      for (;;) {
        bool null = false;
        size_t len = RespReplyLength(std::string_view(c.in).substr(at), null);
        if (len == 0) break;
        if (c.in[at] == '-') {
          std::fprintf(stderr, "server error: %s\n", c.in.substr(at, len).c_str());
          return 1;
        }
        at += len;
        ++done;
        hits += null ? 0 : 1;
        --c.pending;
      }
      c.in.erase(0, at);
      if (c.pending == 0) send_batch(c);
    }
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("%s_per_second %.0f req/s\n", t.label.c_str(), done / elapsed);
  std::printf("%s_hits %.1f %%\n", t.label.c_str(), done > 0 ? 100.0 * hits / done : 0.0);
  for (auto& c : conns) ::close(c.fd);
  return done > 0 ? 0 : 1;
}

int RunHttpRate(const HttpRateOptions& o) {
  const LoadTarget& t = o.target;
  if (o.tokens.empty()) {
    std::fprintf(stderr, "http-rate: no tokens to send (see --tokens-file)\n");
    return 2;
  }
  struct Conn {
    int fd;
    std::string in;
    bool busy = false;
    Clock::time_point scheduled;
  };
  std::vector<Conn> conns;
  for (int i = 0; i < t.connections; ++i) conns.push_back({Connect(t.host, t.port), {}, false, {}});
  Random random;
  std::deque<Clock::time_point> backlog;  // due but not yet sent: all connections were busy
  std::vector<double> latencies_us;
  latencies_us.reserve(static_cast<size_t>(o.rate * t.seconds) + 16);
  long sent = 0, ok = 0, other = 0;
  auto interval = std::chrono::duration<double>(1.0 / o.rate);
  auto start = Clock::now();
  auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(t.seconds));
  auto next_send = start;
  std::vector<pollfd> fds(conns.size());
  std::string request;
  auto send_on = [&](Conn& c, Clock::time_point scheduled) {
    const std::string& token = o.tokens[random.Below(o.tokens.size())];
    request = "GET " + o.path + " HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer " + token + "\r\n\r\n";
    if (!WriteAll(c.fd, request)) std::exit(1);
    c.busy = true;
    c.scheduled = scheduled;
    ++sent;
  };
  while (true) {
    auto now = Clock::now();
    while (next_send <= now && next_send < end) {
      backlog.push_back(next_send);
      next_send += std::chrono::duration_cast<Clock::duration>(interval);
    }
    for (auto& c : conns) {
      if (backlog.empty()) break;
      if (!c.busy) {
        send_on(c, backlog.front());
        backlog.pop_front();
      }
    }
    bool any_busy = std::any_of(conns.begin(), conns.end(), [](const Conn& c) { return c.busy; });
    if (now >= end && !any_busy && backlog.empty()) break;
    if (now > end + std::chrono::seconds(5)) break;
    for (size_t i = 0; i < conns.size(); ++i) fds[i] = {conns[i].fd, POLLIN, 0};
    // ppoll sleeps with microsecond resolution until the next send is due: no spinning, so the
    // generator leaves the cores to the server between sends.
    auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(next_send - Clock::now()).count();
    if (next_send >= end) wait = 100000000;  // only replies left to collect
    timespec timeout{0, std::max<long>(0, std::min<long>(wait, 100000000))};
    if (::ppoll(fds.data(), fds.size(), &timeout, nullptr) <= 0) continue;
    for (size_t i = 0; i < conns.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Conn& c = conns[i];
      if (!Receive(c.fd, c.in)) return 1;
      int status = 0;
      size_t len = HttpResponseLength(c.in, status);
      if (len == 0) continue;
      c.in.erase(0, len);
      latencies_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - c.scheduled).count());
      (status == 200 ? ok : other)++;
      c.busy = false;
    }
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies_us.begin(), latencies_us.end());
  std::printf("%s_target_rate %.0f req/s\n", t.label.c_str(), o.rate);
  std::printf("%s_achieved_rate %.0f req/s\n", t.label.c_str(), static_cast<double>(latencies_us.size()) / elapsed);
  std::printf("%s_latency_p50 %.0f us\n", t.label.c_str(), Percentile(latencies_us, 0.5));
  std::printf("%s_latency_p99 %.0f us\n", t.label.c_str(), Percentile(latencies_us, 0.99));
  std::printf("%s_latency_p999 %.0f us\n", t.label.c_str(), Percentile(latencies_us, 0.999));
  if (other > 0) std::printf("%s_non_200 %ld responses\n", t.label.c_str(), other);
  for (auto& c : conns) ::close(c.fd);
  return ok > 0 ? 0 : 1;
}

}  // namespace tokenledger::bench
