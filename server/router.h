// The HTTP API: a declarative route table, request parsing and validation, the Status -> HTTP
// mapping and JSON rendering. Pure with respect to the network: it never touches a socket.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "projections/ledger.h"
#include "server/access_control.h"
#include "server/http_types.h"
#include "server/metrics.h"

namespace tokenledger::server {

inline constexpr size_t kMaxListLimit = 1000;
inline constexpr size_t kDefaultListLimit = 100;
inline constexpr std::uint64_t kDefaultEventsLimit = 1000;
inline constexpr std::uint64_t kMaxEventsLimit = 1000000;
inline constexpr std::uint64_t kMaxWaitSeconds = 60;
inline constexpr size_t kMaxLeakSourceLength = 100;

// Hands out the Responder for an answer that comes later, from another thread.
using DeferFn = std::function<Responder()>;
// Runs a task on a thread that may block (the front end's worker pool), never on an I/O thread.
using OffloadFn = std::function<void(std::function<void()>)>;

// Thread-safe: Handle may run on any number of threads at once.
class Router {
 public:
  // ledger, access and metrics must outlive the router. metrics is labelled with RouteNames().
  Router(projections::Ledger& ledger, const AccessControl& access, ServerMetrics& metrics);

  // The route labels used in metrics, by route index.
  static std::vector<std::string_view> RouteNames();

  // Answers request. Returns true when `response` (reset by the caller) holds the answer now:
  // reads, validation and bad input. Returns false when the answer comes later, from the
  // ledger's writer thread after the fsync, through the Responder it took from defer() (called
  // at most once; it may even have been called already). Never throws. Validation routes
  // allocate nothing when request and response are reused (see http_types.h).
  bool Handle(const HttpRequest& request, HttpResponse& response, const DeferFn& defer);
  // The same, answering through respond either way (tests, tools).
  void Handle(const HttpRequest& request, Responder respond);

  // Where answers that read RocksDB or sign run (history, exports, the signed head, as-of
  // listings and validations), so an I/O thread never waits for a disk read. Set before
  // serving; without it they run on the calling thread (tests, tools).
  void SetOffload(OffloadFn offload) { offload_ = std::move(offload); }

  // After this, /readyz answers 503 and waiting long-polls are answered at once, empty (used
  // while shutting down, so no request holds the drain up for its wait).
  void SetDraining() {
    draining_.store(true);
    ledger_.CancelWaits();
  }

 private:
  struct Route;
  struct Params;
  struct Path;
  class Reply;
  using Handler = void (Router::*)(const HttpRequest&, const Params&, Reply&);

  void HandleHealthz(const HttpRequest&, const Params&, Reply&);
  void HandleReadyz(const HttpRequest&, const Params&, Reply&);
  void HandleMetrics(const HttpRequest&, const Params&, Reply&);
  void HandleValidate(const HttpRequest&, const Params&, Reply&);
  void HandleIntrospect(const HttpRequest&, const Params&, Reply&);
  void HandleAuth(const HttpRequest&, const Params&, Reply&);
  void HandleCreate(const HttpRequest&, const Params&, Reply&);
  void HandleList(const HttpRequest&, const Params&, Reply&);
  void HandleGet(const HttpRequest&, const Params&, Reply&);
  void HandleDelete(const HttpRequest&, const Params&, Reply&);
  void HandleRotate(const HttpRequest&, const Params&, Reply&);
  void HandleConsole(const HttpRequest&, const Params&, Reply&);
  void HandleBatchRevoke(const HttpRequest&, const Params&, Reply&);
  // POST /v1/tokens/revoke-leaked: revokes the active tokens among the secrets given.
  void HandleRevokeLeaked(const HttpRequest&, const Params&, Reply&);
  void HandleEvents(const HttpRequest&, const Params&, Reply&);
  void HandleHistory(const HttpRequest&, const Params&, Reply&);
  void HandleExport(const HttpRequest&, const Params&, Reply&);
  void HandleLedgerHead(const HttpRequest&, const Params&, Reply&);
  // POST /v1/validate with as_of: "was this token valid then?" (reads RocksDB).
  void ValidateAsOf(std::string_view token, std::optional<std::string_view> ns, std::string_view as_of, Reply&);
  // Resolves an as_of value (a seq or an RFC 3339 time) against the ledger.
  core::Result<projections::AsOf> ResolveAsOf(std::string_view text) const;

  bool Dispatch(size_t index, const HttpRequest& request, const Params& params, HttpResponse& response,
                const DeferFn& defer);
  // Answers through work, run by offload_ (or here without one). work must answer through the
  // Reply it is given, synchronously; request must outlive it (the connection keeps it until
  // the answer is written).
  void Offload(Reply& reply, std::function<void(Reply&)> work);
  // A target that is not valid where the route reads it: 400, or for a gateway route (its
  // index given) a 401, the only denial gateways pass on as such.
  bool BadTarget(std::optional<size_t> gateway_route, HttpResponse& response);

  // The validator credential of a validation request: X-Validator-Token, else the bearer one.
  bool MayValidate(const HttpRequest& request) const;
  static bool PathMatches(const Route& route, const Path& path);
  static const std::vector<Route>& Routes();

  projections::Ledger& ledger_;
  const AccessControl& access_;
  ServerMetrics& metrics_;
  std::atomic<bool> draining_{false};
  OffloadFn offload_;
};

// The contract's error response: status and {"error": {"code", "message"}}.
HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message);

}  // namespace tokenledger::server
