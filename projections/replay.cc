#include "projections/replay.h"

namespace tokenledger::projections {

core::Result<std::uint64_t> Replay(const events::EventStore& store, std::uint64_t first_seq, std::uint64_t last_seq,
                                   TokenTable& table, const std::function<void(std::uint64_t)>& progress) {
  std::uint64_t applied = 0;
  core::Status apply = core::Status::Ok();
  if (last_seq < first_seq) return applied;
  core::Status scan = store.Scan(first_seq, [&](const events::Event& e) {
    apply = table.Apply(e);
    if (!apply.ok()) return false;
    ++applied;
    if (progress && applied % 65536 == 0) progress(applied);
    return e.seq < last_seq;
  });
  if (!scan.ok()) return scan;
  if (!apply.ok()) return apply;
  return applied;
}

}  // namespace tokenledger::projections
