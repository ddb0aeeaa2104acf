// Time as the ledger sees it: whole seconds since the Unix epoch, UTC.
#pragma once

#include <atomic>
#include <cstdint>

namespace tokenledger::core {

// Seconds since 1970-01-01T00:00:00Z. The API and the events carry second precision.
using Timestamp = std::int64_t;

// Source of the current time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
};

// The wall clock (std::chrono::system_clock), truncated to whole seconds.
class SystemClock final : public Clock {
 public:
  Timestamp Now() const override;
};

// A clock that only moves when told to; for tests. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Timestamp start) : now_(start) {}
  Timestamp Now() const override { return now_.load(); }
  void Set(Timestamp t) { now_.store(t); }
  void Advance(std::int64_t seconds) { now_.fetch_add(seconds); }

 private:
  std::atomic<Timestamp> now_;
};

}  // namespace tokenledger::core
