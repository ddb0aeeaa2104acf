#include "events/event_store.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "core/log.h"
#include "events/event_codec.h"

namespace tokenledger::events {

std::string EventKey(std::uint64_t seq) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i) {
    key[i] = static_cast<char>(seq & 0xff);
    seq >>= 8;
  }
  return key;
}

core::Result<std::uint64_t> SeqFromKey(std::string_view key) {
  if (key.size() != 8) return core::Status::Corruption("a seq key is not 8 bytes");
  std::uint64_t seq = 0;
  for (unsigned char c : key) seq = (seq << 8) | c;
  return seq;
}

core::Result<std::unique_ptr<EventStore>> EventStore::Open(Storage& storage) {
  std::unique_ptr<EventStore> store(new EventStore(storage));
  core::Status s = store->LoadHead();
  if (!s.ok()) return s;
  return store;
}

core::Status EventStore::LoadHead() {
  std::unique_ptr<rocksdb::Iterator> it(
      storage_.db()->NewIterator(rocksdb::ReadOptions(), storage_.events()));
  it->SeekToLast();
  core::Sha256Digest hash{};
  std::uint64_t seq = 0;
  if (it->Valid()) {
    auto key_seq = SeqFromKey(std::string_view(it->key().data(), it->key().size()));
    if (!key_seq.ok()) return key_seq.status();
    core::Result<Event> last = DecodeStored(std::string_view(it->value().data(), it->value().size()));
    if (!last.ok()) return last.status();
    if (last->seq != *key_seq)
      return core::Status::Corruption("last event's seq does not match its key");
    seq = last->seq;
    hash = last->hash;
  }
  core::Status s = FromRocksDb(it->status(), "reading the event log head");
  if (!s.ok()) return s;
  std::lock_guard lock(head_mutex_);
  head_hash_ = hash;
  head_seq_.store(seq, std::memory_order_release);
  return core::Status::Ok();
}

core::Sha256Digest EventStore::head_hash() const {
  std::lock_guard lock(head_mutex_);
  return head_hash_;
}

std::pair<std::uint64_t, core::Sha256Digest> EventStore::head() const {
  std::lock_guard lock(head_mutex_);
  return {head_seq_.load(std::memory_order_acquire), head_hash_};
}

core::Result<std::vector<Event>> EventStore::Append(std::vector<NewEvent> events) {
  std::lock_guard lock(append_mutex_);
  if (storage_.read_only()) return core::Status::Unavailable("the event store is read-only");
  if (failed()) return core::Status::Unavailable("the event store refuses writes after a failed write");
  std::vector<Event> appended;
  appended.reserve(events.size());
  rocksdb::WriteBatch batch;
  std::uint64_t seq = head_seq();
  core::Sha256Digest prev = head_hash();
  for (NewEvent& e : events) {
    Event event;
    event.seq = ++seq;
    event.recorded_at = e.recorded_at;
    event.actor = std::move(e.actor);
    event.payload = std::move(e.payload);
    event.prev_hash = prev;
    std::string canonical = EncodeCanonical(event.seq, event.recorded_at, event.actor, event.payload);
    event.hash = core::Sha256Chained(prev, canonical);
    prev = event.hash;
    canonical.append(reinterpret_cast<const char*>(event.prev_hash.data()), 32);
    canonical.append(reinterpret_cast<const char*>(event.hash.data()), 32);
    rocksdb::Status s = batch.Put(storage_.events(), EventKey(event.seq), canonical);
    if (!s.ok()) return FromRocksDb(s, "building the event batch");
    appended.push_back(std::move(event));
  }
  if (appended.empty()) return appended;
  rocksdb::WriteOptions options;
  options.sync = true;
  rocksdb::Status s = storage_.db()->Write(options, &batch);
  if (!s.ok()) {
    // As leveldb does after a failed sync: the batch may or may not be on disk, so any further
    // append could fork the chain or leave a gap. Refuse all writes until a restart recovers.
    failed_.store(true, std::memory_order_release);
    core::Status status = FromRocksDb(s, "appending events");
    core::Log(core::LogLevel::kError, "event store now refuses writes: " + status.ToString());
    // File names and OS errors stay in the log; callers get a stable message.
    return core::Status::Unavailable("writing the event log failed; writes are refused until a restart");
  }
  {
    std::lock_guard head_lock(head_mutex_);
    head_hash_ = prev;
    head_seq_.store(seq, std::memory_order_release);
  }
  batches_written_.fetch_add(1, std::memory_order_relaxed);
  return appended;
}

