// The ledger: decides commands against the token state, appends the resulting events through
// one writer thread with group commit, and keeps the projections that answer reads.
//
// A write's path: Create/Revoke queue a command -> the writer thread takes every queued
// command, decides each (events/lifecycle_rules.h) -> appends all their events in one fsync'd
// WriteBatch -> applies them to the token table and the active index -> saves the projection
// rows -> calls each command's completion. Completions run on the writer thread: keep them
// short (post to your own executor). The same thread records token.expired for tokens that
// reached expires_at, and token.revoked for rotated tokens whose grace ended (every 200 ms).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "core/signing.h"
#include "core/status.h"
#include "events/event_store.h"
#include "events/signed_head.h"
#include "events/storage.h"
#include "projections/active_token_index.h"
#include "projections/event_waiters.h"
#include "projections/last_use_store.h"
#include "projections/projection_store.h"
#include "projections/token_table.h"

namespace tokenledger::projections {

inline constexpr int kDefaultMaxLifetimeDays = 366;  // the one-calendar-year rule always binds
inline constexpr size_t kMaxRevokeIds = 1000;
inline constexpr std::string_view kExpiryActor = "system:expiry";
// The actor of the token.revoked that ends a rotated token's grace period, and its reason.
inline constexpr std::string_view kRotationActor = "system:rotation";
inline constexpr std::string_view kRotationReason = "rotated";
inline constexpr size_t kDefaultMaxQueuedCommands = 10000;

struct LedgerOptions {
  std::string data_dir;
  int max_lifetime_days = kDefaultMaxLifetimeDays;  // 1..366
  const core::Clock* clock = nullptr;                // null: the system clock
  // Signs the ledger head (GET /v1/ledger/head, and the copy saved in the data dir about once a
  // second after writes and at Stop). Null: no signing. Must outlive the ledger.
  const core::SigningKey* signing_key = nullptr;
  // Write commands waiting for the writer; beyond this, Create/Revoke answer ResourceExhausted
  // at once instead of queueing without bound (back-pressure: clients retry later).
  size_t max_queued_commands = kDefaultMaxQueuedCommands;
  // Check every data file's checksums at Open (Storage::VerifyDataFiles): a damaged file stops
  // the open with Corruption instead of being served until a query trips over it.
  bool verify_data_files = true;
};

struct CreateTokenCommand {
  std::string namespace_id;
  std::string name;
  std::optional<core::Timestamp> expires_at;
  std::string actor;
};

struct CreatedToken {
  TokenRecord record;
  std::string secret;  // shown once to the caller, never stored
};

struct RevokeTokensCommand {
  std::string namespace_id;
  std::vector<std::string> ids;  // 1..1000; a repeated id reports already_revoked
  std::string reason;
  std::string actor;
  // The ids may be of any namespace (namespace_id unused): leaked-token revocation, whose ids
  // come from the secrets themselves, never from the caller.
  bool any_namespace = false;
};

// Replaces a token by a new one of the same name and namespace (events::TokenRotated).
struct RotateTokenCommand {
  std::string namespace_id;
  std::string id;
  core::Timestamp grace_seconds = 0;  // 0..events::kMaxRotationGraceSeconds
  std::optional<core::Timestamp> expires_at;  // the new token's; default the maximum lifetime
  std::string actor;
};

enum class RevokeResult { kRevoked, kNotFound, kAlreadyRevoked, kExpired };
std::string_view RevokeResultName(RevokeResult result);

struct RevokeOutcome {
  std::string id;
  RevokeResult result;
};

// Thread-safe: any thread may call any method. Validate is lock-free (see ActiveTokenIndex).
class Ledger {
 public:
  // Opens the data dir, loads the persisted projection and replays the log tail (or the whole
  // log when the projection is missing or unusable), then starts the writer thread. After a
  // full rebuild the writer first saves the rebuilt rows; writes queue until that is done.
  // Unavailable when another process holds the data dir; Corruption for a damaged log.
  static core::Result<std::unique_ptr<Ledger>> Open(LedgerOptions options);
  ~Ledger();  // Stop()s

  using CreateDone = std::function<void(core::Result<CreatedToken>)>;
  using RevokeDone = std::function<void(core::Result<std::vector<RevokeOutcome>>)>;

