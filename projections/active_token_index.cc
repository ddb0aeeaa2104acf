#include "projections/active_token_index.h"

#include <cstring>
#include <limits>

namespace tokenledger::projections {
namespace {

// Slot values: 0 empty; kTombstone erased (probing continues past it, inserts may reuse it);
// otherwise (tag << 32) | (record number + 1).
constexpr std::uint64_t kEmpty = 0;
constexpr std::uint64_t kTombstone = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint32_t kMaxRecords = (1u << 30);
constexpr size_t kMinCapacity = 1024;

// The digest is uniformly random: its first 8 bytes give the probe start (low bits) and the tag
// (high 32 bits), independent of each other for any table under 2^32 slots.
std::uint64_t DigestHash(const core::Sha256Digest& digest) {
  std::uint64_t h;
  std::memcpy(&h, digest.data(), sizeof h);
  return h;
}
std::uint32_t Tag(std::uint64_t hash) { return static_cast<std::uint32_t>(hash >> 32); }
std::uint64_t SlotValue(std::uint32_t tag, std::uint32_t record) {
  std::uint64_t v = (static_cast<std::uint64_t>(tag) << 32) | (static_cast<std::uint64_t>(record) + 1);
  return v == kTombstone ? v - 1 : v;  // record 2^32-2 never exists (kMaxRecords)
}
std::uint32_t RecordOf(std::uint64_t slot) { return static_cast<std::uint32_t>(slot) - 1; }

bool FitsSeconds(core::Timestamp t) { return t >= 0 && t <= std::numeric_limits<std::uint32_t>::max(); }

// A token id's 20 characters after "tok_" are 0-9A-Za-z: 6 bits each, 120 bits, 15 bytes. Packed
// they leave room in the record for the last use.
constexpr size_t kPackedIdBytes = 15;
using PackedId = std::array<std::uint8_t, kPackedIdBytes>;
constexpr char kIdDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

unsigned IdDigitValue(char c) {
  if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
  if (c >= 'A' && c <= 'Z') return static_cast<unsigned>(c - 'A' + 10);
  return static_cast<unsigned>(c - 'a' + 36);
}

// suffix: the 20 characters of a well-formed id (core::IsWellFormedTokenId).
PackedId PackId(std::string_view suffix) {
  unsigned __int128 bits = 0;
  for (char c : suffix) bits = (bits << 6) | IdDigitValue(c);
  PackedId packed;
  std::memcpy(packed.data(), &bits, packed.size());  // little-endian: the low 120 bits
  return packed;
}

void UnpackId(const PackedId& packed, char* out) {
  unsigned __int128 bits = 0;
  std::memcpy(&bits, packed.data(), packed.size());
  for (size_t i = core::kTokenIdRandomChars; i-- > 0; bits >>= 6) out[i] = kIdDigits[static_cast<unsigned>(bits & 63)];
}

}  // namespace

std::string_view ValidityName(Validity v) {
  switch (v) {
    case Validity::kMalformed: return "malformed";
    case Validity::kInactive: return "inactive";
    case Validity::kWrongNamespace: return "wrong_namespace";
    case Validity::kActive: return "active";
  }
  return "unknown";
}

// One cache line per token. Times are unsigned 32-bit Unix seconds (to 2106).
struct alignas(64) ActiveTokenIndex::Record {
  core::Sha256Digest digest;
  std::uint32_t namespace_index;
  std::uint32_t created_at;
  std::uint32_t expires_at;
  // The one field readers write: when a validation last found the token active, stored only
  // when it moves by kLastUseResolution or more, so a hot token's line is written about once a
  // minute rather than on every request. 0: not since the index learnt the token.
  mutable std::atomic<std::uint32_t> last_used;
  PackedId id;  // after "tok_"
};

// An array that grows in fixed chunks, so elements never move: readers index it without a
// lock while the writer appends. Elements must be published to readers by a release store
// made after they were written (here: the slot that names them).
template <class T, unsigned kChunkBits, size_t kMaxChunks>
class ActiveTokenIndex::ChunkedArray {
 public:
  static constexpr size_t kChunkSize = size_t{1} << kChunkBits;
  static constexpr size_t kCapacity = kChunkSize * kMaxChunks;

