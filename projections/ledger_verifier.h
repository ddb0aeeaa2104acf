// Offline proof that a data dir is intact: the log is gapless and hash-chained, every event
// decodes and obeys the lifecycle, and the persisted projection equals a full replay.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/digest.h"
#include "core/status.h"
#include "events/storage.h"

namespace tokenledger::projections {

struct VerifyReport {
  std::uint64_t events = 0;           // events read
  std::uint64_t head_seq = 0;         // last seq
  core::Sha256Digest head_hash{};     // its hash
  std::uint64_t checkpoint = 0;       // the persisted projection's seq
  std::uint64_t tokens = 0;           // tokens in the replayed projection
  std::vector<std::string> problems;  // empty iff verified
  bool ok() const { return problems.empty(); }
};

// Checks storage (a primary or secondary instance). Returns a report; the Status is non-ok
// only when the check itself could not run (I/O error).
core::Result<VerifyReport> VerifyLedger(events::Storage& storage);

}  // namespace tokenledger::projections