  // Mints a token. done gets InvalidArgument (bad name, namespace or actor), OutOfRange (expiry
  // in the past or beyond the maximum lifetime), ResourceExhausted (the write queue is full) or
  // Unavailable (store failed or stopping), else the durable token with its secret.
  void Create(CreateTokenCommand command, CreateDone done);
  // Revokes ids in the namespace, all in one atomic append. An id of another namespace is
  // not_found. done gets InvalidArgument, ResourceExhausted or Unavailable, or one outcome per
  // id in order.
  void Revoke(RevokeTokensCommand command, RevokeDone done);
  // Rotates a token: one atomic append of the new token's token.created, the old one's
  // token.rotated and, without grace, its token.revoked (reason "rotated"); with grace the old
  // token validates until then and the sweeper records its revocation. done gets the new token
  // (rotated_from set) with its secret, or InvalidArgument, OutOfRange (expires_at, grace),
  // NotFound (no such token in the namespace), Conflict (revoked, expired or already rotated),
  // ResourceExhausted or Unavailable.
  void Rotate(RotateTokenCommand command, CreateDone done);

  // See ActiveTokenIndex::Validate; the time is this ledger's clock. Lock-free, allocation-free.
  // use: whether an active answer counts as a use (last_used_at); a lookup that is not a client
  // presenting its token (a leak report, say) passes Use::kDontRecord.
  Validity Validate(std::string_view secret, std::optional<std::string_view> required_namespace,
                    ActiveToken* out, Use use = Use::kRecord) const {
    return index_.Validate(secret, required_namespace, clock_->Now(), out, use);
  }

  // See ActiveTokenIndex::ValidateBatch; the time is this ledger's clock.
  void ValidateBatch(ActiveTokenIndex::BatchItem* items, size_t count) const {
    index_.ValidateBatch(items, count, clock_->Now());
  }

  // The token if it exists in namespace ns, with its latest last use.
  std::optional<TokenRecord> Get(std::string_view ns, std::string_view id) const;
  // The token of any namespace (for the server's own use: webhooks), without its last use.
  std::optional<TokenRecord> Find(std::string_view id) const;
  // Calls visit for every recorded-active token (under the read lock: keep it short) and returns
  // the seq of the last event the table reflected then.
  std::uint64_t ScanActive(const std::function<void(const TokenRecord&)>& visit) const;
  // A page of ns's tokens, newest first (see TokenTable::List), now or as of a point in history;
  // now, each with its latest last use (as of, none: a last use is not history).
  TokenTable::Page List(std::string_view ns, StatusFilter filter, size_t limit,
                        std::optional<std::uint64_t> cursor, std::optional<AsOf> as_of = std::nullopt,
                        std::optional<core::Timestamp> expires_by = std::nullopt) const;

  // Point in time. The state after event seq (InvalidArgument beyond the head), judged at
  // that event's recorded_at; or the state at time t: every event recorded at or before t
  // (InvalidArgument when t is in the future).
  core::Result<AsOf> AsOfSeq(std::uint64_t seq) const;
  core::Result<AsOf> AsOfTime(core::Timestamp t) const;
  // The token of this secret if it was valid as of then (and in required_namespace, if
  // given); nullopt when it was not, or the secret is malformed or unknown. Reads RocksDB.
  core::Result<std::optional<TokenRecord>> ValidateAsOf(std::string_view secret,
                                                        std::optional<std::string_view> required_namespace,
                                                        const AsOf& as_of) const;

  // The token's events in seq order (creation, then its revocation or expiry if any);
  // NotFound for an unknown id.
  core::Result<std::vector<events::Event>> History(std::string_view id) const;
  // The log, for reading (scans are safe from any thread, concurrently with appends).
  const events::EventStore& event_store() const { return *store_; }
  // The data dir's database, for the server's own column families (webhook deliveries).
  events::Storage& storage() const { return *storage_; }

  // Calls back (see EventWaiters) when an event after `after` (of namespace_id, if given) is
  // durable and applied, or false at deadline or shutdown (CancelWaits).
  void WaitForEvents(std::uint64_t after, std::optional<std::string> namespace_id,
                     EventWaiters::Clock::time_point deadline, EventWaiters::Callback callback);
  void CancelWaits() { waiters_.CancelAll(); }

  // The head (or event seq's hash, seq <= head) signed now. Unavailable without a signing key,
  // InvalidArgument for a seq beyond the head.
  core::Result<events::SignedHead> SignHead(std::optional<std::uint64_t> seq = std::nullopt) const;
  // Signs (seq, hash) now, as given: an export signs the hash of the last event it read.
  // Unavailable without a signing key.
  core::Result<events::SignedHead> SignHash(std::uint64_t seq, const core::Sha256Digest& hash) const;
  bool can_sign() const { return options_.signing_key != nullptr; }

