// What tokenctl's offline commands share: a data dir opened read-only as a RocksDB secondary
// instance (safe while tokenledgerd runs on it), and progress lines for long runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "events/event_store.h"
#include "events/storage.h"

namespace tokenledger::tools {

// Owns the secondary instance and its scratch dir (removed on destruction).
class OfflineLedger {
 public:
  // NotFound when data_dir holds no ledger; the storage's errors otherwise.
  static core::Result<std::unique_ptr<OfflineLedger>> Open(const std::string& data_dir);
  ~OfflineLedger();

  events::Storage& storage() { return *storage_; }
  const events::EventStore& store() const { return *store_; }

 private:
  OfflineLedger() = default;
  std::string scratch_dir_;
  std::unique_ptr<events::Storage> storage_;
  std::unique_ptr<events::EventStore> store_;
};

// When progress lines are shown: kAuto only when stderr is a terminal (scripts and logs get no
// control characters).
enum class ProgressMode { kAuto, kAlways, kNever };
// "auto", "always", "never"; InvalidArgument otherwise.
core::Result<ProgressMode> ParseProgressMode(std::string_view text);

// "\r<what>: N events (R events/s)" on stderr, at most five times a second.
class Progress {
 public:
  Progress(std::string what, ProgressMode mode);
  void Update(std::uint64_t events);
  // The final line (with a newline), when any progress was shown.
  void Done(std::uint64_t events);

 private:
  void Print(std::uint64_t events, bool final);
  std::string what_;
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace tokenledger::tools
