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
  if (r.last_seq > seq) {
    // The end event came later: the token was still recorded as active then.
    r.status = TokenStatus::kActive;
    r.revoked_at = 0;
    r.revoked_by.clear();
    r.revoke_reason.clear();
    r.expired_at = 0;
    r.last_seq = r.created_seq;
  }
  return r;
}

core::Status TokenTable::Restore(TokenRecord record) {
  std::string id = record.id;
  auto [it, inserted] = by_id_.try_emplace(std::move(id), std::move(record));
  if (!inserted) return core::Status::Corruption("duplicate token " + it->first + " in snapshot");
  by_namespace_[it->second.namespace_id].push_back(&it->second);
  return core::Status::Ok();
}

void TokenTable::FinishRestore() {
  for (auto& [ns, order] : by_namespace_)
    std::sort(order.begin(), order.end(),
              [](const TokenRecord* a, const TokenRecord* b) { return a->created_seq < b->created_seq; });
}

core::Status TokenTable::Apply(const events::Event& event) {
  const std::string& id = events::TokenIdOf(event.payload);
  auto it = by_id_.find(id);
  if (it != by_id_.end() && it->second.last_seq >= event.seq) return core::Status::Ok();
  auto contradiction = [&](std::string_view what) {
    return core::Status::Corruption("event " + std::to_string(event.seq) + " " +
                                    std::string(what) + " " + id);
  };
  if (const auto* created = std::get_if<events::TokenCreated>(&event.payload)) {
    if (it != by_id_.end()) return contradiction("creates existing token");
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
    auto [pos, inserted] = by_id_.emplace(id, std::move(r));
    auto& order = by_namespace_[pos->second.namespace_id];
    // Appended in seq order during replay and live writes; a snapshot restore sorts (Restore).
    order.push_back(&pos->second);
    return core::Status::Ok();
  }
  if (it == by_id_.end()) return contradiction("ends unknown token");
  TokenRecord& r = it->second;
  if (r.status != TokenStatus::kActive) return contradiction("ends already finished token");
  if (r.namespace_id != events::NamespaceOf(event.payload))
    return contradiction("names the wrong namespace for token");
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

const TokenRecord* TokenTable::Find(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

TokenTable::Page TokenTable::List(std::string_view ns, StatusFilter filter, size_t limit,
                                  std::optional<std::uint64_t> cursor, core::Timestamp now,
                                  std::optional<AsOf> as_of) const {
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
    TokenStatus status = events::EffectiveStatus(r->status, r->expires_at, now);
    bool wanted = filter == StatusFilter::kAll ||
                  (filter == StatusFilter::kActive && status == TokenStatus::kActive) ||
                  (filter == StatusFilter::kRevoked && status == TokenStatus::kRevoked) ||
                  (filter == StatusFilter::kExpired && status == TokenStatus::kExpired);
    if (!wanted) continue;
    if (page.tokens.size() == limit) {
      page.next_cursor = page.tokens.back().created_seq;
      break;
    }
    page.tokens.push_back(*r);
  }
  return page;
}

}  // namespace tokenledger::projections
