// Long-poll support: callers wait for the next event after a seq (optionally of one namespace)
// and are called back when the ledger appends one, or when their deadline passes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "events/event.h"

namespace tokenledger::projections {

// Thread-safe. Callbacks run without the lock held, on the thread that found them due:
// the waiter's own (an event is already there), or the ledger's writer thread (keep them short).
class EventWaiters {
 public:
  using Clock = std::chrono::steady_clock;
  // true: an event after `after` (of the namespace, if given) exists; false: the deadline
  // passed, or the waiters were cancelled (shutdown).
  using Callback = std::function<void(bool arrived)>;

  // Sets the last seq overall and per namespace (at load, before any Wait).
  void Reset(std::uint64_t head, std::unordered_map<std::string, std::uint64_t> namespace_heads);

  // Calls back at once if a matching event exists, else when one is published or at deadline.
  void Wait(std::uint64_t after, std::optional<std::string> namespace_id, Clock::time_point deadline,
            Callback callback);

  // Records appended events and calls back the waiters they satisfy.
  void Published(const std::vector<events::Event>& appended);
  // Calls back (false) every waiter whose deadline has passed.
  void ExpireDue(Clock::time_point now);
  // The earliest deadline of a waiter, if any.
  std::optional<Clock::time_point> NextDeadline() const;
  // Calls back (false) every waiter; later Waits are answered false at once.
  void CancelAll();

  // The last seq of the namespace (0 when it has no event).
  std::uint64_t NamespaceHead(std::string_view namespace_id) const;

 private:
  struct Waiter {
    std::uint64_t after;
    std::optional<std::string> namespace_id;
    Clock::time_point deadline;
    Callback callback;
  };
  bool SatisfiedLocked(const Waiter& w) const;
  std::uint64_t NamespaceHeadLocked(std::string_view namespace_id) const;

  mutable std::mutex mutex_;
  std::uint64_t head_ = 0;
  std::unordered_map<std::string, std::uint64_t> namespace_heads_;
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, Waiter> waiters_;  // by registration order
  bool cancelled_ = false;
};

}  // namespace tokenledger::projections
