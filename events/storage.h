// The RocksDB database of a data dir and every column family in it, declared in one place.
//
//   events  : big-endian uint64 seq -> stored event (events/event_codec.h); append-only
//   tokens  : token id -> projection row (projections/projection_store.h)
//   digests : secret digest (32 bytes) -> token id, for every token ever created (as-of checks)
//   meta    : small named values, e.g. the seq the persisted projection reflects
//   last_used : token id -> when validations last found it active (projections/last_use_store.h);
//             not part of the ledger
//   webhooks  : the outgoing webhooks' outbox and delivery positions (server/webhook_outbox.h)
//
// Layout and recovery rules: docs/storage_format.md.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Status;
}  // namespace rocksdb

namespace tokenledger::events {

// Owns the open database. Thread-safe as RocksDB is; the handles live as long as this object.
class Storage {
 public:
  // Opens (creating if missing) the data dir for reading and writing. RocksDB's LOCK file keeps
  // a second process out: that case is Unavailable with a message naming the data dir.
  static core::Result<std::unique_ptr<Storage>> OpenPrimary(const std::string& data_dir);

  // Opens a data dir read-only as a RocksDB secondary instance, which works while a server
  // has it open. secondary_dir holds the secondary's own logs (a fresh temp dir is fine).
  static core::Result<std::unique_ptr<Storage>> OpenSecondary(const std::string& data_dir,
                                                              const std::string& secondary_dir);

  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // Reads every data file (SST) of every column family and checks its block checksums, so a
  // file damaged at rest (bit rot, a bad copy, a torn restore) is found now rather than when a
  // query happens to read it. Corruption naming the file. Costs one sequential read of the
  // data (~0.1 s per million events; docs/reliability.md).
  core::Status VerifyDataFiles() const;

  bool read_only() const { return read_only_; }
  rocksdb::DB* db() const { return db_; }
  rocksdb::ColumnFamilyHandle* events() const { return events_; }
  rocksdb::ColumnFamilyHandle* tokens() const { return tokens_; }
  rocksdb::ColumnFamilyHandle* digests() const { return digests_; }
  rocksdb::ColumnFamilyHandle* meta() const { return meta_; }
  // Null only in a secondary (read-only) instance of a data dir no server of this version has
  // opened yet.
  rocksdb::ColumnFamilyHandle* last_used() const { return last_used_; }
  // Null in a secondary instance (tokenctl never reads it).
  rocksdb::ColumnFamilyHandle* webhooks() const { return webhooks_; }

 private:
  Storage() = default;
  static core::Result<std::unique_ptr<Storage>> Open(const std::string& data_dir,
                                                     const std::string* secondary_dir);

  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* default_ = nullptr;
  rocksdb::ColumnFamilyHandle* events_ = nullptr;
  rocksdb::ColumnFamilyHandle* tokens_ = nullptr;
  rocksdb::ColumnFamilyHandle* digests_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* last_used_ = nullptr;
  rocksdb::ColumnFamilyHandle* webhooks_ = nullptr;
  bool read_only_ = false;
  std::string data_dir_;
};

// Translates a RocksDB status at the edge of the RocksDB files.
core::Status FromRocksDb(const rocksdb::Status& status, const std::string& context);

}  // namespace tokenledger::events
