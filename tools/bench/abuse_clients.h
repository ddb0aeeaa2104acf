// Misbehaving clients for the front door's abuse tests and benchmark (tests/integration/
// abuse_tests.cc, tl_bench abuse): slow senders, idle connections, endless pipelining, huge
// headers and bodies, each over raw loopback sockets; and the well-behaved client whose
// validation latency is measured meanwhile.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace tokenledger::bench {

// A connected TCP socket to 127.0.0.1:port, or -1.
int ConnectLoopback(std::uint16_t port);

// Raises this process's open-files soft limit to its hard limit; returns the new soft limit.
long RaiseOpenFilesLimit();

// n connections opened and left silent (an idle keep-alive crowd). Closed on destruction.
class IdleConnections {
 public:
  IdleConnections(std::uint16_t port, size_t n);
  ~IdleConnections();
  size_t opened() const { return fds_.size(); }
  // How many the server has closed so far (readable with EOF or an error).
  size_t ClosedByServer() const;

 private:
  std::vector<int> fds_;
};

// Slowloris: n connections, each sending a request's header one byte per interval and never
// finishing it. Runs on its own thread until the destructor; counts the connections the server
// closed and when the first and last were.
class Slowloris {
 public:
  Slowloris(std::uint16_t port, size_t n, std::chrono::milliseconds interval);
  ~Slowloris();
  size_t opened() const { return opened_.load(); }
  size_t closed_by_server() const { return closed_.load(); }

 private:
  void Run(std::uint16_t port, size_t n, std::chrono::milliseconds interval);
  std::atomic<bool> stop_{false};
  std::atomic<size_t> opened_{0}, closed_{0};
  std::thread thread_;
};

// One connection writing validation requests as fast as it can without reading a single
// response. Runs until the server stops taking bytes for good (closes, or the write times out
// after stall_limit) or the destructor.
class Pipeliner {
 public:
  Pipeliner(std::uint16_t port, std::string request, std::chrono::seconds stall_limit);
  ~Pipeliner();
  std::uint64_t bytes_sent() const { return sent_.load(); }
  bool closed_by_server() const { return closed_.load(); }
  bool done() const { return done_.load(); }

 private:
  void Run(std::uint16_t port, std::string request, std::chrono::seconds stall_limit);
  std::atomic<bool> stop_{false}, closed_{false}, done_{false};
  std::atomic<std::uint64_t> sent_{0};
  std::thread thread_;
};

// Sends head (and then body_bytes of 'x' as far as the server takes them) on a new connection
// and reads the response's status line. status 0: no response before the timeout.
struct RawOutcome {
  int status = 0;
  bool closed_after = false;  // the server closed the connection after answering
  double seconds = 0;         // from connect to the status line
};
RawOutcome SendRaw(std::uint16_t port, const std::string& head, size_t body_bytes, std::chrono::seconds timeout);

// A well-behaved client: POST /v1/validate of one token on a kept-alive connection, one
// request at a time, until Stop(); every latency kept.
class LatencyProbe {
 public:
  LatencyProbe(std::string url, std::string token);
  ~LatencyProbe();
  void Stop();
  // After Stop(): answers (all 200 with the expected activity), failures, and percentiles in ms.
  long answered() const { return answered_; }
  long failed() const { return failed_; }
  double PercentileMs(double q) const;

 private:
  std::string url_, token_;
  std::atomic<bool> stop_{false};
  long answered_ = 0, failed_ = 0;
  std::vector<double> latencies_ms_;
  std::thread thread_;
};

// Resident memory of a process in MiB (VmRSS), or -1.
double ResidentMiB(int pid);

}  // namespace tokenledger::bench
