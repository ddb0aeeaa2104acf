// A small synchronous HTTP/1.1 (or HTTPS) client over one keep-alive connection, for tokenctl,
// the server's outgoing webhooks, the integration tests and the benchmarks. Every step
// (connect, TLS handshake, write, read) is bounded by the timeout. Not thread-safe: one client
// per thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace tokenledger::core {

struct ClientResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // The first header of that name (case-insensitive), or empty.
  std::string Header(std::string_view name) const;
};

class HttpClient {
 public:
  // base_url: "http://HOST:PORT" or "https://HOST:PORT". For https the server's certificate
  // must chain to the system's CAs or to ca_file (PEM), and name HOST. InvalidArgument for
  // another scheme, a malformed URL or an unreadable ca_file.
  static core::Result<std::unique_ptr<HttpClient>> Create(std::string_view base_url,
                                                          std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                                          const std::string& ca_file = "");
  ~HttpClient();

  // Sends one request on the kept-alive connection (connecting, or reconnecting once if the
  // server closed it). headers are extra request headers. Unavailable on connection errors
  // and time-outs.
  core::Result<ClientResponse> Request(std::string_view method, std::string_view target, std::string_view body = {},
                                       const std::vector<std::pair<std::string, std::string>>& headers = {});

  // Opens a new connection, writes raw bytes and reads one response; for tests of malformed
  // and pipelined requests. ReadNext() then reads the following response on that connection.
  core::Result<ClientResponse> RawExchange(std::string_view bytes);
  core::Result<ClientResponse> ReadNext();

 private:
  class Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "acme/prod" -> "acme%2Fprod": a namespace as one path segment.
std::string EncodePathSegment(std::string_view segment);

}  // namespace tokenledger::core
