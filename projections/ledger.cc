#include "projections/ledger.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <unordered_set>

#include "core/log.h"
#include "core/names.h"
#include "core/token_format.h"
#include "events/lifecycle_rules.h"
#include "projections/replay.h"

namespace tokenledger::projections {
namespace {

constexpr auto kSweepInterval = std::chrono::milliseconds(200);
// Bounds one group's WriteBatch; the rest waits for the next fsync.
constexpr size_t kMaxCommandsPerGroup = 1024;
constexpr size_t kMaxExpiriesPerGroup = 1000;
// How often the writer copies last uses from the index to the table and disk: with the index's
// kLastUseResolution, a listed last_used_at is at most about a minute behind the last use.
constexpr auto kLastUseHarvestInterval = std::chrono::seconds(30);

}  // namespace

std::string_view RevokeResultName(RevokeResult result) {
  switch (result) {
    case RevokeResult::kRevoked: return "revoked";
    case RevokeResult::kNotFound: return "not_found";
    case RevokeResult::kAlreadyRevoked: return "already_revoked";
    case RevokeResult::kExpired: return "expired";
  }
  return "unknown";
}

// What a decided command will be told once its events are durable.
struct Ledger::PendingReply {
  Command* command;
  core::Status rejection;                // non-ok: reply with it, no events
  std::string created_id, secret;        // create
  std::vector<RevokeOutcome> outcomes;   // revoke
};

Ledger::Ledger(LedgerOptions options)
    : options_(std::move(options)), clock_(options_.clock ? options_.clock : &system_clock_) {}

core::Result<std::unique_ptr<Ledger>> Ledger::Open(LedgerOptions options) {
  if (options.max_lifetime_days < 1 || options.max_lifetime_days > kDefaultMaxLifetimeDays)
    return core::Status::InvalidArgument("max lifetime must be 1-366 days");
  if (options.max_queued_commands < 1) return core::Status::InvalidArgument("the write queue must hold at least 1 command");
  std::unique_ptr<Ledger> ledger(new Ledger(std::move(options)));
  core::Status s = ledger->Load();
  if (!s.ok()) return s;
  ledger->writer_ = std::thread([l = ledger.get()] { l->WriterLoop(); });
  return ledger;
}

core::Status Ledger::Load() {
  auto t0 = std::chrono::steady_clock::now();
  auto ms_since = [&t0] {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count()) + " ms";
  };
  auto storage = events::Storage::OpenPrimary(options_.data_dir);
  if (!storage.ok()) return storage.status();
  storage_ = std::move(storage).value();
  if (options_.verify_data_files) {
    core::Status verified = storage_->VerifyDataFiles();
    if (!verified.ok()) return verified;
    core::Log(core::LogLevel::kDebug, "data files verified: " + ms_since());
  }
  auto store = events::EventStore::Open(*storage_);
  if (!store.ok()) return store.status();
  store_ = std::move(store).value();
  projection_store_ = std::make_unique<ProjectionStore>(*storage_);
  last_use_store_ = std::make_unique<LastUseStore>(*storage_);

