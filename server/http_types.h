// The HTTP request and response as the router sees them: plain values, no Beast, so routes are
// testable without a socket and only the front end compiles Beast's async code. A connection
// reuses one of each for all its requests (Clear keeps the strings' capacity), which is what
// lets the validation path run without allocating.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

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

// A response body produced piece by piece (event feeds, exports), so memory stays flat
// whatever its size. The front end calls Next on a worker thread, never on an I/O thread, and
// one call at a time; it sends the pieces with chunked transfer encoding.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  // Appends the next piece to out (empty on entry). Returns true while more pieces follow,
  // false after the last (which may be empty). An error aborts the response: the connection is
  // closed without the chunked body's end, so the client sees it cut short, never a truncated
  // body that looks whole.
  virtual core::Result<bool> Next(std::string& out) = 0;
};

struct HttpResponse {
  int status = 200;
  std::string_view content_type = "application/json";  // always a string literal
  std::string body;
  std::shared_ptr<BodyStream> stream;  // set: the body is streamed from it (body unused)
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
