#include "projections/epoch_reclaimer.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace tokenledger::projections {
namespace {

// Enough for every I/O thread, writer and test thread at once; slots are reused when a thread
// exits. Each slot holds 0 (not reading) or the global epoch its thread saw on entering.
constexpr size_t kMaxReaderThreads = 1024;

struct alignas(64) ReaderSlot {
  std::atomic<std::uint64_t> epoch{0};
  std::atomic<bool> taken{false};
};

ReaderSlot g_slots[kMaxReaderThreads];
std::atomic<std::uint64_t> g_epoch{1};

// The calling thread's slot, claimed on its first read and released when the thread ends.
class ThreadSlot {
 public:
  ThreadSlot() {
    for (size_t i = 0; i < kMaxReaderThreads; ++i) {
      bool expected = false;
      if (g_slots[i].taken.compare_exchange_strong(expected, true)) {
        slot_ = &g_slots[i];
        return;
      }
    }
    std::fputs("fatal: more than 1024 threads read the token index at once\n", stderr);
    std::abort();
  }
  ~ThreadSlot() {
    slot_->epoch.store(0);
    slot_->taken.store(false);
  }
  ReaderSlot* slot_ = nullptr;
  int depth_ = 0;
};

ThreadSlot& CurrentThreadSlot() {
  thread_local ThreadSlot slot;
  return slot;
}

}  // namespace

ReadGuard::ReadGuard() {
  ThreadSlot& ts = CurrentThreadSlot();
  if (ts.depth_++ == 0) {
    // seq_cst store: the writer's scan after its seq_cst unlink either sees this epoch, or this
    // reader's seq_cst loads see the unlinked state (store buffering is forbidden between
    // seq_cst operations).
    ts.slot_->epoch.store(g_epoch.load(std::memory_order_seq_cst), std::memory_order_seq_cst);
  }
}

ReadGuard::~ReadGuard() {
  ThreadSlot& ts = CurrentThreadSlot();
  if (--ts.depth_ == 0) ts.slot_->epoch.store(0, std::memory_order_release);
}

EpochReclaimer::~EpochReclaimer() {
  for (auto& [epoch, deleter] : retired_) deleter();
}

void EpochReclaimer::Retire(std::function<void()> deleter) {
  // The unlink before this call was a seq_cst store (see active_token_index.cc), so this
  // seq_cst load cannot be ordered before it.
  retired_.emplace_back(g_epoch.load(std::memory_order_seq_cst), std::move(deleter));
}

size_t EpochReclaimer::Reclaim() {
  if (retired_.empty()) return 0;
  g_epoch.fetch_add(1, std::memory_order_seq_cst);
  std::uint64_t oldest_reader = UINT64_MAX;
  for (auto& slot : g_slots) {
    std::uint64_t e = slot.epoch.load(std::memory_order_seq_cst);
    if (e != 0 && e < oldest_reader) oldest_reader = e;
  }
  // An object retired at epoch r may be seen only by readers that entered at an epoch <= r.
  size_t kept = 0;
  for (auto& entry : retired_) {
    if (entry.first < oldest_reader) {
      entry.second();
    } else {
      retired_[kept++] = std::move(entry);
    }
  }
  retired_.resize(kept);
  return kept;
}

}  // namespace tokenledger::projections
