// The active-token view used by validation: secret digest -> token id, namespace, expires_at.
//
// Built for the hot path: an open-addressing hash table of atomic pointers to immutable
// entries, probed by the digest's first 8 bytes (uniformly random). Readers take no lock, do
// not allocate and never wait for the writer; the writer replaces pointers and frees old
// entries and tables through epoch-based reclamation. Memory per active token: one 72-byte
// entry plus 1.4-2.5 pointer slots (the table is kept 40-70% full); the id and namespace
// strings are not copied (see ActiveTokenEntry).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/digest.h"
#include "projections/epoch_reclaimer.h"

namespace tokenledger::projections {

// token_id and namespace_id view strings the inserter owns and keeps unchanged for as long as
// the index lives (the Ledger points them into its TokenTable, whose records are never removed
// and whose ids and namespaces never change).
struct ActiveTokenEntry {
  core::Sha256Digest digest{};
  std::string_view token_id;
  std::string_view namespace_id;
  core::Timestamp expires_at = 0;
};

enum class Validity { kInactive, kWrongNamespace, kActive };

// One writer thread calls Insert/Erase; any number of threads call Validate concurrently.
class ActiveTokenIndex {
 public:
  ActiveTokenIndex();
  ~ActiveTokenIndex();
  ActiveTokenIndex(const ActiveTokenIndex&) = delete;
  ActiveTokenIndex& operator=(const ActiveTokenIndex&) = delete;

  // Writer only. Adds or replaces the entry for entry.digest.
  void Insert(ActiveTokenEntry entry);
  // Writer only. Removes the entry for digest, if any.
  void Erase(const core::Sha256Digest& digest);
  // Writer only: frees entries and tables no reader can reach any more.
  void Reclaim() { reclaimer_.Reclaim(); }

  // Checks a presented secret: malformed (format or checksum) -> kInactive without a lookup;
  // unknown or at/after expires_at -> kInactive; known but `required_namespace` given and
  // different -> kWrongNamespace; else kActive, and on_active(entry) runs while the entry is
  // guaranteed alive (copy what you need out of it). Lock-free and allocation-free.
  template <class OnActive>
  Validity Validate(std::string_view secret, std::optional<std::string_view> required_namespace,
                    core::Timestamp now, OnActive&& on_active) const {
    if (!IsWellFormedSecret(secret)) return Validity::kInactive;
    core::Sha256Digest digest = core::Sha256(secret);
    ReadGuard guard;
    const ActiveTokenEntry* e = FindLocked(digest);
    if (e == nullptr || now >= e->expires_at) return Validity::kInactive;
    if (required_namespace && *required_namespace != e->namespace_id)
      return Validity::kWrongNamespace;
    on_active(*e);
    return Validity::kActive;
  }

  // Number of entries (writer's view).
  size_t size() const { return live_; }

 private:
  struct Table;
  static bool IsWellFormedSecret(std::string_view secret) noexcept;
  // Caller holds a ReadGuard (or is the writer).
  const ActiveTokenEntry* FindLocked(const core::Sha256Digest& digest) const;
  void Grow(size_t capacity);

  std::atomic<Table*> table_;
  size_t live_ = 0;
  size_t used_ = 0;  // live entries plus tombstones in the current table
  EpochReclaimer reclaimer_;
};

}  // namespace tokenledger::projections
