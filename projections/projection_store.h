// The persisted token projection: one row per token in the "tokens" column family, each
// token's secret digest -> id in "digests", and the seq those rows reflect under meta key
// "projection_seq", always written in one WriteBatch.
//
// Recovery rule (docs/storage_format.md): rows + checkpoint C are a consistent state of the
// ledger at seq C <= head; a restart loads them and applies events C+1..head. The batch is
// written without fsync after the events it reflects were fsync'd, so a crash can only leave
// it behind the log (replayed), never ahead.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "events/storage.h"
#include "projections/token_table.h"

namespace rocksdb {
class WriteBatch;
}

namespace tokenledger::projections {

class ProjectionStore {
 public:
  // storage must outlive this object. Thread-safe as RocksDB is.
  explicit ProjectionStore(events::Storage& storage) : storage_(storage) {}

  // Loads every row into table (which must be empty) and returns the checkpoint seq (0 when
  // nothing was ever saved). Corruption when a row does not decode or the rows are of another
  // projection format (the caller rebuilds from the log).
  core::Result<std::uint64_t> Load(TokenTable& table) const;

  // Writes the given rows and the checkpoint atomically (not fsync'd; see the recovery rule).
  core::Status Save(const std::vector<const TokenRecord*>& changed, std::uint64_t checkpoint);

  // Replaces everything with table's rows at checkpoint, in one fsync'd batch (after a rebuild).
  core::Status SaveAll(const TokenTable& table, std::uint64_t checkpoint);

  // The id of the token whose secret has this digest, from the saved rows. NotFound when none
  // (the rows of the last group may not be saved yet: see ledger.h).
  core::Result<std::string> FindByDigest(const core::Sha256Digest& digest) const;

  // Visits every saved digest -> id pair (the verifier compares them with a replay).
  core::Status ScanDigests(const std::function<void(const core::Sha256Digest&, std::string_view)>& visit) const;

 private:
  // Adds rows and the checkpoint to batch and writes it.
  core::Status WriteRows(rocksdb::WriteBatch& batch, const std::vector<const TokenRecord*>& rows,
                         std::uint64_t checkpoint, bool sync);

  events::Storage& storage_;
};

}  // namespace tokenledger::projections
