// Lock-free metric primitives (a counter, a gauge, a latency histogram) and their Prometheus
// text rendering. Recording is a relaxed atomic add to a cache line of the calling thread's
// shard, so the hot paths (validation on every I/O thread, the writer thread) record on every
// request without a lock, an allocation or cache-line ping-pong between threads; reading sums
// the shards.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace tokenledger::core {

inline constexpr size_t kMetricShards = 8;
// The calling thread's shard, 0..kMetricShards-1 (threads take them round robin).
size_t MetricShard();

// Thread-safe.
class Counter {
 public:
  void Add(std::uint64_t n = 1) { shards_[MetricShard()].value.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const {
    std::uint64_t sum = 0;
    for (const auto& s : shards_) sum += s.value.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  struct alignas(64) Shard {
    std::atomic<std::uint64_t> value{0};
  };
  std::array<Shard, kMetricShards> shards_;
};

// Thread-safe.
class Gauge {
 public:
  void Add(std::int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  void Set(std::int64_t n) { value_.store(n, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// A Prometheus histogram of durations with fixed buckets from 10 us to 10 s. Thread-safe.
class LatencyHistogram {
 public:
  // Upper bounds in microseconds; one more bucket counts everything above the last.
  static constexpr std::array<std::uint64_t, 19> kBoundsMicros = {
      10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
      100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

  void Observe(std::chrono::nanoseconds elapsed);

  // Appends the _bucket, _sum and _count series of metric `name`; `labels` is either empty or
  // `key="value",...` without braces.
  void AppendPrometheus(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<Counter, kBoundsMicros.size() + 1> buckets_;  // not cumulative; they sum to _count
  Counter sum_nanos_;
};

// Appends "# HELP name help\n# TYPE name type\n".
void AppendPrometheusHeader(std::string& out, std::string_view name, std::string_view type,
                            std::string_view help);
// Appends "name{labels} value\n" (no braces when labels is empty).
void AppendPrometheusSample(std::string& out, std::string_view name, std::string_view labels,
                            std::uint64_t value);

}  // namespace tokenledger::core
