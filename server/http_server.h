// The network front end: Asio + Beast HTTP/1.1 with keep-alive. The only file that compiles
// Beast's async code (it is the expensive part of the build).
//
// Per connection, requests are read and answered one at a time, in order: a pipelining client
// waits in the bounded read buffer and TCP, so queued responses per connection never exceed
// one. Every read and write has a timeout. Handlers run through the Router; writes complete on
// the ledger's writer thread and are posted back to the connection's strand, so no I/O thread
// ever waits for an fsync.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "server/router.h"

namespace tokenledger::server {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port
  int threads = 2;
  size_t body_limit = 64 * 1024;         // larger bodies get 413
  size_t header_limit = 16 * 1024;       // larger headers get 431
  std::chrono::seconds read_timeout{30};   // for a whole request, and idle keep-alive
  std::chrono::seconds write_timeout{30};
};

// Start() binds; Run() serves until SIGINT/SIGTERM or Shutdown(), then drains: it stops
// accepting, lets in-flight requests finish and be answered, closes idle connections, returns.
class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Router& router);
  ~HttpServer();

  // Resolves and binds the listen address. On success the server accepts connections once
  // Run() starts; returns "http://HOST:PORT" with the real port.
  core::Result<std::string> Start();
  // Runs the I/O threads (the caller's thread is one of them) until drained.
  void Run();
  // Begins the graceful shutdown; thread-safe, idempotent.
  void Shutdown();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tokenledger::server
