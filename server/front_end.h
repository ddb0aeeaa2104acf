// The network front end: one io_context per I/O thread serving HTTP/1.1 (or HTTPS through Asio's OpenSSL
// stream) and, optionally, the Redis-protocol validation port. The only file that compiles
// Beast's async code (the expensive part of the build).
//
// HTTP: per connection, requests are read and answered one at a time, in order; a pipelining
// client waits in the bounded read buffer and TCP, so queued responses per connection never
// exceed one. Every read and write has a timeout. A connection reuses one request, one response
// and one output buffer, and Beast parses headers straight into them: validation requests
// allocate nothing once a connection is warm. Writes complete on the ledger's writer thread and
// are posted back to the connection's own I/O context (one per thread, no strands), so no I/O
// thread ever waits for an fsync.
//
// RESP: requests are parsed by RespInterpreter from a fixed per-connection buffer; all complete
// requests of one read (pipelining) are answered with one write.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"
#include "projections/ledger.h"
#include "server/access_control.h"
#include "server/metrics.h"
#include "server/router.h"

namespace tokenledger::server {

struct FrontEndOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port
  int threads = 2;
  size_t body_limit = 64 * 1024;           // larger bodies get 413
  size_t header_limit = 16 * 1024;         // larger headers get 431
  std::chrono::seconds read_timeout{30};   // a whole request, an idle keep-alive or RESP connection
  std::chrono::seconds write_timeout{30};  // a whole response, and a TLS handshake
  // Open connections (HTTP and RESP together); one more is accepted and closed at once, so a
  // flood of connections costs a bounded amount of memory and file descriptors.
  size_t max_connections = 16384;
  std::string tls_cert_file;               // both set: serve HTTPS
  std::string tls_key_file;
  std::optional<std::string> resp_host;    // set: serve RESP on resp_host:resp_port
  std::uint16_t resp_port = 0;
};

struct FrontEndAddresses {
  std::string http_url;     // "http://HOST:PORT" or "https://HOST:PORT", with the real port
  std::string resp_address;  // "HOST:PORT" when RESP is on, else empty
};

// Start() binds; Run() serves until SIGINT/SIGTERM or Shutdown(), then drains: it stops
// accepting, lets in-flight requests finish and be answered, closes idle connections, returns.
class FrontEnd {
 public:
  // Everything referenced must outlive the front end.
  FrontEnd(FrontEndOptions options, Router& router, const projections::Ledger& ledger,
           const AccessControl& access, ServerMetrics& metrics);
  ~FrontEnd();

  // Loads the TLS certificate and key (InvalidArgument naming the file on failure), resolves
  // and binds the listen addresses (IoError when in use). Returns the real addresses.
  core::Result<FrontEndAddresses> Start();
  // Runs the I/O threads (the caller's thread is one of them) until drained.
  void Run();
  // Begins the graceful shutdown; thread-safe, idempotent.
  void Shutdown();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tokenledger::server
