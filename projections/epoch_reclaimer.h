// Epoch-based memory reclamation: lets readers traverse shared structures without any lock
// while one writer unlinks and later frees what they might still be reading.
//
// A reader wraps each traversal in a ReadGuard (wait-free: one store to a cache line owned by
// its thread). The writer unlinks an object, Retire()s it, and Reclaim() frees it once every
// reader that could have seen it has left its guard.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace tokenledger::projections {

// RAII read-side critical section; cheap, may nest, must stay on one thread.
class ReadGuard {
 public:
  ReadGuard();
  ~ReadGuard();
  ReadGuard(const ReadGuard&) = delete;
  ReadGuard& operator=(const ReadGuard&) = delete;
};

// Holds objects retired by one writer until no reader can reach them. Not thread-safe: owned
// by that writer. Frees everything still retired on destruction (no reader may remain then).
class EpochReclaimer {
 public:
  EpochReclaimer() = default;
  ~EpochReclaimer();
  EpochReclaimer(const EpochReclaimer&) = delete;
  EpochReclaimer& operator=(const EpochReclaimer&) = delete;

  // Schedules deleter to run once no reader that was inside a guard now is still inside it.
  // Call after the object has been unlinked from every shared pointer with a seq_cst store,
  // and have readers load those pointers with seq_cst (see active_token_index.cc for why).
  void Retire(std::function<void()> deleter);
  // Runs the deleters that have become safe. Returns how many are still pending.
  size_t Reclaim();

 private:
  std::vector<std::pair<std::uint64_t, std::function<void()>>> retired_;
};

}  // namespace tokenledger::projections