  std::uint64_t head = store_->head_seq();
  core::Log(core::LogLevel::kDebug, "rocksdb open: " + ms_since());
  auto checkpoint = projection_store_->Load(table_);
  core::Log(core::LogLevel::kDebug, "projection rows loaded: " + ms_since());
  bool rebuild = !checkpoint.ok() || *checkpoint > head;
  if (rebuild) {
    // The projection is derived data: when it cannot be trusted, the log rebuilds it.
    core::Log(core::LogLevel::kWarn,
              "token projection unusable (" +
                  (checkpoint.ok() ? std::string("ahead of the log") : checkpoint.status().ToString()) +
                  "); rebuilding it from the full log");
    table_ = TokenTable();
  }
  loaded_checkpoint_ = rebuild ? 0 : *checkpoint;
  // Nothing saved yet (a log written by other means, or never checkpointed): as a rebuild.
  if (loaded_checkpoint_ == 0) rebuild = true;
  std::unordered_set<std::string> touched;
  auto replayed = Replay(*store_, loaded_checkpoint_ + 1, head, table_, nullptr,
                         rebuild ? std::function<void(const events::Event&)>()
                                 : [&touched](const events::Event& e) {
                                     touched.insert(events::TokenIdOf(e.payload));
                                     if (const std::string* second = events::SecondTokenIdOf(e.payload)) touched.insert(*second);
                                   });
  if (!replayed.ok()) return replayed.status();
  replayed_events_ = *replayed;
  core::Log(core::LogLevel::kDebug, "log tail replayed: " + ms_since());
  core::Status saved = core::Status::Ok();
  if (rebuild) {
    // Saved by the writer thread before its first write (see WriterLoop): reads and
    // validations are served meanwhile, writes wait for it.
    full_save_pending_ = true;
  } else if (replayed_events_ > 0) {
    // Only the rows the tail changed; the others are already right at the new checkpoint.
    std::vector<const TokenRecord*> changed;
    for (const std::string& id : touched) changed.push_back(table_.Find(id));
    saved = projection_store_->Save(changed, head);
  }
  if (!saved.ok()) return saved;
  core::Log(core::LogLevel::kDebug, "projection rows saved: " + ms_since());
  std::unordered_map<std::string, std::uint64_t> namespace_heads;
  for (const TokenRecord& r : table_.records()) {
    auto [it, inserted] = namespace_heads.try_emplace(r.namespace_id, r.last_seq);
    if (!inserted) it->second = std::max(it->second, r.last_seq);
  }
  waiters_.Reset(head, std::move(namespace_heads));
  core::Log(core::LogLevel::kDebug, "namespace heads found: " + ms_since());
  if (head > 0) {
    auto last = store_->Read(head);
    if (!last.ok()) return last.status();
    last_recorded_at_ = last->recorded_at;
  }
  auto signed_head = store_->LoadSignedHead();
  // A head signed by another key (the key was replaced) is signed again at the first chance.
  if (signed_head.ok() && signed_head->has_value() && options_.signing_key != nullptr &&
      (*signed_head)->public_key == options_.signing_key->public_key())
    signed_seq_ = (*signed_head)->seq;

  core::Status uses = last_use_store_->Load([this](std::string_view id, core::Timestamp t) { table_.SetLastUsed(id, t); });
  if (!uses.ok()) return uses;
  core::Log(core::LogLevel::kDebug, "last uses loaded: " + ms_since());
  last_use_harvested_ = clock_->Now();
  next_harvest_ = std::chrono::steady_clock::now() + kLastUseHarvestInterval;

  std::vector<ExpiryItem> expiries;
  size_t active = 0;
  for (const TokenRecord& r : table_.records()) active += r.status == events::TokenStatus::kActive;
  expiries.reserve(active);
  index_.Reserve(active);
  for (const TokenRecord& r : table_.records()) {
    if (r.status != events::TokenStatus::kActive) continue;
    core::Timestamp valid_until = events::ValidUntil(StateOf(r));
    core::Status indexed = index_.Insert(r.secret_digest, r.id, r.namespace_id, r.created_at, valid_until, r.last_used.at);
    if (!indexed.ok()) return indexed;
    expiries.emplace_back(valid_until, &r);
  }
  expiry_queue_ = decltype(expiry_queue_)(std::greater<>(), std::move(expiries));  // O(n) heapify
  core::Log(core::LogLevel::kDebug, "indexes built: " + ms_since());
  return core::Status::Ok();
}

Ledger::~Ledger() { Stop(); }

void Ledger::Stop() {
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_ && !writer_.joinable()) return;
    stopping_ = true;
  }
  queue_cv_.notify_all();
  waiters_.CancelAll();
  if (writer_.joinable()) {
    writer_.join();
    SaveSignedHeadIfDue(/*force=*/true);
  }
}

bool Ledger::writable() const {
  std::lock_guard lock(queue_mutex_);
  return !stopping_ && !WritesRefused();
}

bool Ledger::WritesRefused() const { return store_->failed() || projection_failed_.load(); }

void Ledger::FillLastUse(TokenRecord& record) const {
  if (auto used = index_.LastUsed(record.secret_digest)) record.last_used.at = std::max(record.last_used.at, *used);
}

std::optional<TokenRecord> Ledger::Get(std::string_view ns, std::string_view id) const {
  std::optional<TokenRecord> record;
  {
    std::shared_lock lock(table_mutex_);
    const TokenRecord* r = table_.Find(id);
    if (r == nullptr || r->namespace_id != ns) return std::nullopt;
    record = *r;
  }
  FillLastUse(*record);
  return record;
}

