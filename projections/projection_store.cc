#include "projections/projection_store.h"

#include "events/memory_input_archive.h"
#include "projections/batch_pipe.h"
#include "events/event_store.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/string.hpp>
#include <algorithm>
#include <thread>
#include <sstream>

namespace tokenledger::projections {
namespace {

constexpr std::uint8_t kRowVersion = 2;
constexpr char kCheckpointKey[] = "projection_seq";
// Rows of another format are rebuilt from the log. 2: the digests column family exists.
// 3: rows carry the rotation fields (row version 2).
constexpr char kFormatKey[] = "projection_format";
constexpr char kFormat[] = "3";
// Rows are our own bytes, but a damaged disk must not make the loader allocate wildly.
constexpr size_t kMaxRowSize = 16 * 1024;

template <class Archive>
void SerializeRow(Archive& ar, TokenRecord& r, std::uint8_t& status) {
  ar(r.id, r.namespace_id, r.name, r.secret_digest, r.created_at, r.created_by, r.created_seq,
     r.expires_at, status, r.revoked_at, r.revoked_by, r.revoke_reason, r.expired_at, r.last_seq,
     r.rotated_to, r.revoke_at, r.rotated_seq, r.rotated_from);
}

std::string EncodeRow(const TokenRecord& record) {
  std::ostringstream out;
  {
    cereal::PortableBinaryOutputArchive ar(out);
    TokenRecord copy = record;
    std::uint8_t version = kRowVersion;
    std::uint8_t status = static_cast<std::uint8_t>(record.status);
    ar(version);
    SerializeRow(ar, copy, status);
  }
  return std::move(out).str();
}

// Decodes a row with a bounds-checked archive over the bytes (events/memory_input_archive.h).
core::Result<TokenRecord> DecodeRow(std::string_view bytes, events::MemoryInputArchive& ar) {
  if (bytes.size() > kMaxRowSize) return core::Status::Corruption("projection row too large");
  // The portable archive's header byte: 0x01, little-endian (EncodeRow writes nothing else).
  if (bytes.empty() || bytes[0] != '\x01') return core::Status::Corruption("projection row is not little-endian");
  TokenRecord r;
  try {
    ar.Reset(bytes.substr(1));
    std::uint8_t version = 0, status = 0;
    ar(version);
    if (version != kRowVersion) return core::Status::Corruption("unknown projection row version");
    SerializeRow(ar, r, status);
    if (status > 2) return core::Status::Corruption("bad status in projection row");
    if (ar.remaining() != 0) return core::Status::Corruption("projection row has trailing bytes");
    r.status = static_cast<events::TokenStatus>(status);
  } catch (const std::exception& e) {
    return core::Status::Corruption(std::string("projection row does not decode: ") + e.what());
  }
  return r;
}

rocksdb::Slice DigestKey(const core::Sha256Digest& digest) {
  return rocksdb::Slice(reinterpret_cast<const char*>(digest.data()), digest.size());
}

}  // namespace

core::Result<std::string> ProjectionStore::FindByDigest(const core::Sha256Digest& digest) const {
  std::string id;
  rocksdb::Status s = storage_.db()->Get(rocksdb::ReadOptions(), storage_.digests(), DigestKey(digest), &id);
  if (s.IsNotFound()) return core::Status::NotFound("no token has this secret");
  if (!s.ok()) return events::FromRocksDb(s, "looking up a secret digest");
  return id;
}

core::Status ProjectionStore::ScanDigests(
    const std::function<void(const core::Sha256Digest&, std::string_view)>& visit) const {
  std::unique_ptr<rocksdb::Iterator> it(storage_.db()->NewIterator(rocksdb::ReadOptions(), storage_.digests()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 32) return core::Status::Corruption("a digest key is not 32 bytes");
    core::Sha256Digest digest{};
    std::copy_n(it->key().data(), 32, digest.begin());
    visit(digest, std::string_view(it->value().data(), it->value().size()));
  }
  return events::FromRocksDb(it->status(), "scanning the digests");
}

core::Result<std::uint64_t> ProjectionStore::Load(TokenTable& table) const {
  std::string value;
  rocksdb::Status s = storage_.db()->Get(rocksdb::ReadOptions(), storage_.meta(), kCheckpointKey, &value);
  if (s.IsNotFound()) return std::uint64_t{0};
  if (!s.ok()) return events::FromRocksDb(s, "reading the projection checkpoint");
  auto checkpoint = events::SeqFromKey(value);
  if (!checkpoint.ok()) return core::Status::Corruption("projection checkpoint is not 8 bytes");
  s = storage_.db()->Get(rocksdb::ReadOptions(), storage_.meta(), kFormatKey, &value);
  if (!s.ok() && !s.IsNotFound()) return events::FromRocksDb(s, "reading the projection format");
  if (s.IsNotFound() || value != kFormat) return core::Status::Corruption("the projection rows are of an older format");

  std::uint64_t estimate = 0;
  if (storage_.db()->GetIntProperty(storage_.tokens(), "rocksdb.estimate-num-keys", &estimate))
    table.Reserve(static_cast<size_t>(estimate + estimate / 8));  // an estimate: some room
  // Reading and decoding the rows on a second thread, restoring them on this one (as Replay).
  using RowPipe = BatchPipe<TokenRecord>;
  RowPipe pipe(1024);
  std::thread reader([&] {
    rocksdb::ReadOptions once;
    once.fill_cache = false;  // read once, at start
    once.readahead_size = 2 * 1024 * 1024;
    std::unique_ptr<rocksdb::Iterator> it(storage_.db()->NewIterator(once, storage_.tokens()));
    events::MemoryInputArchive archive{std::string_view()};
    RowPipe::Batch batch = pipe.Take();
    core::Status failure = core::Status::Ok();
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      core::Result<TokenRecord> row = DecodeRow(std::string_view(it->value().data(), it->value().size()), archive);
      if (!row.ok()) {
        failure = row.status();
        break;
      }
      if (batch.size == batch.items.size()) batch.items.emplace_back();
      batch.items[batch.size++] = std::move(row).value();
      if (batch.size == pipe.batch_size()) {
        if (!pipe.Push(std::move(batch))) break;
        batch = pipe.Take();
      }
    }
    if (failure.ok()) failure = events::FromRocksDb(it->status(), "loading the token projection");
    if (failure.ok() && batch.size > 0) pipe.Push(std::move(batch));
    pipe.Finish(failure);
  });
  core::Status restored = core::Status::Ok();
  for (RowPipe::Batch batch = pipe.Pop(); batch.size > 0 && restored.ok(); batch = pipe.Pop()) {
    for (size_t i = 0; i < batch.size && restored.ok(); ++i) restored = table.Restore(std::move(batch.items[i]));
    pipe.Return(std::move(batch));
  }
  pipe.Stop();
  reader.join();
  if (!restored.ok()) return restored;
  core::Status read = pipe.status();
  if (!read.ok()) return read;
  table.FinishRestore();
  return *checkpoint;
}

