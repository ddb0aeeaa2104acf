// The HTTP request and response as the router sees them: plain values, no Beast, so routes are
// testable without a socket and only server/http_server.cc compiles Beast's async code.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tokenledger::server {

struct HttpRequest {
  std::string method;         // "GET", "POST", ...
  std::string target;         // origin-form: "/v1/namespaces/acme%2Fprod/tokens?limit=5"
  std::string authorization;  // the Authorization header, empty when absent
  std::string actor;          // the X-Actor header, empty when absent
  bool has_actor = false;
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string_view content_type = "application/json";  // always a string literal
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  // close the connection after this response
};

// Called exactly once with the response, from any thread.
using Responder = std::function<void(HttpResponse)>;

}  // namespace tokenledger::server