std::optional<TokenRecord> Ledger::Find(std::string_view id) const {
  std::shared_lock lock(table_mutex_);
  const TokenRecord* r = table_.Find(id);
  if (r == nullptr) return std::nullopt;
  return *r;
}

std::uint64_t Ledger::ScanActive(const std::function<void(const TokenRecord&)>& visit) const {
  std::shared_lock lock(table_mutex_);
  // Every event sets its token's last_seq, so the greatest is the last event applied.
  std::uint64_t applied = 0;
  for (const TokenRecord& r : table_.records()) {
    applied = std::max(applied, r.last_seq);
    if (r.status == events::TokenStatus::kActive) visit(r);
  }
  return applied;
}

TokenTable::Page Ledger::List(std::string_view ns, StatusFilter filter, size_t limit,
                              std::optional<std::uint64_t> cursor, std::optional<AsOf> as_of,
                              std::optional<core::Timestamp> expires_by) const {
  TokenTable::Page page;
  {
    std::shared_lock lock(table_mutex_);
    page = table_.List(ns, filter, limit, cursor, clock_->Now(), as_of, expires_by);
  }
  if (!as_of)
    for (TokenRecord& r : page.tokens) FillLastUse(r);
  return page;
}

core::Result<AsOf> Ledger::AsOfSeq(std::uint64_t seq) const {
  return ResolveAsOf(*store_, events::LedgerPoint{seq, 0}, clock_->Now());
}

core::Result<AsOf> Ledger::AsOfTime(core::Timestamp t) const {
  return ResolveAsOf(*store_, events::LedgerPoint{std::nullopt, t}, clock_->Now());
}

core::Result<std::optional<TokenRecord>> Ledger::ValidateAsOf(std::string_view secret,
                                                              std::optional<std::string_view> required_namespace,
                                                              const AsOf& as_of) const {
  if (!core::IsWellFormedToken(secret)) return std::optional<TokenRecord>();
  core::Sha256Digest digest = core::Sha256(secret);
  // The active index knows every active token at once; the saved digests know every token
  // whose creation's projection rows are written (all but the last group's, moments old).
  std::string id;
  ActiveToken active;
  if (index_.Validate(secret, std::nullopt, clock_->Now(), &active, Use::kDontRecord) == Validity::kActive) {
    id = std::string(active.token_id());
  } else {
    auto found = projection_store_->FindByDigest(digest);
    if (!found.ok()) {
      if (found.status().code() == core::StatusCode::kNotFound) return std::optional<TokenRecord>();
      return found.status();
    }
    id = std::move(found).value();
  }
  std::shared_lock lock(table_mutex_);
  const TokenRecord* r = table_.Find(id);
  if (r == nullptr || r->secret_digest != digest) return std::optional<TokenRecord>();
  auto then = RecordAsOf(*r, as_of.seq);
  if (!then || StatusAt(*then, as_of.time) != events::TokenStatus::kActive)
    return std::optional<TokenRecord>();
  if (required_namespace && *required_namespace != then->namespace_id) return std::optional<TokenRecord>();
  return then;
}

core::Result<std::vector<events::Event>> Ledger::History(std::string_view id) const {
  // Its creation, the rotation that made it (the event after), its own rotation, its end.
  std::vector<std::uint64_t> seqs;
  {
    std::shared_lock lock(table_mutex_);
    const TokenRecord* r = table_.Find(id);
    if (r == nullptr) return core::Status::NotFound("no such token");
    seqs = {r->created_seq, r->rotated_from.empty() ? 0 : r->created_seq + 1, r->rotated_seq, r->last_seq};
  }
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  std::vector<events::Event> history;
  for (std::uint64_t seq : seqs) {
    if (seq == 0) continue;
    auto event = store_->Read(seq);
    if (!event.ok()) return event.status();
    history.push_back(std::move(event).value());
  }
  return history;
}

void Ledger::WaitForEvents(std::uint64_t after, std::optional<std::string> namespace_id,
                           EventWaiters::Clock::time_point deadline, EventWaiters::Callback callback) {
  waiters_.Wait(after, std::move(namespace_id), deadline, std::move(callback));
  // The writer may be asleep for up to a sweep interval: wake it to time this waiter exactly.
  queue_cv_.notify_one();
}

