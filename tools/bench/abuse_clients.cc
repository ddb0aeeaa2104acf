#include "tools/bench/abuse_clients.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>

#include "tools/bench/percentile.h"
#include "core/http_client.h"

namespace tokenledger::bench {

using Clock = std::chrono::steady_clock;

int ConnectLoopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

long RaiseOpenFilesLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return static_cast<long>(limit.rlim_cur);
}

namespace {

// True when the peer has closed fd (EOF or an error is readable now).
bool PeerClosed(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLERR | POLLHUP)) return true;
  char byte;
  ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

}  // namespace

IdleConnections::IdleConnections(std::uint16_t port, size_t n) {
  fds_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    int fd = ConnectLoopback(port);
    if (fd < 0) break;
    fds_.push_back(fd);
  }
}

IdleConnections::~IdleConnections() {
  for (int fd : fds_) ::close(fd);
}

size_t IdleConnections::ClosedByServer() const {
  return static_cast<size_t>(std::count_if(fds_.begin(), fds_.end(), PeerClosed));
}

Slowloris::Slowloris(std::uint16_t port, size_t n, std::chrono::milliseconds interval)
    : thread_([this, port, n, interval] { Run(port, n, interval); }) {}

Slowloris::~Slowloris() {
  stop_.store(true);
  thread_.join();
}

void Slowloris::Run(std::uint16_t port, size_t n, std::chrono::milliseconds interval) {
  // A request that never ends: one more header line, a byte at a time.
  const std::string drip = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  struct Conn {
    int fd;
    size_t at;
    bool open;
  };
  std::vector<Conn> conns;
  for (size_t i = 0; i < n && !stop_.load(); ++i) {
    int fd = ConnectLoopback(port);
    if (fd < 0) break;
    conns.push_back({fd, 0, true});
    ++opened_;
  }
  while (!stop_.load()) {
    for (auto& c : conns) {
      if (!c.open) continue;
      if (PeerClosed(c.fd)) {
        c.open = false;
        ++closed_;
        continue;
      }
      char byte = drip[c.at < drip.size() ? c.at : drip.size() - 1];
      ++c.at;
      if (::send(c.fd, &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN) {
        c.open = false;
        ++closed_;
      }
    }
    auto until = Clock::now() + interval;
    while (!stop_.load() && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& c : conns) ::close(c.fd);
}

Pipeliner::Pipeliner(std::uint16_t port, std::string request, std::chrono::seconds stall_limit)
    : thread_([this, port, request = std::move(request), stall_limit] { Run(port, request, stall_limit); }) {}

Pipeliner::~Pipeliner() {
  stop_.store(true);
  thread_.join();
}

void Pipeliner::Run(std::uint16_t port, std::string request, std::chrono::seconds stall_limit) {
  int fd = ConnectLoopback(port);
  if (fd < 0) return done_.store(true);
  std::string batch;
  for (int i = 0; i < 256; ++i) batch += request;
  size_t at = 0;
  auto last_progress = Clock::now();
  while (!stop_.load()) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 50) > 0) {
      if (p.revents & (POLLERR | POLLHUP)) {
        closed_.store(true);
        break;
      }
      ssize_t n = ::send(fd, batch.data() + at, batch.size() - at, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        closed_.store(true);
        break;
      }
      if (n > 0) {
        sent_ += static_cast<std::uint64_t>(n);
        at = (at + static_cast<size_t>(n)) % batch.size();
        last_progress = Clock::now();
      }
    }
    if (Clock::now() - last_progress > stall_limit) break;  // the server stopped reading us
  }
  ::close(fd);
  done_.store(true);
}

RawOutcome SendRaw(std::uint16_t port, const std::string& head, size_t body_bytes, std::chrono::seconds timeout) {
  RawOutcome outcome;
  auto start = Clock::now();
  int fd = ConnectLoopback(port);
  if (fd < 0) return outcome;
  std::string body_chunk(64 * 1024, 'x');
  std::string pending = head;
  size_t body_left = body_bytes;
  std::string in;
  auto deadline = start + timeout;
  while (Clock::now() < deadline) {
    if (pending.empty() && body_left > 0) {
      size_t n = std::min(body_left, body_chunk.size());
      pending.assign(body_chunk, 0, n);
      body_left -= n;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (pending.empty() ? 0 : POLLOUT)), 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    if (p.revents & POLLIN) {
      char buf[4096];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        outcome.closed_after = outcome.status != 0;
        break;
      }
      in.append(buf, static_cast<size_t>(n));
      if (outcome.status == 0 && in.size() >= 12 && in.starts_with("HTTP/1.")) {
        outcome.status = std::atoi(in.c_str() + 9);
        outcome.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        pending.clear();
        body_left = 0;
      }
    } else if (p.revents & (POLLERR | POLLHUP)) {
      break;
    } else if (!pending.empty() && (p.revents & POLLOUT)) {
      ssize_t n = ::send(fd, pending.data(), pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN) {
        pending.clear();
        body_left = 0;
      } else if (n > 0) {
        pending.erase(0, static_cast<size_t>(n));
      }
    }
  }
  ::close(fd);
  return outcome;
}

LatencyProbe::LatencyProbe(std::string url, std::string token)
    : url_(std::move(url)), token_(std::move(token)), thread_([this] {
        auto client = core::HttpClient::Create(url_, std::chrono::seconds(5));
        if (!client.ok()) return void(++failed_);
        std::string body = R"({"token":")" + token_ + R"("})";
        while (!stop_.load()) {
          auto t0 = Clock::now();
          auto r = (*client)->Request("POST", "/v1/validate", body, {{"Content-Type", "application/json"}});
          double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
          if (r.ok() && r->status == 200 && r->body.find("\"active\":true") != std::string::npos) {
            ++answered_;
            latencies_ms_.push_back(ms);
          } else {
            ++failed_;
          }
        }
      }) {}

LatencyProbe::~LatencyProbe() { Stop(); }

void LatencyProbe::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

double LatencyProbe::PercentileMs(double q) const { return Percentile(latencies_ms_, q); }

double ResidentMiB(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("VmRSS:")) return std::atof(line.c_str() + 6) / 1024.0;
  return -1;
}

}  // namespace tokenledger::bench
