// Loopback load generators for the gateway benchmarks (docs/benchmarks.md): a RESP client in
// the style of redis-benchmark (closed loop, N connections, P pipelined requests each), used for
// both Redis GET and tokenledgerd VALIDATE so the ratio compares servers, not clients; and an
// open-loop HTTP client that sends at a fixed rate and measures latency from each request's
// scheduled time (no coordinated omission).
#pragma once

#include <string>
#include <vector>

namespace tokenledger::bench {

// Lines of a file (keys or token secrets).
std::vector<std::string> ReadLines(const std::string& path);

// Where and how long to load, for either generator.
struct LoadTarget {
  std::string host = "127.0.0.1";
  int port = 0;
  int connections = 50;
  double seconds = 10;
  std::string label;  // printed as the metric name prefix
};

struct RespLoadOptions {
  LoadTarget target;
  int pipeline = 16;
  std::string command;            // "GET" or "VALIDATE": the first word of every request
  std::vector<std::string> keys;  // the second word, drawn at random per request
};
// Prints "<label>_per_second N req/s" and "<label>_hits N %"; returns 0 unless nothing ran.
int RunRespLoad(const RespLoadOptions& options);

struct HttpRateOptions {
  LoadTarget target;
  double rate = 10000;  // requests per second, spread evenly
  std::string path = "/v1/auth";
  std::vector<std::string> tokens;  // sent as "Authorization: Bearer <token>", at random
};
// Prints achieved rate and latency percentiles (p50, p99, p99.9) from the scheduled send time.
int RunHttpRate(const HttpRateOptions& options);

}  // namespace tokenledger::bench