core::Result<events::SignedHead> Ledger::SignHash(std::uint64_t seq, const core::Sha256Digest& hash) const {
  if (options_.signing_key == nullptr) return core::Status::Unavailable("this ledger has no signing key");
  return events::SignHead(*options_.signing_key, seq, hash, clock_->Now());
}

core::Result<events::SignedHead> Ledger::SignHead(std::optional<std::uint64_t> seq) const {
  auto [head_seq, head_hash] = store_->head();
  if (seq && *seq > head_seq)
    return core::Status::InvalidArgument("seq " + std::to_string(*seq) + " is beyond the ledger head " +
                                         std::to_string(head_seq));
  if (seq && *seq != head_seq) {
    head_seq = *seq;
    head_hash = core::Sha256Digest{};
    if (*seq > 0) {
      auto event = store_->Read(*seq);
      if (!event.ok()) return event.status();
      head_hash = event->hash;
    }
  }
  return SignHash(head_seq, head_hash);
}

void Ledger::SaveSignedHeadIfDue(bool force) {
  if (options_.signing_key == nullptr || store_->failed()) return;
  auto now = std::chrono::steady_clock::now();
  auto [seq, hash] = store_->head();
  if (seq == signed_seq_) return;
  if (!force && now - signed_when_ < std::chrono::seconds(1)) return;
  core::Status saved =
      store_->SaveSignedHead(events::SignHead(*options_.signing_key, seq, hash, clock_->Now()));
  if (!saved.ok()) {
    core::Log(core::LogLevel::kWarn, "could not save the signed head: " + saved.ToString());
    return;
  }
  signed_seq_ = seq;
  signed_when_ = now;
}

void Ledger::Create(CreateTokenCommand command, CreateDone done) {
  core::Status s = core::ValidateNamespace(command.namespace_id);
  if (s.ok()) s = core::ValidateTokenName(command.name);
  if (s.ok()) s = core::ValidateActor(command.actor);
  if (!s.ok()) return done(s);
  Enqueue(Command{std::move(command), std::move(done), nullptr});
}

void Ledger::Revoke(RevokeTokensCommand command, RevokeDone done) {
  core::Status s = command.any_namespace ? core::Status::Ok() : core::ValidateNamespace(command.namespace_id);
  if (s.ok()) s = core::ValidateActor(command.actor);
  if (s.ok()) s = core::ValidateReason(command.reason);
  if (s.ok() && (command.ids.empty() || command.ids.size() > kMaxRevokeIds))
    s = core::Status::InvalidArgument("ids must hold 1-1000 token ids");
  if (!s.ok()) return done(s);
  Enqueue(Command{std::move(command), nullptr, std::move(done)});
}

void Ledger::Rotate(RotateTokenCommand command, CreateDone done) {
  core::Status s = core::ValidateNamespace(command.namespace_id);
  if (s.ok()) s = core::ValidateActor(command.actor);
  if (s.ok() && !core::IsWellFormedTokenId(command.id)) s = core::Status::NotFound("no such token");
  if (s.ok() && (command.grace_seconds < 0 || command.grace_seconds > events::kMaxRotationGraceSeconds))
    s = core::Status::OutOfRange("grace_seconds must be 0-86400");
  if (!s.ok()) return done(s);
  Enqueue(Command{std::move(command), std::move(done), nullptr});
}

void Ledger::Enqueue(Command command) {
  core::Status refused;
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_) {
      refused = core::Status::Unavailable("the ledger is shutting down");
    } else if (queue_.size() >= options_.max_queued_commands) {
      // Queueing more would only grow memory and every waiter's latency; the client retries.
      queue_full_rejections_.fetch_add(1, std::memory_order_relaxed);
      refused = core::Status::ResourceExhausted("too many writes are waiting (" +
                                                std::to_string(options_.max_queued_commands) + "); retry shortly");
    } else {
      queue_.push_back(std::move(command));
      queue_cv_.notify_one();
      return;
    }
  }
  if (command.create_done) command.create_done(refused);
  if (command.revoke_done) command.revoke_done(refused);
}