core::Status ProjectionStore::Save(const std::vector<const TokenRecord*>& changed,
                                   std::uint64_t checkpoint) {
  rocksdb::WriteBatch batch;
  return WriteRows(batch, changed, checkpoint, /*sync=*/false);
}

core::Status ProjectionStore::SaveAll(const TokenTable& table, std::uint64_t checkpoint) {
  rocksdb::WriteOptions unsynced;
  auto write = [&](rocksdb::WriteBatch& batch) {
    core::Status s = events::FromRocksDb(storage_.db()->Write(unsynced, &batch), "saving the token projection");
    batch.Clear();
    return s;
  };
  // Without a checkpoint the rows count for nothing: until the last batch below names one, a
  // crash leaves a projection the next start rebuilds again. Deleting the whole ranges drops
  // rows a damaged snapshot may hold for unknown ids.
  rocksdb::WriteBatch batch;
  rocksdb::Status s = batch.Delete(storage_.meta(), kCheckpointKey);
  if (s.ok()) s = batch.DeleteRange(storage_.tokens(), "", std::string(1, '\x7f'));
  if (s.ok()) s = batch.DeleteRange(storage_.digests(), "", std::string(33, '\xff'));
  if (!s.ok()) return events::FromRocksDb(s, "building the projection batch");
  core::Status written = write(batch);
  if (!written.ok()) return written;
  // Rows in key order, in batches: RocksDB's memtable inserts sorted keys far faster than
  // random ones, and no single batch holds the whole projection.
  constexpr size_t kRowsPerBatch = 65536;
  std::vector<const TokenRecord*> rows;
  rows.reserve(table.size());
  for (const TokenRecord& record : table.records()) rows.push_back(&record);
  std::sort(rows.begin(), rows.end(), [](const TokenRecord* a, const TokenRecord* b) { return a->id < b->id; });
  for (size_t i = 0; i < rows.size(); ++i) {
    s = batch.Put(storage_.tokens(), rows[i]->id, EncodeRow(*rows[i]));
    if (!s.ok()) return events::FromRocksDb(s, "building the projection batch");
    if ((i + 1) % kRowsPerBatch == 0 && !(written = write(batch)).ok()) return written;
  }
  std::sort(rows.begin(), rows.end(),
            [](const TokenRecord* a, const TokenRecord* b) { return a->secret_digest < b->secret_digest; });
  for (size_t i = 0; i < rows.size(); ++i) {
    s = batch.Put(storage_.digests(), DigestKey(rows[i]->secret_digest), rows[i]->id);
    if (!s.ok()) return events::FromRocksDb(s, "building the projection batch");
    if ((i + 1) % kRowsPerBatch == 0 && !(written = write(batch)).ok()) return written;
  }
  // The checkpoint last, fsync'd: the WAL is sequential, so this sync makes every batch before
  // it durable too.
  s = batch.Put(storage_.meta(), kCheckpointKey, events::EventKey(checkpoint));
  if (s.ok()) s = batch.Put(storage_.meta(), kFormatKey, kFormat);
  if (!s.ok()) return events::FromRocksDb(s, "building the projection batch");
  rocksdb::WriteOptions synced;
  synced.sync = true;
  return events::FromRocksDb(storage_.db()->Write(synced, &batch), "saving the token projection");
}

core::Status ProjectionStore::WriteRows(rocksdb::WriteBatch& batch, const std::vector<const TokenRecord*>& rows,
                                        std::uint64_t checkpoint, bool sync) {
  for (const TokenRecord* r : rows) {
    rocksdb::Status s = batch.Put(storage_.tokens(), r->id, EncodeRow(*r));
    // Rewritten with every change of the row: idempotent, and a row is never saved without it.
    if (s.ok()) s = batch.Put(storage_.digests(), DigestKey(r->secret_digest), r->id);
    if (!s.ok()) return events::FromRocksDb(s, "building the projection batch");
  }
  rocksdb::Status s = batch.Put(storage_.meta(), kCheckpointKey, events::EventKey(checkpoint));
  if (s.ok()) s = batch.Put(storage_.meta(), kFormatKey, kFormat);
  if (!s.ok()) return events::FromRocksDb(s, "building the projection batch");
  rocksdb::WriteOptions options;
  options.sync = sync;
  return events::FromRocksDb(storage_.db()->Write(options, &batch), "saving the token projection");
}

}  // namespace tokenledger::projections
