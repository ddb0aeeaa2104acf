#include "projections/token_table.h"

#include <algorithm>

namespace tokenledger::projections {

using events::TokenStatus;

core::Result<StatusFilter> ParseStatusFilter(std::string_view text) {
  if (text == "all") return StatusFilter::kAll;
  if (text == "active") return StatusFilter::kActive;
  if (text == "revoked") return StatusFilter::kRevoked;
  if (text == "expired") return StatusFilter::kExpired;
  return core::Status::InvalidArgument("status must be active, revoked, expired or all");
}

std::optional<TokenRecord> RecordAsOf(const TokenRecord& record, std::uint64_t seq) {
  if (record.created_seq > seq) return std::nullopt;
  TokenRecord r = record;
  r.last_used.at = 0;  // not history
  if (r.rotated_seq > seq) {
    r.rotated_to.clear();
    r.revoke_at = 0;
    r.rotated_seq = 0;
  }
  if (!r.rotated_from.empty() && seq == r.created_seq) r.rotated_from.clear();
  if (r.last_seq > seq) {
    // The end event came later: the token was still recorded as active then.
    r.status = TokenStatus::kActive;
    r.revoked_at = 0;
    r.revoked_by.clear();
    r.revoke_reason.clear();
    r.expired_at = 0;
    r.last_seq = std::max({r.created_seq + (r.rotated_from.empty() ? 0 : 1), r.rotated_seq});
  }
  return r;
}

namespace {
constexpr std::uint64_t kEmpty = 0;
constexpr size_t kMinSlots = 1024;
}  // namespace

std::uint64_t TokenTable::HashOf(std::string_view id) { return std::hash<std::string_view>{}(id); }

size_t TokenTable::SlotOf(std::string_view id, std::uint64_t hash) const {
  const size_t mask = slots_.size() - 1;
  const std::uint64_t tag = hash >> 32;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    std::uint64_t slot = slots_[i];
    if (slot == kEmpty) return i;
    if ((slot >> 32) == tag && records_[(slot & 0xffffffff) - 1].id == id) return i;
  }
}

void TokenTable::Reserve(size_t n) {
  size_t wanted = kMinSlots;
  while (wanted < 2 * n) wanted *= 2;
  if (wanted <= slots_.size()) return;
  slots_.assign(wanted, kEmpty);
  for (size_t i = 0; i < records_.size(); ++i) {
    std::uint64_t hash = HashOf(records_[i].id);
    slots_[SlotOf(records_[i].id, hash)] = (hash >> 32 << 32) | (i + 1);
  }
}

void TokenTable::Grow() { Reserve(std::max<size_t>(records_.size() + 1, slots_.size())); }

void TokenTable::Prefetch(std::string_view id) const {
  if (!slots_.empty()) __builtin_prefetch(&slots_[HashOf(id) & (slots_.size() - 1)]);
}

TokenRecord* TokenTable::Add(TokenRecord&& record) {
  // At most half full: probes stay short.
  if (2 * (records_.size() + 1) > slots_.size()) Grow();
  std::uint64_t hash = HashOf(record.id);
  size_t slot = SlotOf(record.id, hash);
  if (slots_[slot] != kEmpty) return nullptr;  // the id is taken
  TokenRecord& added = records_.push_back(std::move(record));
  slots_[slot] = (hash >> 32 << 32) | records_.size();
  return &added;
}

TokenRecord* TokenTable::FindMutable(std::string_view id) {
  if (slots_.empty()) return nullptr;
  std::uint64_t slot = slots_[SlotOf(id, HashOf(id))];
  return slot == kEmpty ? nullptr : &records_[(slot & 0xffffffff) - 1];
}

bool TokenTable::SetLastUsed(std::string_view id, core::Timestamp t) {
  TokenRecord* r = FindMutable(id);
  if (r == nullptr) return false;
  r->last_used.at = std::max(r->last_used.at, t);
  return true;
}

const TokenRecord* TokenTable::Find(std::string_view id) const {
  return const_cast<TokenTable*>(this)->FindMutable(id);
}

bool TokenTable::operator==(const TokenTable& other) const {
  if (size() != other.size()) return false;
  for (const TokenRecord& r : records_) {
    const TokenRecord* o = other.Find(r.id);
    if (o == nullptr || !(*o == r)) return false;
  }
  return true;
}

core::Status TokenTable::Restore(TokenRecord record) {
  TokenRecord* r = Add(std::move(record));
  // Add moves the record only when it adds it.
  if (r == nullptr) return core::Status::Corruption("duplicate token " + record.id + " in snapshot");
  by_namespace_[r->namespace_id].push_back(r);
  return core::Status::Ok();
}

void TokenTable::FinishRestore() {
  for (auto& [ns, order] : by_namespace_)
    std::sort(order.begin(), order.end(),
              [](const TokenRecord* a, const TokenRecord* b) { return a->created_seq < b->created_seq; });
}

