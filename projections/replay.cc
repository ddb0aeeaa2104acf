#include "projections/replay.h"

#include <algorithm>
#include <thread>
#include <vector>

#include "events/event_codec.h"
#include "projections/batch_pipe.h"

namespace tokenledger::projections {
namespace {

constexpr size_t kBatchEvents = 2048;
using EventPipe = BatchPipe<events::Event>;

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
  EventPipe queue(kBatchEvents);
  std::thread reader([&] {
    EventPipe::Batch batch = queue.Take();
    events::StoredEventDecoder decoder;
    core::Status failure = core::Status::Ok();
    std::uint64_t expected = first_seq;
    core::Status scan = store.ScanRaw(first_seq, [&](std::uint64_t seq, std::string_view bytes) {
      if (batch.size == batch.items.size()) batch.items.emplace_back();
      events::Event& event = batch.items[batch.size];
      core::Status decoded = decoder.Decode(bytes, event);
      if (!decoded.ok() || event.seq != seq || seq != expected) {
        failure = core::Status::Corruption("event " + std::to_string(seq) + ": " +
                                           (decoded.ok() ? "out of sequence" : decoded.message()));
        return false;
      }
      ++expected;
      if (++batch.size == queue.batch_size()) {
        if (!queue.Push(std::move(batch))) return false;
        batch = queue.Take();
      }
      return seq < last_seq;
    });
    if (batch.size > 0 && failure.ok() && scan.ok()) queue.Push(std::move(batch));
    queue.Finish(!scan.ok() ? scan : failure);
  });
  core::Status apply = core::Status::Ok();
  for (EventPipe::Batch batch = queue.Pop(); batch.size > 0 && apply.ok(); batch = queue.Pop()) {
    // The index slot of each id is a likely cache miss: ask for it a few events ahead.
    constexpr size_t kAhead = 16;
    for (size_t i = 0; i < std::min(kAhead, batch.size); ++i) table.Prefetch(events::TokenIdOf(batch.items[i].payload));
    for (size_t i = 0; i < batch.size; ++i) {
      if (i + kAhead < batch.size) table.Prefetch(events::TokenIdOf(batch.items[i + kAhead].payload));
      apply = table.Apply(batch.items[i]);
      if (!apply.ok()) break;
      if (on_applied) on_applied(batch.items[i]);
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
