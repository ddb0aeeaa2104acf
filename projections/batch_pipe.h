// Hands batches of items from one producer thread to one consumer thread, in order, with at
// most eight batches in flight; consumed batches go back to the producer for reuse, so their
// items keep the memory they had. Replay and projection loading run their reading and decoding
// on one thread and their applying on another through it.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

#include "core/status.h"

namespace tokenledger::projections {

template <class T>
class BatchPipe {
 public:
  static constexpr size_t kBatchesInFlight = 8;

  struct Batch {
    std::vector<T> items;  // items[0, size) are filled; the rest are kept for reuse
    size_t size = 0;
  };

  explicit BatchPipe(size_t batch_size) : batch_size_(batch_size) {}
  size_t batch_size() const { return batch_size_; }

  // Producer: a batch to fill (a returned one, or a new one).
  Batch Take() {
    std::lock_guard lock(mutex_);
    if (free_.empty()) return {};
    Batch b = std::move(free_.back());
    free_.pop_back();
    b.size = 0;
    return b;
  }
  // Producer: blocks while the pipe is full; false once the consumer has stopped.
  bool Push(Batch batch) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return batches_.size() < kBatchesInFlight || stopped_; });
    if (stopped_) return false;
    batches_.push_back(std::move(batch));
    not_empty_.notify_one();
    return true;
  }
  // Producer: no more batches; status says whether producing succeeded.
  void Finish(core::Status status) {
    std::lock_guard lock(mutex_);
    finished_ = true;
    status_ = std::move(status);
    not_empty_.notify_all();
  }

  // Consumer: the next batch, or an empty one once the producer finished and all were taken.
  Batch Pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !batches_.empty() || finished_; });
    if (batches_.empty()) return {};
    Batch batch = std::move(batches_.front());
    batches_.pop_front();
    not_full_.notify_one();
    return batch;
  }
  // Consumer: gives a consumed batch back for reuse.
  void Return(Batch batch) {
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(batch));
  }
  // Consumer: stops early (a producer waiting to push is released and told to stop).
  void Stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    not_full_.notify_all();
  }
  // The producer's status (after Finish).
  core::Status status() {
    std::lock_guard lock(mutex_);
    return status_;
  }

 private:
  const size_t batch_size_;
  std::mutex mutex_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Batch> batches_;
  std::vector<Batch> free_;
  bool finished_ = false, stopped_ = false;
  core::Status status_;
};

}  // namespace tokenledger::projections