  ChunkedArray() : chunks_(std::make_unique<std::atomic<T*>[]>(kMaxChunks)) {}
  ~ChunkedArray() {
    for (size_t i = 0; i < kMaxChunks; ++i) delete[] chunks_[i].load(std::memory_order_relaxed);
  }

  // Writer only; i < kCapacity. Allocates i's chunk on first use.
  T& Writable(size_t i) {
    std::atomic<T*>& chunk = chunks_[i >> kChunkBits];
    T* c = chunk.load(std::memory_order_relaxed);
    if (c == nullptr) {
      c = new T[kChunkSize]();
      chunk.store(c, std::memory_order_release);
      ++allocated_chunks_;
    }
    return c[i & (kChunkSize - 1)];
  }
  const T& operator[](size_t i) const {
    return chunks_[i >> kChunkBits].load(std::memory_order_acquire)[i & (kChunkSize - 1)];
  }
  size_t bytes() const { return allocated_chunks_ * kChunkSize * sizeof(T) + kMaxChunks * sizeof(T*); }

 private:
  std::unique_ptr<std::atomic<T*>[]> chunks_;
  size_t allocated_chunks_ = 0;
};

struct ActiveTokenIndex::Table {
  explicit Table(size_t capacity) : mask(capacity - 1), slots(new std::atomic<std::uint64_t>[capacity]) {
    for (size_t i = 0; i < capacity; ++i) slots[i].store(kEmpty, std::memory_order_relaxed);
  }
  size_t capacity() const { return mask + 1; }

  // A position in a digest's probe sequence (linear probing from the hash).
  struct Probe {
    size_t pos;
    size_t probes = 0;
  };
  Probe Start(std::uint64_t hash) const { return {hash & mask}; }
  void Advance(Probe& p) const {
    p.pos = (p.pos + 1) & mask;
    ++p.probes;
  }
  // The next slot from p on whose tag matches, or kEmpty where the sequence ends; p is left on
  // it. Every lookup walks the table through here.
  std::uint64_t NextTagged(std::uint32_t tag, Probe& p, std::memory_order order) const {
    for (; p.probes <= mask; Advance(p)) {
      std::uint64_t slot = slots[p.pos].load(order);
      if (slot == kEmpty) return kEmpty;
      if (slot != kTombstone && Tag(slot) == tag) return slot;
    }
    return kEmpty;
  }

