#include "projections/replay.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "events/event_codec.h"

namespace tokenledger::projections {
namespace {

constexpr size_t kBatchEvents = 2048;
constexpr size_t kBatchesInFlight = 8;

// A batch of decoded events; its Event objects are reused from batch to batch, so decoding
// mostly writes into strings that already have room.
struct Batch {
  std::vector<events::Event> events;
  size_t size = 0;
};

// Decoded events handed from the reading thread to the applying one, in order, bounded; the
// applied batches go back to the reader for reuse.
class BatchQueue {
 public:
  // A batch to fill: a returned one, or a new one.
  Batch Take() {
    std::lock_guard lock(mutex_);
    if (free_.empty()) return {};
    Batch b = std::move(free_.back());
    free_.pop_back();
    b.size = 0;
    return b;
  }
  void Return(Batch batch) {
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(batch));
  }
  // Blocks while the queue is full; false once the consumer has stopped.
  bool Push(Batch batch) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return batches_.size() < kBatchesInFlight || stopped_; });
    if (stopped_) return false;
    batches_.push_back(std::move(batch));
    not_empty_.notify_one();
    return true;
  }
  // An empty batch once the producer has finished and everything was taken.
  Batch Pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !batches_.empty() || finished_; });
    if (batches_.empty()) return {};
    Batch batch = std::move(batches_.front());
    batches_.pop_front();
    not_full_.notify_one();
    return batch;
  }
  void Finish(core::Status status) {
    std::lock_guard lock(mutex_);
    finished_ = true;
    status_ = std::move(status);
    not_empty_.notify_all();
  }
  void Stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    not_full_.notify_all();
  }
  core::Status status() {
    std::lock_guard lock(mutex_);
    return status_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Batch> batches_;
  std::vector<Batch> free_;
  bool finished_ = false, stopped_ = false;
  core::Status status_;
};

}  // namespace

core::Result<std::uint64_t> Replay(const events::EventStore& store, std::uint64_t first_seq, std::uint64_t last_seq,
                                   TokenTable& table, const std::function<void(std::uint64_t)>& progress,
                                   const std::function<void(const events::Event&)>& on_applied) {
  std::uint64_t applied = 0;
  if (last_seq < first_seq) return applied;
  // Reading and decoding (RocksDB, SHA-256, cereal) run on a second thread, applying on this
  // one: each is about half the work, so a replay takes about half as long on two cores.
  // At most one token per event: no rehashing while the table grows.
  table.Reserve(table.size() + static_cast<size_t>(std::min<std::uint64_t>(last_seq - first_seq + 1, store.head_seq())));
  BatchQueue queue;
  std::thread reader([&] {
    Batch batch = queue.Take();
    events::StoredEventDecoder decoder;
    core::Status failure = core::Status::Ok();
    std::uint64_t expected = first_seq;
    core::Status scan = store.ScanRaw(first_seq, [&](std::uint64_t seq, std::string_view bytes) {
      if (batch.size == batch.events.size()) batch.events.emplace_back();
      events::Event& event = batch.events[batch.size];
      core::Status decoded = decoder.Decode(bytes, event);
      if (!decoded.ok() || event.seq != seq || seq != expected) {
        failure = core::Status::Corruption("event " + std::to_string(seq) + ": " +
                                           (decoded.ok() ? "out of sequence" : decoded.message()));
        return false;
      }
      ++expected;
      if (++batch.size == kBatchEvents) {
        if (!queue.Push(std::move(batch))) return false;
        batch = queue.Take();
      }
      return seq < last_seq;
    });
    if (batch.size > 0 && failure.ok() && scan.ok()) queue.Push(std::move(batch));
    queue.Finish(!scan.ok() ? scan : failure);
  });
  core::Status apply = core::Status::Ok();
  for (Batch batch = queue.Pop(); batch.size > 0 && apply.ok(); batch = queue.Pop()) {
    // The index slot of each id is a likely cache miss: ask for it a few events ahead.
    constexpr size_t kAhead = 16;
    for (size_t i = 0; i < std::min(kAhead, batch.size); ++i) table.Prefetch(events::TokenIdOf(batch.events[i].payload));
    for (size_t i = 0; i < batch.size; ++i) {
      if (i + kAhead < batch.size) table.Prefetch(events::TokenIdOf(batch.events[i + kAhead].payload));
      apply = table.Apply(batch.events[i]);
      if (!apply.ok()) break;
      if (on_applied) on_applied(batch.events[i]);
      if (progress && ++applied % 65536 == 0) progress(applied);
      else if (!progress) ++applied;
    }
    queue.Return(std::move(batch));
  }
  queue.Stop();  // the reader may be waiting to push after an apply failure
  reader.join();
  if (!apply.ok()) return apply;
  core::Status read = queue.status();
  if (!read.ok()) return read;
  return applied;
}

core::Result<AsOf> ResolveAsOf(const events::EventStore& store, const events::LedgerPoint& point, core::Timestamp now) {
  if (point.seq) {
    std::uint64_t head = store.head_seq();
    if (*point.seq > head)
      return core::Status::InvalidArgument("as_of seq " + std::to_string(*point.seq) + " is beyond the ledger head " +
                                           std::to_string(head));
    if (*point.seq == 0) return AsOf{0, 0};
    auto event = store.Read(*point.seq);
    if (!event.ok()) return event.status();
    return AsOf{*point.seq, event->recorded_at};
  }
  if (point.time > now) return core::Status::InvalidArgument("as_of is in the future");
  auto seq = store.LastSeqAtOrBefore(point.time);
  if (!seq.ok()) return seq.status();
  return AsOf{*seq, point.time};
}

}  // namespace tokenledger::projections
