#include "core/metrics.h"

#include <algorithm>
#include <cstdio>

namespace tokenledger::core {

size_t MetricShard() {
  static std::atomic<size_t> next{0};
  thread_local size_t shard = next.fetch_add(1, std::memory_order_relaxed) % kMetricShards;
  return shard;
}

void LatencyHistogram::Observe(std::chrono::nanoseconds elapsed) {
  std::uint64_t nanos = elapsed.count() < 0 ? 0 : static_cast<std::uint64_t>(elapsed.count());
  std::uint64_t micros = nanos / 1000;
  // The first bound >= micros: the bucket this sample belongs to (Prometheus "le").
  size_t bucket = static_cast<size_t>(
      std::lower_bound(kBoundsMicros.begin(), kBoundsMicros.end(), micros) - kBoundsMicros.begin());
  buckets_[bucket].Add();
  sum_nanos_.Add(nanos);
}

void LatencyHistogram::AppendPrometheus(std::string& out, std::string_view name,
                                        std::string_view labels) const {
  std::string bucket_name = std::string(name) + "_bucket";
  std::string prefix = labels.empty() ? std::string() : std::string(labels) + ",";
  std::uint64_t cumulative = 0;
  char le[32];
  for (size_t i = 0; i < kBoundsMicros.size(); ++i) {
    cumulative += buckets_[i].value();
    std::snprintf(le, sizeof le, "%g", static_cast<double>(kBoundsMicros[i]) / 1e6);
    AppendPrometheusSample(out, bucket_name, prefix + "le=\"" + le + "\"", cumulative);
  }
  cumulative += buckets_.back().value();
  AppendPrometheusSample(out, bucket_name, prefix + "le=\"+Inf\"", cumulative);
  char sum[64];
  std::snprintf(sum, sizeof sum, "%.9f", static_cast<double>(sum_nanos_.value()) / 1e9);
  out.append(name).append("_sum");
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(sum).append("\n");
  // _count equals the +Inf bucket so a scrape is self-consistent even while samples arrive.
  AppendPrometheusSample(out, std::string(name) + "_count", labels, cumulative);
}

void AppendPrometheusHeader(std::string& out, std::string_view name, std::string_view type,
                            std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void AppendPrometheusSample(std::string& out, std::string_view name, std::string_view labels,
                            std::uint64_t value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(std::to_string(value)).append("\n");
}

}  // namespace tokenledger::core
