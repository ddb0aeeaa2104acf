// Rebuilding the token projection from the log: the "full replay" every projection must equal,
// and the replay cut at a seq that answers "what did the ledger hold then?".
#pragma once

#include <cstdint>
#include <functional>

#include "core/status.h"
#include "events/event_export.h"
#include "events/event_store.h"
#include "projections/token_table.h"

namespace tokenledger::projections {

// Applies events first_seq..last_seq (inclusive; up to the log's end if it is shorter) to
// table, in order. Corruption when an event does not decode or contradicts the table.
// progress, if given, is called with the number of events applied every 65,536 events;
// applied, if given, with each event after it was applied. Returns the number of events applied.
core::Result<std::uint64_t> Replay(const events::EventStore& store, std::uint64_t first_seq, std::uint64_t last_seq,
                                   TokenTable& table, const std::function<void(std::uint64_t)>& progress = nullptr,
                                   const std::function<void(const events::Event&)>& applied = nullptr);

// The point of history `point` names: a seq (at most the head; the state right after it, judged
// at its recorded_at) or a time (not after now; every event recorded at or before it, judged at
// that time). InvalidArgument for a seq beyond the head or a time in the future.
core::Result<AsOf> ResolveAsOf(const events::EventStore& store, const events::LedgerPoint& point, core::Timestamp now);

}  // namespace tokenledger::projections