  size_t mask;
  std::unique_ptr<std::atomic<std::uint64_t>[]> slots;
};

ActiveTokenIndex::ActiveTokenIndex()
    : table_(new Table(kMinCapacity)),
      records_(std::make_unique<Records>()),
      namespaces_(std::make_unique<NamespaceNames>()) {
  UpdateBytes();
}

ActiveTokenIndex::~ActiveTokenIndex() {
  reclaimer_.Reclaim();
  delete table_.load();
}

void ActiveTokenIndex::UpdateBytes() {
  bytes_.store(table_.load(std::memory_order_relaxed)->capacity() * sizeof(std::uint64_t) + records_->bytes() +
                   free_records_.capacity() * sizeof(std::uint32_t) + namespaces_->bytes() + namespace_bytes_,
               std::memory_order_relaxed);
}

// Memory order: slot and table loads here and the publishing/unlinking stores below are
// seq_cst, as are the reader's epoch store and the writer's epoch scan (epoch_reclaimer.cc). In
// that single total order either the writer's scan sees the reader's epoch, or the reader sees
// the unlinked state, so nothing a reader can reach is reused. (seq_cst loads are plain loads on
// x86.) The seq_cst slot store also releases the record and namespace written before it.
ActiveTokenIndex::SlotRef ActiveTokenIndex::FindSlot(const Table& t, const core::Sha256Digest& digest,
                                                    std::memory_order order) const {
  std::uint64_t hash = DigestHash(digest);
  Table::Probe p = t.Start(hash);
  for (std::uint64_t slot; (slot = t.NextTagged(Tag(hash), p, order)) != kEmpty; t.Advance(p))
    if ((*records_)[RecordOf(slot)].digest == digest) return {p.pos, slot};
  return {};
}

const ActiveTokenIndex::Record* ActiveTokenIndex::Find(const core::Sha256Digest& digest) const {
  SlotRef found = FindSlot(*table_.load(std::memory_order_seq_cst), digest, std::memory_order_seq_cst);
  return found.slot != kEmpty ? &(*records_)[RecordOf(found.slot)] : nullptr;
}

Validity ActiveTokenIndex::Judge(const Record* r, std::optional<std::string_view> required_namespace,
                                 core::Timestamp now, ActiveToken* out, Use use) const {
  if (r == nullptr || now >= static_cast<core::Timestamp>(r->expires_at)) return Validity::kInactive;
  std::string_view ns = *(*namespaces_)[r->namespace_index];
  if (required_namespace && *required_namespace != ns) return Validity::kWrongNamespace;
  if (use == Use::kRecord) {
    // The line is in cache already (the digest was just compared): a load, and rarely a store.
    auto now32 = static_cast<std::uint32_t>(now);
    if (now32 >= r->last_used.load(std::memory_order_relaxed) + kLastUseResolution)
      r->last_used.store(now32, std::memory_order_relaxed);
  }
  if (out != nullptr) {
    std::memcpy(out->id_chars.data(), core::kTokenIdPrefix.data(), core::kTokenIdPrefix.size());
    UnpackId(r->id, out->id_chars.data() + core::kTokenIdPrefix.size());
    out->namespace_id = ns;
    out->created_at = r->created_at;
    out->expires_at = r->expires_at;
  }
  return Validity::kActive;
}

Validity ActiveTokenIndex::Validate(std::string_view secret, std::optional<std::string_view> required_namespace,
                                    core::Timestamp now, ActiveToken* out, Use use) const {
  if (!core::IsWellFormedToken(secret)) return Validity::kMalformed;
  core::Sha256Digest digest = core::Sha256(secret);
  ReadGuard guard;
  return Judge(Find(digest), required_namespace, now, out, use);
}

void ActiveTokenIndex::ValidateBatch(BatchItem* items, size_t count, core::Timestamp now) const {
  ReadGuard guard;
  const Table* t = table_.load(std::memory_order_seq_cst);
  // 1. Digests, and a prefetch of each first probe slot.
  for (size_t i = 0; i < count; ++i) {
    BatchItem& item = items[i];
    item.candidate = kEmpty;
    if (!core::IsWellFormedToken(item.secret)) {
      item.result = Validity::kMalformed;
      continue;
    }
    item.result = Validity::kInactive;
    item.digest = core::Sha256(item.secret);
    __builtin_prefetch(&t->slots[DigestHash(item.digest) & t->mask]);
  }
  // 2. The first slot with a matching tag, and a prefetch of its record.
  for (size_t i = 0; i < count; ++i) {
    BatchItem& item = items[i];
    if (item.result == Validity::kMalformed) continue;
    std::uint64_t hash = DigestHash(item.digest);
    Table::Probe p = t->Start(hash);
    item.candidate = t->NextTagged(Tag(hash), p, std::memory_order_seq_cst);
    if (item.candidate != kEmpty) __builtin_prefetch(&(*records_)[RecordOf(item.candidate)]);
  }
  // 3. Compare; a tag that matched another token falls back to the full probe.
  for (size_t i = 0; i < count; ++i) {
    BatchItem& item = items[i];
    if (item.result == Validity::kMalformed) continue;
    const Record* r = nullptr;
    if (item.candidate != kEmpty) {
      r = &(*records_)[RecordOf(item.candidate)];
      if (r->digest != item.digest) r = Find(item.digest);
    }
    item.result = Judge(r, item.required_namespace, now, &item.token, Use::kRecord);
  }
}

core::Result<std::uint32_t> ActiveTokenIndex::InternNamespace(std::string_view namespace_id) {
  if (auto it = namespace_index_.find(namespace_id); it != namespace_index_.end()) return it->second;
  if (namespace_storage_.size() >= NamespaceNames::kCapacity)
    return core::Status::Unavailable("the active-token index holds the most namespaces it can");
  auto index = static_cast<std::uint32_t>(namespace_storage_.size());
  namespace_storage_.push_back(std::make_unique<std::string>(namespace_id));
  const std::string* name = namespace_storage_.back().get();
  namespaces_->Writable(index) = name;
  namespace_index_.emplace(*name, index);
  namespace_bytes_ += sizeof(std::string) + name->capacity() + 48;  // map node and pointer
  return index;
}

core::Result<std::uint32_t> ActiveTokenIndex::AllocateRecord() {
  if (!free_records_.empty()) {
    std::uint32_t r = free_records_.back();
    free_records_.pop_back();
    return r;
  }
  if (records_allocated_ >= kMaxRecords)
    return core::Status::Unavailable("the active-token index holds the most tokens it can");
  return records_allocated_++;
}

void ActiveTokenIndex::Rebuild(size_t capacity) {
  Table* old = table_.load(std::memory_order_relaxed);
  Table* fresh = new Table(capacity);
  for (size_t i = 0; i < old->capacity(); ++i) {
    std::uint64_t slot = old->slots[i].load(std::memory_order_relaxed);
    if (slot == kEmpty || slot == kTombstone) continue;
    std::uint64_t hash = DigestHash((*records_)[RecordOf(slot)].digest);
    for (size_t j = hash & fresh->mask;; j = (j + 1) & fresh->mask) {
      if (fresh->slots[j].load(std::memory_order_relaxed) == kEmpty) {
        fresh->slots[j].store(slot, std::memory_order_relaxed);
        break;
      }
    }
  }
  table_.store(fresh, std::memory_order_seq_cst);
  used_ = live_.load(std::memory_order_relaxed);
  // Records stay where they are; only the old slot array is retired.
  reclaimer_.Retire([old] { delete old; });
}

void ActiveTokenIndex::Reserve(size_t n) {
  size_t capacity = kMinCapacity;
  while (n * 2 > capacity) capacity *= 2;  // half full, as after a rebuild
  if (capacity > table_.load(std::memory_order_relaxed)->capacity()) Rebuild(capacity);
}

core::Status ActiveTokenIndex::Insert(const core::Sha256Digest& digest, std::string_view token_id,
                                      std::string_view namespace_id, core::Timestamp created_at,
                                      core::Timestamp expires_at, core::Timestamp last_used) {
  static_assert(sizeof(Record) == 64, "one record per cache line: a lookup touches one line of records");
  if (!core::IsWellFormedTokenId(token_id))
    return core::Status::InvalidArgument("not a token id: \"" + std::string(token_id) + "\"");
  if (!FitsSeconds(created_at) || !FitsSeconds(expires_at) || !FitsSeconds(last_used))
    return core::Status::InvalidArgument("token " + std::string(token_id) + " has a time outside 1970-2106");
  auto ns = InternNamespace(namespace_id);
  if (!ns.ok()) return ns.status();
  Erase(digest);
  Table* t = table_.load(std::memory_order_relaxed);
  if ((used_ + 1) * 10 > t->capacity() * 7) {
    // Rebuilt tables start at most half full: between two rebuilds the load stays 35-70%.
    size_t capacity = kMinCapacity;
    while ((live_.load(std::memory_order_relaxed) + 1) * 2 > capacity) capacity *= 2;
    Rebuild(capacity);
    t = table_.load(std::memory_order_relaxed);
  }
  auto number = AllocateRecord();
  if (!number.ok()) return number.status();
  Record& r = records_->Writable(*number);
  r.digest = digest;
  r.id = PackId(token_id.substr(core::kTokenIdPrefix.size()));
  r.namespace_index = *ns;
  r.created_at = static_cast<std::uint32_t>(created_at);
  r.expires_at = static_cast<std::uint32_t>(expires_at);
  r.last_used.store(static_cast<std::uint32_t>(last_used), std::memory_order_relaxed);
  std::uint64_t hash = DigestHash(digest);
  for (size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
    std::uint64_t slot = t->slots[i].load(std::memory_order_relaxed);
    if (slot == kEmpty || slot == kTombstone) {
      if (slot == kEmpty) ++used_;
      t->slots[i].store(SlotValue(Tag(hash), *number), std::memory_order_seq_cst);
      live_.fetch_add(1, std::memory_order_relaxed);
      UpdateBytes();
      return core::Status::Ok();
    }
  }
}

core::Status ActiveTokenIndex::SetExpiry(const core::Sha256Digest& digest, core::Timestamp expires_at) {
  if (!FitsSeconds(expires_at)) return core::Status::InvalidArgument("an expiry outside 1970-2106");
  Table* t = table_.load(std::memory_order_relaxed);
  SlotRef found = FindSlot(*t, digest, std::memory_order_relaxed);
  if (found.slot == kEmpty) return core::Status::NotFound("no active token has this digest");
  // A reader may be reading the old record right now: it gets a changed copy, published by one
  // store to the same slot, so every reader sees the old record or the new one, never neither.
  auto number = AllocateRecord();
  if (!number.ok()) return number.status();
  std::uint32_t old = RecordOf(found.slot);
  const Record& from = (*records_)[old];
  Record& r = records_->Writable(*number);
  r.digest = from.digest;
  r.id = from.id;
  r.namespace_index = from.namespace_index;
  r.created_at = from.created_at;
  r.expires_at = static_cast<std::uint32_t>(expires_at);
  // A use recorded on the old copy between this load and the swap is lost: it is at most one
  // resolution step, and the next validation records it again.
  r.last_used.store(from.last_used.load(std::memory_order_relaxed), std::memory_order_relaxed);
  t->slots[found.pos].store(SlotValue(Tag(DigestHash(digest)), *number), std::memory_order_seq_cst);
  reclaimer_.Retire([this, old] { free_records_.push_back(old); });
  UpdateBytes();
  return core::Status::Ok();
}

std::optional<core::Timestamp> ActiveTokenIndex::LastUsed(const core::Sha256Digest& digest) const {
  ReadGuard guard;
  const Record* r = Find(digest);
  if (r == nullptr) return std::nullopt;
  std::uint32_t t = r->last_used.load(std::memory_order_relaxed);
  if (t == 0) return std::nullopt;
  return static_cast<core::Timestamp>(t);
}

void ActiveTokenIndex::ForEachUsedSince(core::Timestamp since,
                                        const std::function<void(std::string_view, core::Timestamp)>& visit) const {
  const Table* t = table_.load(std::memory_order_relaxed);
  std::array<char, core::kTokenIdPrefix.size() + core::kTokenIdRandomChars> id{};
  std::memcpy(id.data(), core::kTokenIdPrefix.data(), core::kTokenIdPrefix.size());
  for (size_t i = 0; i < t->capacity(); ++i) {
    std::uint64_t slot = t->slots[i].load(std::memory_order_relaxed);
    if (slot == kEmpty || slot == kTombstone) continue;
    const Record& r = (*records_)[RecordOf(slot)];
    core::Timestamp used = r.last_used.load(std::memory_order_relaxed);
    if (used == 0 || used < since) continue;
    UnpackId(r.id, id.data() + core::kTokenIdPrefix.size());
    visit(std::string_view(id.data(), id.size()), used);
  }
}

void ActiveTokenIndex::Erase(const core::Sha256Digest& digest) {
  Table* t = table_.load(std::memory_order_relaxed);
  SlotRef found = FindSlot(*t, digest, std::memory_order_relaxed);
  if (found.slot == kEmpty) return;
  std::uint32_t record = RecordOf(found.slot);
  t->slots[found.pos].store(kTombstone, std::memory_order_seq_cst);
  live_.fetch_sub(1, std::memory_order_relaxed);
  // A reader may still be comparing this record: reuse it only after they are gone.
  reclaimer_.Retire([this, record] { free_records_.push_back(record); });
}

}  // namespace tokenledger::projections
