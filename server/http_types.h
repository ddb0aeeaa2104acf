// The HTTP request and response as the router sees them: plain values, no Beast, so routes are
// testable without a socket and only the front end compiles Beast's async code. A connection
// reuses one of each for all its requests (Clear keeps the strings' capacity), which is what
// lets the validation path run without allocating.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tokenledger::server {

struct HttpRequest {
  std::string method;         // "GET", "POST", ...
  std::string target;         // origin-form: "/v1/namespaces/acme%2Fprod/tokens?limit=5"
  std::string authorization;  // the Authorization header, empty when absent
  std::string actor;          // the X-Actor header
  bool has_actor = false;
  std::string required_namespace;  // the X-Required-Namespace header (gateway sub-requests)
  bool has_required_namespace = false;
  std::string validator_token;  // the X-Validator-Token header
  std::string content_type;     // the Content-Type header
  std::string body;

  void Clear();
};

struct HttpResponse {
  int status = 200;
  std::string_view content_type = "application/json";  // always a string literal
  std::string body;
  std::string headers;  // extra header lines, each "Name: value\r\n" (see AddHeader)
  bool close = false;   // close the connection after this response

  // Appends a header line. name and value must not hold CR or LF (ours are generated or
  // validated: ids, namespaces, times, fixed strings).
  void AddHeader(std::string_view name, std::string_view value);
  // The value of the first header named name (case-insensitive), if any.
  std::optional<std::string_view> Header(std::string_view name) const;
  // Back to a fresh 200 JSON response; keeps the strings' capacity.
  void Reset();
};

// Called exactly once with the response, from any thread.
using Responder = std::function<void(HttpResponse)>;

}  // namespace tokenledger::server
