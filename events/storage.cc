#include "events/storage.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/env.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include "core/log.h"

#include <vector>

namespace tokenledger::events {

core::Status FromRocksDb(const rocksdb::Status& status, const std::string& context) {
  if (status.ok()) return core::Status::Ok();
  std::string message = context + ": " + status.ToString();
  if (status.IsCorruption()) return core::Status::Corruption(message);
  if (status.IsNotFound()) return core::Status::NotFound(message);
  return core::Status::IoError(message);
}

namespace {

// RocksDB's own log, sent to ours instead of the LOG file it keeps in the data dir: on a full
// disk that file fails too, and RocksDB 7.8 asserts on the next line after such a failure
// (which would take the server down exactly when it should keep validating). Warnings and
// errors go out as warnings, the rest at debug.
class RocksDbLogger : public rocksdb::Logger {
 public:
  RocksDbLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override { Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap); }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    char line[1024] = "rocksdb: ";
    constexpr size_t kPrefix = 9;
    int n = std::vsnprintf(line + kPrefix, sizeof line - kPrefix, format, ap);
    if (n < 0) return;
    size_t length = kPrefix + std::min<size_t>(static_cast<size_t>(n), sizeof line - kPrefix - 1);
    core::Log(level >= rocksdb::InfoLogLevel::WARN_LEVEL ? core::LogLevel::kWarn : core::LogLevel::kDebug,
              std::string_view(line, length));
  }
};

}  // namespace

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
  options.info_log = std::make_shared<RocksDbLogger>();
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
      {"last_used", rocksdb::ColumnFamilyOptions()},
  };
  if (secondary_dir == nullptr) {
    families.push_back({"webhooks", rocksdb::ColumnFamilyOptions()});
  } else {
    // A secondary cannot create column families: open last_used only where it exists. (It never
    // needs webhooks, and opening a subset is allowed.)
    std::vector<std::string> existing;
    rocksdb::DB::ListColumnFamilies(options, data_dir, &existing).PermitUncheckedError();
    if (std::find(existing.begin(), existing.end(), "last_used") == existing.end()) families.pop_back();
  }
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
  if (handles.size() > 5) storage->last_used_ = handles[5];
  if (handles.size() > 6) storage->webhooks_ = handles[6];
  storage->read_only_ = secondary_dir != nullptr;
  storage->data_dir_ = data_dir;
  return storage;
}

core::Status Storage::VerifyDataFiles() const {
  rocksdb::ReadOptions read;
  read.fill_cache = false;  // a one-off scan must not evict what queries use
  read.readahead_size = 2 << 20;
  rocksdb::Status s = db_->VerifyChecksum(read);
  if (s.ok()) return core::Status::Ok();
  return core::Status::Corruption("data dir " + data_dir_ + " has a corrupted data file (" + s.ToString() +
                                  "); refusing to serve from it: restore the data dir from a backup");
}

Storage::~Storage() {
  if (db_ == nullptr) return;
  if (!read_only_) {
    // Flushing on a clean close leaves no WAL to replay, so the next open is fast. Everything
    // is already durable in the WAL, so a failure here costs only start-up time.
    rocksdb::FlushOptions flush;
    flush.wait = true;
    db_->Flush(flush, {events_, tokens_, meta_, digests_, last_used_, webhooks_}).PermitUncheckedError();
  }
  for (auto* handle : {default_, events_, tokens_, meta_, digests_, last_used_, webhooks_})
    if (handle != nullptr) db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  db_->Close().PermitUncheckedError();
  delete db_;
}

}  // namespace tokenledger::events