core::Status EventStore::ScanRaw(
    std::uint64_t from, const std::function<bool(std::uint64_t, std::string_view)>& visit) const {
  return ScanStoredEvents(storage_, from, visit);
}

namespace {
// A scan reads each block once: keeping its blocks out of the block cache spares the cache and
// the work of inserting them; reading ahead turns many small reads into few large ones.
rocksdb::ReadOptions ScanOptions() {
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  options.readahead_size = 2 * 1024 * 1024;
  return options;
}
}  // namespace

core::Status ScanStoredEvents(const Storage& storage, std::uint64_t from,
                              const std::function<bool(std::uint64_t, std::string_view)>& visit) {
  EventCursor cursor(storage, from);
  return cursor.Read(visit);
}

EventCursor::EventCursor(const Storage& storage, std::uint64_t from)
    : it_(storage.db()->NewIterator(ScanOptions(), storage.events())) {
  it_->Seek(EventKey(from));
}

EventCursor::~EventCursor() = default;

core::Status EventCursor::Read(const std::function<bool(std::uint64_t, std::string_view)>& visit) {
  for (; it_->Valid();) {
    auto seq = SeqFromKey(std::string_view(it_->key().data(), it_->key().size()));
    if (!seq.ok()) return seq.status();
    bool more = visit(*seq, std::string_view(it_->value().data(), it_->value().size()));
    it_->Next();
    if (!more) break;
  }
  return FromRocksDb(it_->status(), "scanning events");
}

std::unique_ptr<EventCursor> EventStore::OpenCursor(std::uint64_t from) const {
  return std::make_unique<EventCursor>(storage_, from);
}

core::Status EventStore::Scan(std::uint64_t from,
                              const std::function<bool(const Event&)>& visit) const {
  core::Status failure = core::Status::Ok();
  StoredEventDecoder decoder;
  Event event;
  core::Status s = ScanRaw(from, [&](std::uint64_t seq, std::string_view bytes) {
    core::Status decoded = decoder.Decode(bytes, event);
    if (!decoded.ok()) {
      failure = core::Status::Corruption("event " + std::to_string(seq) + ": " + decoded.message());
      return false;
    }
    if (event.seq != seq) {
      failure = core::Status::Corruption("event under key " + std::to_string(seq) +
                                         " says seq " + std::to_string(event.seq));
      return false;
    }
    return visit(event);
  });
  return failure.ok() ? s : failure;
}

core::Result<Event> EventStore::Read(std::uint64_t seq) const {
  std::string value;
  rocksdb::Status s = storage_.db()->Get(rocksdb::ReadOptions(), storage_.events(), EventKey(seq), &value);
  if (s.IsNotFound()) return core::Status::NotFound("no event " + std::to_string(seq));
  if (!s.ok()) return FromRocksDb(s, "reading event " + std::to_string(seq));
  return DecodeStored(value);
}

core::Result<std::uint64_t> EventStore::LastSeqAtOrBefore(core::Timestamp t) const {
  // Invariant: events 1..lo were recorded at or before t, events after hi after it.
  std::uint64_t lo = 0, hi = head_seq();
  while (lo < hi) {
    std::uint64_t mid = lo + (hi - lo + 1) / 2;
    auto event = Read(mid);
    if (!event.ok()) return event.status();
    if (event->recorded_at <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

namespace {
constexpr char kSignedHeadKey[] = "signed_head";
}

core::Result<std::optional<SignedHead>> EventStore::LoadSignedHead() const {
  std::string value;
  rocksdb::Status s = storage_.db()->Get(rocksdb::ReadOptions(), storage_.meta(), kSignedHeadKey, &value);
  if (s.IsNotFound()) return std::optional<SignedHead>();
  if (!s.ok()) return FromRocksDb(s, "reading the signed head");
  auto head = ParseSignedHeadJson(value);
  if (!head.ok()) return core::Status::Corruption("the saved " + head.status().message());
  return std::optional<SignedHead>(*head);
}

core::Status EventStore::SaveSignedHead(const SignedHead& head) {
  if (storage_.read_only()) return core::Status::Unavailable("the event store is read-only");
  return FromRocksDb(storage_.db()->Put(rocksdb::WriteOptions(), storage_.meta(), kSignedHeadKey, SignedHeadJson(head)),
                     "saving the signed head");
}

core::Status EventStore::Refresh() {
  if (storage_.read_only()) {
    core::Status s = FromRocksDb(storage_.db()->TryCatchUpWithPrimary(), "catching up with primary");
    if (!s.ok()) return s;
  }
  return LoadHead();
}

}  // namespace tokenledger::events
