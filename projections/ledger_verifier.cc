#include "projections/ledger_verifier.h"

#include "events/event_codec.h"
#include "events/event_store.h"
#include "projections/projection_store.h"
#include "projections/token_table.h"

namespace tokenledger::projections {
namespace {
constexpr size_t kMaxProblems = 20;
}

core::Result<VerifyReport> VerifyLedger(events::Storage& storage, const VerifyOptions& options) {
  VerifyReport report;
  auto problem = [&](std::string text) {
    if (report.problems.size() < kMaxProblems) report.problems.push_back(std::move(text));
  };

  // Every data file's block checksums, including files of rows nothing below reads.
  core::Status files = storage.VerifyDataFiles();
  if (!files.ok()) problem(files.message());

  // The persisted projection, to which the log tail is applied in the same pass as the
  // full replay (one scan, no copy of the log in memory).
  TokenTable persisted;
  ProjectionStore projection_store(storage);
  auto checkpoint = projection_store.Load(persisted);
  if (!checkpoint.ok()) problem("persisted projection: " + checkpoint.status().message());
  if (checkpoint.ok()) report.checkpoint = *checkpoint;

  // The saved signed head: its signature now, its hash against the log during the scan.
  auto store = events::EventStore::Open(storage);
  if (!store.ok()) problem("event log: " + store.status().message());
  std::optional<events::SignedHead> signed_head;
  if (store.ok()) {
    auto loaded = (*store)->LoadSignedHead();
    if (!loaded.ok()) problem(loaded.status().message());
    else signed_head = *loaded;
  }
  if (signed_head) {
    core::Status sig = events::VerifySignedHead(*signed_head, options.trusted_key.value_or(signed_head->public_key));
    if (!sig.ok()) problem("signed head at seq " + std::to_string(signed_head->seq) + ": " + sig.message());
    report.signed_head = signed_head;
  } else if (options.trusted_key) {
    problem("the data dir holds no signed head to check against the public key");
  }

  // The chain: keys 1..n without gaps, each event intact and linked to the previous.
  TokenTable replayed;
  core::Timestamp last_recorded_at = 0;
  events::StoredEventDecoder decoder;
  events::Event decoded_event;  // reused: the decoder keeps its strings' memory
  core::Sha256Digest prev{};
  std::uint64_t expected = 1;
  bool chain_ok = true;
  core::Status scan = events::ScanStoredEvents(storage, 1, [&](std::uint64_t seq, std::string_view bytes) {
    ++report.events;
    if (seq != expected) {
      problem("gap: expected seq " + std::to_string(expected) + ", found " + std::to_string(seq));
      chain_ok = false;
    }
    expected = seq + 1;
    core::Status decoded = decoder.Decode(bytes, decoded_event);
    if (!decoded.ok()) {
      problem("event " + std::to_string(seq) + ": " + decoded.message());
      chain_ok = false;
      return true;
    }
    const events::Event* event = &decoded_event;
    if (event->seq != seq) {
      problem("event under key " + std::to_string(seq) + " says seq " + std::to_string(event->seq));
      chain_ok = false;
    }
    if (event->prev_hash != prev) {
      problem("event " + std::to_string(seq) + ": prev_hash does not match the previous event's hash");
      chain_ok = false;
    }
    prev = event->hash;
    if (event->recorded_at < last_recorded_at)
      problem("event " + std::to_string(seq) + ": recorded_at goes back in time");
    last_recorded_at = event->recorded_at;
    if (signed_head && signed_head->seq == seq && signed_head->hash != event->hash)
      problem("signed head: seq " + std::to_string(seq) + " has another hash in the log");
    if (options.progress && report.events % 65536 == 0) options.progress(report.events);
    report.head_seq = seq;
    report.head_hash = event->hash;
    core::Status applied = replayed.Apply(*event);
    if (!applied.ok()) problem(applied.message());
    if (checkpoint.ok() && seq > *checkpoint) {
      core::Status tail = persisted.Apply(*event);
      if (!tail.ok()) problem("projection tail: " + tail.message());
    }
    return true;
  });
  if (!scan.ok()) return scan;
  report.tokens = replayed.size();
  if (signed_head && signed_head->seq > report.head_seq)
    problem("signed head: seq " + std::to_string(signed_head->seq) + " is beyond the log head " +
            std::to_string(report.head_seq) + " (events were removed)");

  // Every token's digest names it, and nothing else is there.
  std::uint64_t digests = 0;
  core::Status digest_scan = projection_store.ScanDigests([&](const core::Sha256Digest& digest, std::string_view id) {
    ++digests;
    const TokenRecord* r = replayed.Find(id);
    if (r == nullptr || r->secret_digest != digest) problem("digest row for token " + std::string(id) + " is wrong");
  });
  if (!digest_scan.ok()) return digest_scan;
  if (checkpoint.ok() && *checkpoint == report.head_seq && digests != replayed.size())
    problem("the digests hold " + std::to_string(digests) + " tokens, the log " + std::to_string(replayed.size()));

  if (!checkpoint.ok()) return report;
  if (*checkpoint > report.head_seq) {
    problem("persisted projection is at seq " + std::to_string(*checkpoint) +
            ", beyond the log head " + std::to_string(report.head_seq));
    return report;
  }
  if (!chain_ok) return report;  // a replay of a broken log proves nothing more
  if (!(persisted == replayed)) {
    size_t shown = 0;
    for (const TokenRecord& record : replayed.records()) {
      const std::string& id = record.id;
      const TokenRecord* other = persisted.Find(id);
      if (other == nullptr || !(*other == record)) {
        if (shown++ < 5) problem("projection differs from replay for token " + id);
      }
    }
    for (const TokenRecord& record : persisted.records())
      if (replayed.Find(record.id) == nullptr && shown++ < 10)
        problem("projection holds token " + record.id + " that the log never created");
    if (shown == 0) problem("projection differs from replay");
  }
  return report;
}

}  // namespace tokenledger::projections