core::Status TokenTable::Apply(const events::Event& event) {
  const std::string& id = events::TokenIdOf(event.payload);
  TokenRecord* existing = FindMutable(id);
  if (existing != nullptr && existing->last_seq >= event.seq) return core::Status::Ok();
  auto contradiction = [&](std::string_view what) {
    return core::Status::Corruption("event " + std::to_string(event.seq) + " " +
                                    std::string(what) + " " + id);
  };
  if (const auto* created = std::get_if<events::TokenCreated>(&event.payload)) {
    if (existing != nullptr) return contradiction("creates existing token");
    TokenRecord r;
    r.id = created->token_id;
    r.namespace_id = created->namespace_id;
    r.name = created->name;
    r.secret_digest = created->secret_digest;
    r.created_at = event.recorded_at;
    r.created_by = event.actor;
    r.created_seq = event.seq;
    r.expires_at = created->expires_at;
    r.last_seq = event.seq;
    TokenRecord* added = Add(std::move(r));  // the id is new: checked above
    auto order = by_namespace_.find(added->namespace_id);
    if (order == by_namespace_.end()) order = by_namespace_.emplace(added->namespace_id, std::vector<const TokenRecord*>()).first;
    // Appended in seq order during replay and live writes; a snapshot restore sorts (Restore).
    order->second.push_back(added);
    return core::Status::Ok();
  }
  if (existing == nullptr) return contradiction("ends unknown token");
  TokenRecord& r = *existing;
  if (r.status != TokenStatus::kActive) return contradiction("ends already finished token");
  if (r.namespace_id != events::NamespaceOf(event.payload))
    return contradiction("names the wrong namespace for token");
  if (const auto* rotated = std::get_if<events::TokenRotated>(&event.payload)) {
    if (r.rotated_seq != 0) return contradiction("rotates already rotated token");
    TokenRecord* successor = FindMutable(rotated->new_token_id);
    // The successor is created by the event just before, in the same append (see TokenRotated).
    if (successor == nullptr || successor->created_seq + 1 != event.seq ||
        successor->namespace_id != r.namespace_id || !successor->rotated_from.empty())
      return contradiction("rotates to a token not created just before, for token");
    if (rotated->revoke_at < event.recorded_at || rotated->revoke_at > r.expires_at)
      return contradiction("rotates with revoke_at outside [recorded_at, expires_at] for token");
    r.rotated_to = rotated->new_token_id;
    r.revoke_at = rotated->revoke_at;
    r.rotated_seq = event.seq;
    r.last_seq = event.seq;
    successor->rotated_from = r.id;
    successor->last_seq = event.seq;
    return core::Status::Ok();
  }
  if (const auto* revoked = std::get_if<events::TokenRevoked>(&event.payload)) {
    r.status = TokenStatus::kRevoked;
    r.revoked_at = event.recorded_at;
    r.revoked_by = event.actor;
    r.revoke_reason = revoked->reason;
  } else {
    r.status = TokenStatus::kExpired;
    r.expired_at = event.recorded_at;
  }
  r.last_seq = event.seq;
  return core::Status::Ok();
}


TokenTable::Page TokenTable::List(std::string_view ns, StatusFilter filter, size_t limit,
                                  std::optional<std::uint64_t> cursor, core::Timestamp now,
                                  std::optional<AsOf> as_of, std::optional<core::Timestamp> expires_by) const {
  Page page;
  auto ns_it = by_namespace_.find(ns);
  if (ns_it == by_namespace_.end() || limit == 0) return page;
  const auto& order = ns_it->second;
  // Only tokens created below the bound: the cursor's, and as_of's (created by then).
  std::optional<std::uint64_t> bound = cursor;
  if (as_of && (!bound || as_of->seq < *bound)) bound = as_of->seq + 1;
  if (as_of) now = as_of->time;
  auto end = order.end();
  if (bound) {
    end = std::lower_bound(order.begin(), order.end(), *bound,
                           [](const TokenRecord* r, std::uint64_t seq) { return r->created_seq < seq; });
  }
  std::optional<TokenRecord> then;
  for (auto it = end; it != order.begin();) {
    const TokenRecord* r = *--it;
    if (as_of && r->last_seq > as_of->seq) {
      then = RecordAsOf(*r, as_of->seq);
      r = &*then;
    }
    TokenStatus status = StatusAt(*r, now);
    bool wanted = filter == StatusFilter::kAll ||
                  (filter == StatusFilter::kActive && status == TokenStatus::kActive) ||
                  (filter == StatusFilter::kRevoked && status == TokenStatus::kRevoked) ||
                  (filter == StatusFilter::kExpired && status == TokenStatus::kExpired);
    if (!wanted) continue;
    if (expires_by && (status != TokenStatus::kActive || events::ValidUntil(StateOf(*r)) > *expires_by)) continue;
    if (page.tokens.size() == limit) {
      page.next_cursor = page.tokens.back().created_seq;
      break;
    }
    page.tokens.push_back(*r);
  }
  return page;
}

}  // namespace tokenledger::projections