void Ledger::SaveRebuiltProjection() {
  // Before any write: a live save must never put a newer checkpoint on a partial rebuild.
  auto start = std::chrono::steady_clock::now();
  core::Status saved = projection_store_->SaveAll(table_, store_->head_seq());
  full_save_pending_ = false;
  if (!saved.ok()) {
    projection_failed_.store(true);
    core::Log(core::LogLevel::kError, "saving the rebuilt projection failed; the ledger refuses writes: " + saved.ToString());
    return;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  core::Log(core::LogLevel::kDebug, "rebuilt projection saved in " + std::to_string(ms) + " ms");
}

void Ledger::WriterLoop() {
  if (full_save_pending_) SaveRebuiltProjection();
  for (;;) {
    std::vector<Command> group;  // empty: no allocation on an idle tick
    {
      std::unique_lock lock(queue_mutex_);
      auto wake = std::chrono::steady_clock::now() + kSweepInterval;
      if (auto deadline = waiters_.NextDeadline(); deadline && *deadline < wake) wake = *deadline;
      queue_cv_.wait_until(lock, wake, [&] { return stopping_ || !queue_.empty(); });
      // While this thread fsyncs, new commands queue up; they all share the next fsync.
      size_t n = std::min(queue_.size(), kMaxCommandsPerGroup);
      if (n > 0) group.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (group.empty() && stopping_) {
        HarvestLastUses();  // nothing recorded in memory is left unsaved by a clean stop
        return;
      }
    }
    waiters_.ExpireDue(std::chrono::steady_clock::now());
    bool expiry_due = !expiry_queue_.empty() && expiry_queue_.top().first <= clock_->Now();
    if (!group.empty() || expiry_due) ProcessGroup(std::move(group));
    SaveSignedHeadIfDue(/*force=*/false);
    if (std::chrono::steady_clock::now() >= next_harvest_) HarvestLastUses();
  }
}

void Ledger::ProcessGroup(std::vector<Command> commands) {
  // A wall clock stepped backwards must not make recorded_at decrease: as-of queries find a
  // time's seq by binary search over it.
  core::Timestamp now = std::max(clock_->Now(), last_recorded_at_);
  std::vector<events::NewEvent> new_events;
  std::vector<PendingReply> replies;
  replies.reserve(commands.size());
  // Decisions within one group see the effects of the earlier ones before they are durable.
  std::unordered_map<std::string, events::TokenState> pending_state;
  std::unordered_set<std::string> pending_ids;

  auto state_of = [&](const TokenRecord& r) {
    auto it = pending_state.find(r.id);
    return it == pending_state.end() ? StateOf(r) : it->second;
  };
  auto ended = [&](const TokenRecord& r, events::TokenStatus status) {
    events::TokenState& state = pending_state.try_emplace(r.id, StateOf(r)).first->second;
    state.recorded = status;
  };
  // A new token's token.created, for a create or a rotation's successor.
  auto mint = [&](const std::string& ns, const std::string& name, std::optional<core::Timestamp> requested,
                  const std::string& actor, PendingReply& reply) -> core::Status {
    auto expires_at = events::DecideExpiry(now, requested, options_.max_lifetime_days);
    auto secret = expires_at.ok() ? core::GenerateTokenSecret() : expires_at.status();
    auto id = secret.ok() ? NewTokenId(pending_ids) : secret.status();
    if (!id.ok()) return id.status();
    pending_ids.insert(*id);
    reply.created_id = *id;
    reply.secret = std::move(secret).value();
    new_events.push_back({now, actor, events::TokenCreated{*id, ns, name, core::Sha256(reply.secret), *expires_at}});
    return core::Status::Ok();
  };

  if (!WritesRefused()) {
    size_t expiries = 0;
    while (!expiry_queue_.empty() && expiry_queue_.top().first <= now && expiries < kMaxExpiriesPerGroup) {
      const TokenRecord* r = expiry_queue_.top().second;
      expiry_queue_.pop();
      // Popped for good: if this group's append fails, the store refuses all writes anyway.
      switch (events::DecideEnd(state_of(*r), now)) {
        case events::EndDecision::kNone: continue;
        case events::EndDecision::kRecordExpiry:
          ended(*r, events::TokenStatus::kExpired);
          new_events.push_back({now, std::string(kExpiryActor), events::TokenExpired{r->id, r->namespace_id}});
          break;
        case events::EndDecision::kRecordRotationRevoke:
          ended(*r, events::TokenStatus::kRevoked);
          new_events.push_back({now, std::string(kRotationActor),
                                events::TokenRevoked{r->id, r->namespace_id, std::string(kRotationReason)}});
          break;
      }
      ++expiries;
    }
  }

  for (Command& command : commands) {
    PendingReply reply{&command, core::Status::Ok(), {}, {}, {}};
    if (WritesRefused()) {
      reply.rejection = core::Status::Unavailable("the ledger refuses writes after a failed write");
    } else if (auto* create = std::get_if<CreateTokenCommand>(&command.body)) {
      reply.rejection = mint(create->namespace_id, create->name, create->expires_at, create->actor, reply);
    } else if (auto* rotate = std::get_if<RotateTokenCommand>(&command.body)) {
      const TokenRecord* old = table_.Find(rotate->id);
      if (old == nullptr || old->namespace_id != rotate->namespace_id) {
        reply.rejection = core::Status::NotFound("no token " + rotate->id + " in namespace " + rotate->namespace_id);
      } else {
        events::TokenState state = state_of(*old);
        switch (events::DecideRotate(state, now)) {
          case events::RotateDecision::kRotate: break;
          case events::RotateDecision::kAlreadyRotated:
            reply.rejection = core::Status::Conflict("the token was already rotated (to " + old->rotated_to + ")");
            break;
          case events::RotateDecision::kRevoked: reply.rejection = core::Status::Conflict("the token is revoked"); break;
          case events::RotateDecision::kExpired: reply.rejection = core::Status::Conflict("the token has expired"); break;
        }
        if (reply.rejection.ok()) reply.rejection = mint(old->namespace_id, old->name, rotate->expires_at, rotate->actor, reply);
        if (reply.rejection.ok()) {
          // Right after the successor's token.created (TokenTable checks the adjacency).
          state.revoke_at = events::RotationRevokeAt(state, now, rotate->grace_seconds);
          pending_state[old->id] = state;
          new_events.push_back({now, rotate->actor,
                                events::TokenRotated{old->id, old->namespace_id, reply.created_id, state.revoke_at}});
          if (state.revoke_at <= now) {
            ended(*old, events::TokenStatus::kRevoked);
            new_events.push_back({now, rotate->actor,
                                  events::TokenRevoked{old->id, old->namespace_id, std::string(kRotationReason)}});
          }
        }
      }
    } else {
      auto& revoke = std::get<RevokeTokensCommand>(command.body);
      for (const std::string& id : revoke.ids) {
        const TokenRecord* r = table_.Find(id);
        RevokeResult result = RevokeResult::kNotFound;
        if (r != nullptr && (revoke.any_namespace || r->namespace_id == revoke.namespace_id)) {
          switch (events::DecideRevoke(state_of(*r), now)) {
            case events::RevokeDecision::kRevoke: result = RevokeResult::kRevoked; break;
            case events::RevokeDecision::kAlreadyRevoked: result = RevokeResult::kAlreadyRevoked; break;
            case events::RevokeDecision::kExpired: result = RevokeResult::kExpired; break;
          }
        }
        if (result == RevokeResult::kRevoked) {
          ended(*r, events::TokenStatus::kRevoked);
          new_events.push_back({now, revoke.actor, events::TokenRevoked{id, r->namespace_id, revoke.reason}});
        }
        reply.outcomes.push_back({id, result});
      }
    }
    replies.push_back(std::move(reply));
  }

  core::Status append_status = core::Status::Ok();
  std::vector<events::Event> appended;
  if (!new_events.empty()) {
    auto result = store_->Append(std::move(new_events));
    if (result.ok()) {
      appended = std::move(result).value();
      last_recorded_at_ = now;
      ApplyCommitted(appended);
    } else {
      append_status = result.status();
    }
  }

  for (PendingReply& reply : replies) {
    Command& c = *reply.command;
    append_latency_.Observe(std::chrono::steady_clock::now() - c.queued_at);
    core::Status s = !reply.rejection.ok() ? reply.rejection : append_status;
    if (c.create_done) {
      if (!s.ok()) {
        c.create_done(s);
        continue;
      }
      std::optional<TokenRecord> record;
      {
        std::shared_lock lock(table_mutex_);
        if (const TokenRecord* r = table_.Find(reply.created_id)) record = *r;
      }
      if (!record) {
        c.create_done(core::Status::Internal("created token missing from the projection"));
        continue;
      }
      c.create_done(CreatedToken{std::move(*record), std::move(reply.secret)});
    } else if (!s.ok()) {
      c.revoke_done(s);
    } else {
      c.revoke_done(std::move(reply.outcomes));
    }
  }
  // After the replies: the events are durable and applied in memory, and the projection rows
  // are only a restart shortcut (see projection_store.h), so they need not delay anyone.
  if (!appended.empty()) {
    SaveProjection(appended);
    waiters_.Published(appended);
  }
}

core::Result<std::string> Ledger::NewTokenId(const std::unordered_set<std::string>& pending_ids) const {
  // 119 random bits never collide in practice; checking is cheap and makes it certain.
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto id = core::GenerateTokenId();
    if (!id.ok() || (table_.Find(*id) == nullptr && !pending_ids.count(*id))) return id;
  }
  return core::Status::Internal("could not draw an unused token id");
}

