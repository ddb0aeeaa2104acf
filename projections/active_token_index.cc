#include "projections/active_token_index.h"

#include <cstring>

#include "core/token_format.h"

namespace tokenledger::projections {
namespace {

// Marks a slot whose entry was erased: probing continues past it, inserts may reuse it.
const ActiveTokenEntry kTombstone{};

std::uint64_t SlotHash(const core::Sha256Digest& digest) {
  std::uint64_t h;
  std::memcpy(&h, digest.data(), sizeof h);
  return h;
}

}  // namespace

struct ActiveTokenIndex::Table {
  explicit Table(size_t capacity)
      : mask(capacity - 1), slots(new std::atomic<const ActiveTokenEntry*>[capacity]) {
    for (size_t i = 0; i < capacity; ++i) slots[i].store(nullptr, std::memory_order_relaxed);
  }
  size_t capacity() const { return mask + 1; }
  size_t mask;
  std::unique_ptr<std::atomic<const ActiveTokenEntry*>[]> slots;
};

ActiveTokenIndex::ActiveTokenIndex() : table_(new Table(1024)) {}

ActiveTokenIndex::~ActiveTokenIndex() {
  reclaimer_.Reclaim();
  Table* t = table_.load();
  for (size_t i = 0; i < t->capacity(); ++i) {
    const ActiveTokenEntry* e = t->slots[i].load();
    if (e != nullptr && e != &kTombstone) delete e;
  }
  delete t;
}

bool ActiveTokenIndex::IsWellFormedSecret(std::string_view secret) noexcept {
  return core::IsWellFormedToken(secret);
}

// Memory order: the pointer loads here and the publishing/unlinking stores below are seq_cst, as
// are the reader's epoch store and the writer's epoch scan (epoch_reclaimer.cc). In that single
// total order either the writer's scan sees the reader's epoch, or the reader sees the unlinked
// state, so nothing a reader can reach is freed. (seq_cst loads cost nothing extra on x86.)
const ActiveTokenEntry* ActiveTokenIndex::FindLocked(const core::Sha256Digest& digest) const {
  const Table* t = table_.load(std::memory_order_seq_cst);
  for (size_t i = SlotHash(digest) & t->mask, probes = 0; probes <= t->mask;
       i = (i + 1) & t->mask, ++probes) {
    const ActiveTokenEntry* e = t->slots[i].load(std::memory_order_seq_cst);
    if (e == nullptr) return nullptr;
    if (e != &kTombstone && e->digest == digest) return e;
  }
  return nullptr;
}

void ActiveTokenIndex::Grow(size_t capacity) {
  Table* old = table_.load(std::memory_order_relaxed);
  Table* fresh = new Table(capacity);
  for (size_t i = 0; i < old->capacity(); ++i) {
    const ActiveTokenEntry* e = old->slots[i].load(std::memory_order_relaxed);
    if (e == nullptr || e == &kTombstone) continue;
    for (size_t j = SlotHash(e->digest) & fresh->mask;; j = (j + 1) & fresh->mask) {
      if (fresh->slots[j].load(std::memory_order_relaxed) == nullptr) {
        fresh->slots[j].store(e, std::memory_order_relaxed);
        break;
      }
    }
  }
  table_.store(fresh, std::memory_order_seq_cst);
  used_ = live_;
  // Entries moved to the new table; only the old slot array is retired.
  reclaimer_.Retire([old] { delete old; });
}

void ActiveTokenIndex::Insert(ActiveTokenEntry entry) {
  Erase(entry.digest);
  Table* t = table_.load(std::memory_order_relaxed);
  if ((used_ + 1) * 10 > t->capacity() * 7) {
    size_t capacity = 1024;
    while ((live_ + 1) * 10 > capacity * 4) capacity *= 2;  // rebuilt tables start <= 40% full
    Grow(capacity);
    t = table_.load(std::memory_order_relaxed);
  }
  auto* fresh = new ActiveTokenEntry(std::move(entry));
  for (size_t i = SlotHash(fresh->digest) & t->mask;; i = (i + 1) & t->mask) {
    const ActiveTokenEntry* e = t->slots[i].load(std::memory_order_relaxed);
    if (e == nullptr || e == &kTombstone) {
      if (e == nullptr) ++used_;
      t->slots[i].store(fresh, std::memory_order_seq_cst);
      ++live_;
      return;
    }
  }
}

void ActiveTokenIndex::Erase(const core::Sha256Digest& digest) {
  Table* t = table_.load(std::memory_order_relaxed);
  for (size_t i = SlotHash(digest) & t->mask, probes = 0; probes <= t->mask;
       i = (i + 1) & t->mask, ++probes) {
    const ActiveTokenEntry* e = t->slots[i].load(std::memory_order_relaxed);
    if (e == nullptr) return;
    if (e != &kTombstone && e->digest == digest) {
      t->slots[i].store(&kTombstone, std::memory_order_seq_cst);
      --live_;
      reclaimer_.Retire([e] { delete e; });
      return;
    }
  }
}

}  // namespace tokenledger::projections
