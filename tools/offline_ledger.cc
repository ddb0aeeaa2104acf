#include "tools/offline_ledger.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

namespace tokenledger::tools {

core::Result<std::unique_ptr<OfflineLedger>> OfflineLedger::Open(const std::string& data_dir) {
  if (!std::filesystem::exists(data_dir + "/CURRENT")) return core::Status::NotFound("no ledger in data dir " + data_dir);
  std::unique_ptr<OfflineLedger> ledger(new OfflineLedger());
  std::error_code ec;
  auto scratch = std::filesystem::temp_directory_path(ec) / ("tokenctl-" + std::to_string(::getpid()));
  ledger->scratch_dir_ = scratch.string();
  auto storage = events::Storage::OpenSecondary(data_dir, ledger->scratch_dir_);
  if (!storage.ok()) return storage.status();
  ledger->storage_ = std::move(storage).value();
  auto store = events::EventStore::Open(*ledger->storage_);
  if (!store.ok()) return store.status();
  ledger->store_ = std::move(store).value();
  return ledger;
}

OfflineLedger::~OfflineLedger() {
  store_.reset();
  storage_.reset();
  std::error_code ec;
  if (!scratch_dir_.empty()) std::filesystem::remove_all(scratch_dir_, ec);
}

core::Result<ProgressMode> ParseProgressMode(std::string_view text) {
  if (text == "auto") return ProgressMode::kAuto;
  if (text == "always") return ProgressMode::kAlways;
  if (text == "never") return ProgressMode::kNever;
  return core::Status::InvalidArgument("--progress must be auto, always or never");
}

Progress::Progress(std::string what, ProgressMode mode)
    : what_(std::move(what)),
      enabled_(mode == ProgressMode::kAlways || (mode == ProgressMode::kAuto && ::isatty(STDERR_FILENO) == 1)),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void Progress::Update(std::uint64_t events) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  Print(events, false);
}

void Progress::Done(std::uint64_t events) {
  if (enabled_ && shown_) Print(events, true);
}

void Progress::Print(std::uint64_t events, bool final) {
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = seconds > 0 ? static_cast<double>(events) / seconds : 0;
  std::fprintf(stderr, "\r%s: %llu events (%.0f events/s)%s", what_.c_str(),
               static_cast<unsigned long long>(events), rate, final ? "\n" : "   ");
  std::fflush(stderr);
  shown_ = true;
}

}  // namespace tokenledger::tools