void Ledger::ApplyCommitted(const std::vector<events::Event>& appended) {
  std::vector<std::pair<std::string, core::Timestamp>> leaving_uses;
  {
    std::unique_lock lock(table_mutex_);
    for (const events::Event& e : appended) {
      core::Status s = table_.Apply(e);
      if (!s.ok() && apply_status_.ok()) apply_status_ = s;
    }
  }
  for (const events::Event& e : appended) {
    const TokenRecord* r = table_.Find(events::TokenIdOf(e.payload));
    if (r == nullptr) continue;
    if (std::holds_alternative<events::TokenCreated>(e.payload)) {
      core::Status indexed = index_.Insert(r->secret_digest, r->id, r->namespace_id, r->created_at, r->expires_at);
      if (!indexed.ok() && apply_status_.ok()) apply_status_ = indexed;
      expiry_queue_.emplace(r->expires_at, r);
    } else if (std::holds_alternative<events::TokenRotated>(e.payload)) {
      // Without grace its token.revoked follows in this append and erases it.
      if (r->status != events::TokenStatus::kActive) continue;
      core::Status shortened = index_.SetExpiry(r->secret_digest, events::ValidUntil(StateOf(*r)));
      if (!shortened.ok() && apply_status_.ok()) apply_status_ = shortened;
      expiry_queue_.emplace(r->revoke_at, r);
    } else {
      // Its last use goes with it out of the index: keep it first.
      if (auto used = index_.LastUsed(r->secret_digest); used && *used > r->last_used.at)
        leaving_uses.emplace_back(r->id, *used);
      index_.Erase(r->secret_digest);
    }
  }
  index_.Reclaim();
  SaveLastUses(leaving_uses);
}

