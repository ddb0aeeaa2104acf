// Offline verification of an export (JSONL or CSV): every event's hash matches its content,
// seqs follow each other without a gap, each prev_hash is the previous event's hash, and the
// export ends at a head signed by the trusted key. Needs nothing but the file and the key.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <string>

#include "core/signing.h"
#include "core/status.h"
#include "events/signed_head.h"

namespace tokenledger::events {

struct ExportReport {
  std::uint64_t events = 0;
  std::uint64_t first_seq = 0, last_seq = 0;
  core::Sha256Digest last_hash{};
  bool starts_at_genesis = false;      // the first event is seq 1 (chained from zero bytes)
  std::optional<SignedHead> head;      // the signed head the export was checked against
  std::optional<std::uint64_t> first_bad_seq;  // the first seq where a check failed
  std::string problem;                 // what failed there (empty iff verified)
  bool ok() const { return problem.empty(); }
};

struct ExportVerifyOptions {
  core::PublicKey trusted_key{};
  // A head given apart from the file (e.g. saved from GET /v1/ledger/head?seq=N): its seq must
  // be in the export with the same hash. When it is the export's last event it is the head the
  // export ends at (what CSV, with no room for the signed head line, needs); an earlier one
  // (kept from an earlier audit) proves that prefix was not rewritten since.
  std::optional<SignedHead> head;
  // Called with the number of events checked so far, every 65,536 events.
  std::function<void(std::uint64_t)> progress;
};

// Reads an export from in (the format is told by its first line: the CSV header row, or a JSON
// object) and checks it. Stops at the first failure. The Status is non-ok only when the input
// cannot be read; a failed check is a report with a problem.
core::Result<ExportReport> VerifyExport(std::istream& in, const ExportVerifyOptions& options);

}  // namespace tokenledger::events
