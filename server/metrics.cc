#include "server/metrics.h"

namespace tokenledger::server {
namespace {

constexpr std::array<std::string_view, 2> kProtocolNames = {"http", "resp"};
constexpr std::array<projections::Validity, 4> kValidities = {
    projections::Validity::kActive, projections::Validity::kInactive, projections::Validity::kWrongNamespace,
    projections::Validity::kMalformed};

size_t ResultIndex(projections::Validity v) {
  for (size_t i = 0; i < kValidities.size(); ++i)
    if (kValidities[i] == v) return i;
  return 0;
}

}  // namespace

ServerMetrics::ServerMetrics(std::vector<std::string_view> route_names)
    : route_names_(std::move(route_names)), requests_(route_names_.size() + 1) {}

void ServerMetrics::CountRequest(size_t route, int status) {
  size_t row = route == kNoRoute || route >= route_names_.size() ? 0 : route + 1;
  size_t slot = kStatusSlots - 1;  // "other"
  for (size_t i = 0; i < kStatuses.size(); ++i)
    if (kStatuses[i] == status) slot = i;
  requests_[row][slot].Add();
}

void ServerMetrics::CountValidation(Protocol protocol, projections::Validity result,
                                    std::chrono::nanoseconds elapsed) {
  validations_[Index(protocol)][ResultIndex(result)].Add();
  validation_latency_[Index(protocol)].Observe(elapsed);
}

std::uint64_t ServerMetrics::validations(Protocol protocol, projections::Validity result) const {
  return validations_[Index(protocol)][ResultIndex(result)].value();
}

std::string ServerMetrics::Render(const projections::Ledger& ledger) const {
  std::string out;
  out.reserve(8192);
  core::AppendPrometheusHeader(out, "tokenledger_http_requests_total", "counter",
                               "HTTP requests answered, by route and status code.");
  for (size_t row = 0; row < requests_.size(); ++row) {
    std::string_view route = row == 0 ? std::string_view("none") : route_names_[row - 1];
    for (size_t slot = 0; slot < kStatusSlots; ++slot) {
      std::uint64_t n = requests_[row][slot].value();
      if (n == 0) continue;
      std::string status = slot < kStatuses.size() ? std::to_string(kStatuses[slot]) : "other";
      core::AppendPrometheusSample(out, "tokenledger_http_requests_total",
                                   "route=\"" + std::string(route) + "\",status=\"" + status + "\"", n);
    }
  }
  core::AppendPrometheusHeader(out, "tokenledger_validations_total", "counter",
                               "Token validations, by protocol and result (malformed: rejected before lookup).");
  for (size_t p = 0; p < kProtocolNames.size(); ++p)
    for (size_t r = 0; r < kValidities.size(); ++r)
      core::AppendPrometheusSample(out, "tokenledger_validations_total",
                                   "protocol=\"" + std::string(kProtocolNames[p]) + "\",result=\"" +
                                       std::string(projections::ValidityName(kValidities[r])) + "\"",
                                   validations_[p][r].value());
  core::AppendPrometheusHeader(out, "tokenledger_validation_duration_seconds", "histogram",
                               "Time to answer one validation inside the server, by protocol.");
  for (size_t p = 0; p < kProtocolNames.size(); ++p)
    validation_latency_[p].AppendPrometheus(out, "tokenledger_validation_duration_seconds",
                                            "protocol=\"" + std::string(kProtocolNames[p]) + "\"");
  core::AppendPrometheusHeader(out, "tokenledger_append_duration_seconds", "histogram",
                               "Time from a write request to its durable append (queue, decide, fsync, apply).");
  ledger.append_latency().AppendPrometheus(out, "tokenledger_append_duration_seconds", "");
  core::AppendPrometheusHeader(out, "tokenledger_open_connections", "gauge", "Open client connections, by protocol.");
  for (size_t p = 0; p < kProtocolNames.size(); ++p)
    core::AppendPrometheusSample(out, "tokenledger_open_connections",
                                 "protocol=\"" + std::string(kProtocolNames[p]) + "\"",
                                 static_cast<std::uint64_t>(std::max<std::int64_t>(0, connections_[p].value())));
  core::AppendPrometheusHeader(out, "tokenledger_connections_refused_total", "counter",
                               "Connections closed at accept because --max-connections were open.");
  core::AppendPrometheusSample(out, "tokenledger_connections_refused_total", "", connections_refused_.value());
  core::AppendPrometheusHeader(out, "tokenledger_connections_timed_out_total", "counter",
                               "Connections closed because a request, an idle wait or a response overran its timeout.");
  core::AppendPrometheusSample(out, "tokenledger_connections_timed_out_total", "", connections_timed_out_.value());
  core::AppendPrometheusHeader(out, "tokenledger_webhook_attempts_total", "counter",
                               "Webhook delivery attempts: answered 2xx (delivered) or not (failed; retried with backoff).");
  core::AppendPrometheusSample(out, "tokenledger_webhook_attempts_total", "result=\"delivered\"", webhooks_[0].value());
  core::AppendPrometheusSample(out, "tokenledger_webhook_attempts_total", "result=\"failed\"", webhooks_[1].value());
  core::AppendPrometheusHeader(out, "tokenledger_webhook_backlog", "gauge",
                               "Webhook notifications not yet delivered to every receiver.");
  core::AppendPrometheusSample(out, "tokenledger_webhook_backlog", "", webhook_backlog_.value());
  core::AppendPrometheusHeader(out, "tokenledger_ledger_head_seq", "gauge", "Sequence number of the last event.");
  core::AppendPrometheusSample(out, "tokenledger_ledger_head_seq", "", ledger.head_seq());
  core::AppendPrometheusHeader(out, "tokenledger_ledger_append_batches_total", "counter",
                               "fsync'd event batches (head seq / batches is the group-commit factor).");
  core::AppendPrometheusSample(out, "tokenledger_ledger_append_batches_total", "", ledger.append_batches());
  core::AppendPrometheusHeader(out, "tokenledger_active_tokens", "gauge", "Tokens in the active-token index.");
  core::AppendPrometheusSample(out, "tokenledger_active_tokens", "", ledger.active_tokens());
  core::AppendPrometheusHeader(out, "tokenledger_active_index_bytes", "gauge",
                               "Memory held by the active-token index (records, slots, namespace names).");
  core::AppendPrometheusSample(out, "tokenledger_active_index_bytes", "", ledger.active_index_bytes());
  core::AppendPrometheusHeader(out, "tokenledger_writes_refused", "gauge",
                               "1 after a failed write: every write is refused until restart.");
  core::AppendPrometheusSample(out, "tokenledger_writes_refused", "", ledger.writable() ? 0 : 1);
  core::AppendPrometheusHeader(out, "tokenledger_writes_overloaded_total", "counter",
                               "Writes answered 503 overloaded because the write queue was full.");
  core::AppendPrometheusSample(out, "tokenledger_writes_overloaded_total", "", ledger.queue_full_rejections());
  return out;
}

}  // namespace tokenledger::server
