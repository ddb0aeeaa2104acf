#include "events/storage.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <vector>

namespace tokenledger::events {

core::Status FromRocksDb(const rocksdb::Status& status, const std::string& context) {
  if (status.ok()) return core::Status::Ok();
  std::string message = context + ": " + status.ToString();
  if (status.IsCorruption()) return core::Status::Corruption(message);
  if (status.IsNotFound()) return core::Status::NotFound(message);
  return core::Status::IoError(message);
}

core::Result<std::unique_ptr<Storage>> Storage::OpenPrimary(const std::string& data_dir) {
  return Open(data_dir, nullptr);
}

core::Result<std::unique_ptr<Storage>> Storage::OpenSecondary(const std::string& data_dir,
                                                              const std::string& secondary_dir) {
  return Open(data_dir, &secondary_dir);
}

core::Result<std::unique_ptr<Storage>> Storage::Open(const std::string& data_dir,
                                                     const std::string* secondary_dir) {
  rocksdb::Options options;
  options.create_if_missing = secondary_dir == nullptr;
  options.create_missing_column_families = secondary_dir == nullptr;
  // A secondary instance must keep every file open to follow the primary.
  if (secondary_dir != nullptr) options.max_open_files = -1;
  // Every acknowledged write is fsync'd through the WAL; paranoid checks catch a bad SST early.
  options.paranoid_checks = true;
  // Only the unacknowledged last write can be torn by a crash (acknowledged ones were fsync'd).
  // Corruption anywhere else must stop the open instead of silently truncating the ledger,
  // which the default point-in-time recovery would do.
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;

  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {"events", rocksdb::ColumnFamilyOptions()},
      {"tokens", rocksdb::ColumnFamilyOptions()},
      {"meta", rocksdb::ColumnFamilyOptions()},
      {"digests", rocksdb::ColumnFamilyOptions()},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s =
      secondary_dir == nullptr
          ? rocksdb::DB::Open(options, data_dir, families, &handles, &db)
          : rocksdb::DB::OpenAsSecondary(options, data_dir, *secondary_dir, families, &handles, &db);
  if (!s.ok()) {
    std::string text = s.ToString();
    if (s.IsIOError() && text.find("lock") != std::string::npos)
      return core::Status::Unavailable("data dir " + data_dir +
                                       " is in use by another tokenledgerd process (" + text + ")");
    return FromRocksDb(s, "cannot open data dir " + data_dir);
  }
  std::unique_ptr<Storage> storage(new Storage());
  storage->db_ = db;
  storage->default_ = handles[0];
  storage->events_ = handles[1];
  storage->tokens_ = handles[2];
  storage->meta_ = handles[3];
  storage->digests_ = handles[4];
  storage->read_only_ = secondary_dir != nullptr;
  return storage;
}

Storage::~Storage() {
  if (db_ == nullptr) return;
  if (!read_only_) {
    // Flushing on a clean close leaves no WAL to replay, so the next open is fast. Everything
    // is already durable in the WAL, so a failure here costs only start-up time.
    rocksdb::FlushOptions flush;
    flush.wait = true;
    db_->Flush(flush, {events_, tokens_, meta_, digests_}).PermitUncheckedError();
  }
  for (auto* handle : {default_, events_, tokens_, meta_, digests_})
    if (handle != nullptr) db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  db_->Close().PermitUncheckedError();
  delete db_;
}

}  // namespace tokenledger::events
