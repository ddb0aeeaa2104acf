#include "projections/last_use_store.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <cstring>
#include <memory>

namespace tokenledger::projections {

core::Status LastUseStore::Load(const std::function<void(std::string_view, core::Timestamp)>& visit) const {
  if (storage_.last_used() == nullptr) return core::Status::Ok();
  rocksdb::ReadOptions once;
  once.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(storage_.db()->NewIterator(once, storage_.last_used()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->value().size() != 4) continue;
    std::uint32_t t = 0;
    for (int i = 3; i >= 0; --i) t = (t << 8) | static_cast<std::uint8_t>(it->value()[i]);
    visit(std::string_view(it->key().data(), it->key().size()), static_cast<core::Timestamp>(t));
  }
  return events::FromRocksDb(it->status(), "reading the last uses");
}

core::Status LastUseStore::Save(const std::vector<std::pair<std::string, core::Timestamp>>& uses) {
  if (uses.empty()) return core::Status::Ok();
  if (storage_.last_used() == nullptr) return core::Status::Unavailable("the last_used column family is not open");
  rocksdb::WriteBatch batch;
  for (const auto& [id, t] : uses) {
    auto v = static_cast<std::uint32_t>(t);
    char bytes[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16), static_cast<char>(v >> 24)};
    batch.Put(storage_.last_used(), id, rocksdb::Slice(bytes, 4));
  }
  rocksdb::WriteOptions write;
  write.sync = false;  // a hint, not a fact: see the header
  return events::FromRocksDb(storage_.db()->Write(write, &batch), "saving last uses");
}

}  // namespace tokenledger::projections
