// Offline proof that a data dir is intact: the log is gapless and hash-chained, every event
// decodes and obeys the lifecycle, recorded_at never decreases, the persisted projection (rows
// and digests) equals a full replay, and the saved signed head is validly signed and names an
// event of this log.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/digest.h"
#include "core/status.h"
#include "core/signing.h"
#include "events/signed_head.h"
#include "events/storage.h"

namespace tokenledger::projections {

struct VerifyOptions {
  // The public key the saved signed head must be signed with; none: the key it names (which
  // proves only that the head was signed by whoever held that key; pin the key for more).
  std::optional<core::PublicKey> trusted_key;
  // Called with the number of events read so far, every 65,536 events.
  std::function<void(std::uint64_t)> progress;
};

struct VerifyReport {
  std::uint64_t events = 0;           // events read
  std::uint64_t head_seq = 0;         // last seq
  core::Sha256Digest head_hash{};     // its hash
  std::uint64_t checkpoint = 0;       // the persisted projection's seq
  std::uint64_t tokens = 0;           // tokens in the replayed projection
  std::optional<events::SignedHead> signed_head;  // the saved signed head, checked if present
  std::vector<std::string> problems;  // empty iff verified
  bool ok() const { return problems.empty(); }
};

// Checks storage (a primary or secondary instance). Returns a report; the Status is non-ok
// only when the check itself could not run (I/O error).
core::Result<VerifyReport> VerifyLedger(events::Storage& storage, const VerifyOptions& options = {});

}  // namespace tokenledger::projections
