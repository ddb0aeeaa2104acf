// The HTTP API: a declarative route table, request parsing and validation, the Status -> HTTP
// mapping and JSON rendering. Pure with respect to the network: it never touches a socket.
#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include <boost/url/segments_encoded_view.hpp>

#include "core/digest.h"
#include "projections/ledger.h"
#include "server/http_types.h"

namespace tokenledger::server {

inline constexpr size_t kMaxListLimit = 1000;
inline constexpr size_t kDefaultListLimit = 100;

// Thread-safe: Handle may run on any number of threads at once.
class Router {
 public:
  // ledger must outlive the router. admin_token is the management credential.
  Router(projections::Ledger& ledger, const std::string& admin_token);

  // Answers request through respond, exactly once: at once for reads and bad input, from the
  // ledger's writer thread after the fsync for writes. Never throws.
  void Handle(const HttpRequest& request, Responder respond);

  // After this, /readyz answers 503 (used while shutting down).
  void SetDraining() { draining_.store(true); }

 private:
  struct Route;
  struct Params;
  using Handler = void (Router::*)(const HttpRequest&, const Params&, Responder&);

  void HandleHealthz(const HttpRequest&, const Params&, Responder&);
  void HandleReadyz(const HttpRequest&, const Params&, Responder&);
  void HandleValidate(const HttpRequest&, const Params&, Responder&);
  void HandleCreate(const HttpRequest&, const Params&, Responder&);
  void HandleList(const HttpRequest&, const Params&, Responder&);
  void HandleGet(const HttpRequest&, const Params&, Responder&);
  void HandleDelete(const HttpRequest&, const Params&, Responder&);
  void HandleBatchRevoke(const HttpRequest&, const Params&, Responder&);

  bool IsAdmin(const HttpRequest& request) const;
  static bool PathMatches(const Route& route, boost::urls::segments_encoded_view segments);

  projections::Ledger& ledger_;
  core::Sha256Digest admin_digest_;
  std::atomic<bool> draining_{false};
  static const std::vector<Route>& Routes();
};

// The contract's error response: status and {"error": {"code", "message"}}.
HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message);

}  // namespace tokenledger::server
