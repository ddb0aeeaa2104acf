// The server's Prometheus metrics: requests by route and status, validations by protocol and
// result, validation latency, open connections; rendered together with the ledger's own
// figures (head seq, active tokens, append latency) for GET /metrics.
#pragma once

#include <array>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"
#include "projections/active_token_index.h"
#include "projections/ledger.h"

namespace tokenledger::server {

enum class Protocol { kHttp, kResp };

// Thread-safe; recording is lock-free and allocation-free.
class ServerMetrics {
 public:
  // route_names label the routes by index (see Router::RouteNames()); requests answered before
  // a route is known (bad HTTP, unknown path) count under route "none".
  explicit ServerMetrics(std::vector<std::string_view> route_names);

  static constexpr size_t kNoRoute = static_cast<size_t>(-1);
  void CountRequest(size_t route, int status);
  void CountValidation(Protocol protocol, projections::Validity result, std::chrono::nanoseconds elapsed);
  void ConnectionOpened(Protocol protocol) { connections_[Index(protocol)].Add(1); }
  void ConnectionClosed(Protocol protocol) { connections_[Index(protocol)].Add(-1); }
  std::int64_t open_connections(Protocol protocol) const { return connections_[Index(protocol)].value(); }
  // A connection closed at accept because --max-connections were open.
  void CountConnectionRefused() { connections_refused_.Add(1); }
  // A connection closed because a request, idle wait or response overran its timeout.
  void CountConnectionTimedOut() { connections_timed_out_.Add(1); }
  std::uint64_t validations(Protocol protocol, projections::Validity result) const;
  // An attempt to deliver a webhook: answered 2xx (delivered) or not (failed, retried).
  void CountWebhook(bool delivered) { webhooks_[delivered ? 0 : 1].Add(1); }
  // Notifications not yet delivered to every receiver.
  void SetWebhookBacklog(std::uint64_t n) { webhook_backlog_.Set(static_cast<std::int64_t>(n)); }

  // The Prometheus text exposition (version 0.0.4) of everything, ledger figures included.
  std::string Render(const projections::Ledger& ledger) const;

 private:
  // The statuses this server answers with; anything else counts as "other".
  static constexpr std::array<int, 13> kStatuses = {200, 201, 400, 401, 403, 404, 405,
                                                    409, 413, 415, 431, 500, 503};
  static constexpr size_t kStatusSlots = kStatuses.size() + 1;  // the last one is "other"
  static constexpr size_t kResults = 4;  // projections::Validity values
  static size_t Index(Protocol p) { return p == Protocol::kHttp ? 0 : 1; }

  std::vector<std::string_view> route_names_;
  std::vector<std::array<core::Counter, kStatusSlots>> requests_;  // [route + 1][status slot]
  std::array<std::array<core::Counter, kResults>, 2> validations_;
  std::array<core::LatencyHistogram, 2> validation_latency_;
  std::array<core::Gauge, 2> connections_;
  core::Counter connections_refused_;
  core::Counter connections_timed_out_;
  std::array<core::Counter, 2> webhooks_;  // delivered, failed
  core::Gauge webhook_backlog_;
};

}  // namespace tokenledger::server
