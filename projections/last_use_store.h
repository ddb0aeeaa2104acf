// When each token was last used, kept outside the ledger: a validation is not an event (it would
// grow the log by every request), so last uses live in the "last_used" column family, written in
// batches by the ledger's writer (about every 30 s, when a token's use ends, and at shutdown)
// and never fsync'd: a crash can lose the last batch, which costs that much precision, never a
// ledger fact. Key: token id; value: uint32 Unix seconds, little-endian.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "events/storage.h"

namespace tokenledger::projections {

class LastUseStore {
 public:
  // storage must outlive this object. Thread-safe as RocksDB is.
  explicit LastUseStore(events::Storage& storage) : storage_(storage) {}

  // Visits every saved (token id, last use). A value that is not 4 bytes is skipped (it is only
  // a hint); a read error is returned.
  core::Status Load(const std::function<void(std::string_view, core::Timestamp)>& visit) const;

  // Writes the given last uses in one batch, not fsync'd.
  core::Status Save(const std::vector<std::pair<std::string, core::Timestamp>>& uses);

 private:
  events::Storage& storage_;
};

}  // namespace tokenledger::projections