void Ledger::HarvestLastUses() {
  core::Timestamp started = clock_->Now();
  std::vector<std::pair<std::string, core::Timestamp>> uses;
  // A validation racing the previous pass may have stored a time just before it started.
  core::Timestamp since = last_use_harvested_ - 5;
  index_.ForEachUsedSince(since, [&](std::string_view id, core::Timestamp t) { uses.emplace_back(id, t); });
  SaveLastUses(uses);
  last_use_harvested_ = started;
  next_harvest_ = std::chrono::steady_clock::now() + kLastUseHarvestInterval;
}

void Ledger::SaveLastUses(const std::vector<std::pair<std::string, core::Timestamp>>& uses) {
  if (uses.empty()) return;
  {
    std::unique_lock lock(table_mutex_);
    for (const auto& [id, t] : uses) table_.SetLastUsed(id, t);
  }
  // A hint, not a fact: a failure costs precision after a restart, never a write.
  core::Status saved = last_use_store_->Save(uses);
  if (!saved.ok()) core::Log(core::LogLevel::kWarn, "last uses not saved: " + saved.ToString());
}

void Ledger::SaveProjection(const std::vector<events::Event>& appended) {
  std::vector<const TokenRecord*> changed;
  changed.reserve(appended.size());
  for (const events::Event& e : appended) {
    if (const TokenRecord* r = table_.Find(events::TokenIdOf(e.payload))) changed.push_back(r);
    if (const std::string* second = events::SecondTokenIdOf(e.payload))
      if (const TokenRecord* r = table_.Find(*second)) changed.push_back(r);
  }
  core::Status saved = apply_status_.ok() ? projection_store_->Save(changed, appended.back().seq) : apply_status_;
  if (!saved.ok()) {
    // The persisted projection would now miss rows under a newer checkpoint; refusing writes
    // keeps it consistent (a restart rebuilds from the log, which holds everything).
    projection_failed_.store(true);
    core::Log(core::LogLevel::kError, "projection save failed; the ledger refuses writes: " + saved.ToString());
  }
}

}  // namespace tokenledger::projections