  // False once a write failed (every write is refused until restart) or after Stop().
  bool writable() const;
  std::uint64_t head_seq() const { return store_->head_seq(); }
  // fsync'd event batches so far; head_seq() / append_batches() is the group-commit factor.
  std::uint64_t append_batches() const { return store_->batches_written(); }
  const core::Clock& clock() const { return *clock_; }
  // How the projection was restored at Open: the checkpoint loaded and events replayed.
  std::uint64_t loaded_checkpoint() const { return loaded_checkpoint_; }
  std::uint64_t replayed_events() const { return replayed_events_; }
  // Per write command, from Create/Revoke to its completion (queueing, decide, fsync, apply).
  const core::LatencyHistogram& append_latency() const { return append_latency_; }
  // Write commands refused because the queue was full (see LedgerOptions::max_queued_commands).
  std::uint64_t queue_full_rejections() const { return queue_full_rejections_.load(std::memory_order_relaxed); }
  // Tokens in the active index (the writer's view; exact between writes).
  size_t active_tokens() const { return index_.size(); }
  // Memory held by the active-token index (see ActiveTokenIndex::ApproxBytes).
  size_t active_index_bytes() const { return index_.ApproxBytes(); }

  // Finishes every queued command, stops the writer thread. Later commands get Unavailable.
  void Stop();

 private:
  struct Command {
    std::variant<CreateTokenCommand, RevokeTokensCommand, RotateTokenCommand> body;
    CreateDone create_done;  // create and rotate
    RevokeDone revoke_done;
    std::chrono::steady_clock::time_point queued_at = std::chrono::steady_clock::now();
  };
  struct PendingReply;

  explicit Ledger(LedgerOptions options);
  core::Status Load();
  void Enqueue(Command command);
  void WriterLoop();
  void ProcessGroup(std::vector<Command> commands);
  // True once an event or projection write failed: every later write is refused.
  bool WritesRefused() const;
  // A fresh id used neither by a stored token nor by a create earlier in this group.
  core::Result<std::string> NewTokenId(const std::unordered_set<std::string>& pending_ids) const;
  void ApplyCommitted(const std::vector<events::Event>& appended);
  void SaveProjection(const std::vector<events::Event>& appended);
  // Writer, first thing after a rebuild at Open: saves every rebuilt row (see Load).
  void SaveRebuiltProjection();
  // Writer: copies the last uses validations recorded in the index since the previous harvest
  // into the table and the last_used column family (every kLastUseHarvestInterval, and at Stop).
  void HarvestLastUses();
  // Writer: records uses in the table and saves them (a harvest, or tokens leaving the index).
  void SaveLastUses(const std::vector<std::pair<std::string, core::Timestamp>>& uses);
  // The record with the index's fresher last use, if the token is indexed.
  void FillLastUse(TokenRecord& record) const;
  // Saves a signed head when the head moved and a second has passed (or always, with force).
  void SaveSignedHeadIfDue(bool force);

  LedgerOptions options_;
  core::SystemClock system_clock_;
  const core::Clock* clock_;
  std::unique_ptr<events::Storage> storage_;
  std::unique_ptr<events::EventStore> store_;
  std::unique_ptr<ProjectionStore> projection_store_;
  std::unique_ptr<LastUseStore> last_use_store_;
  core::Timestamp last_use_harvested_ = 0;  // writer only: the time the last harvest started
  std::chrono::steady_clock::time_point next_harvest_{};  // writer only
  std::uint64_t loaded_checkpoint_ = 0;
  std::uint64_t replayed_events_ = 0;
  core::LatencyHistogram append_latency_;

  // Read side. The writer thread is the only mutator of table_ (under the unique lock) and
  // index_; it may read table_ without the lock.
  mutable std::shared_mutex table_mutex_;
  TokenTable table_;
  ActiveTokenIndex index_;
  // Writer only: every token that was active when queued, soonest expiry (or rotation deadline)
  // on top. Revoked ones are dropped lazily when they reach the top (cheaper than erasing from
  // an ordered set).
  using ExpiryItem = std::pair<core::Timestamp, const TokenRecord*>;
  std::priority_queue<ExpiryItem, std::vector<ExpiryItem>, std::greater<>> expiry_queue_;

  mutable std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<Command> queue_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> queue_full_rejections_{0};
  std::atomic<bool> projection_failed_{false};
  core::Status apply_status_;  // writer only: the first contradiction met while applying
  core::Timestamp last_recorded_at_ = 0;  // writer only: recorded_at never goes backwards
  bool full_save_pending_ = false;        // set by Load after a rebuild, cleared by the writer
  std::uint64_t signed_seq_ = 0;          // writer only: the seq of the last saved signed head
  std::chrono::steady_clock::time_point signed_when_{};
  EventWaiters waiters_;
  std::thread writer_;
};

}  // namespace tokenledger::projections
