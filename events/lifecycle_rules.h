// The token lifecycle rules, as pure functions (no storage, no clock of their own).
//
//   created --revoke--> revoked (final)
//   created --expires_at reached--> expired (final; recorded later by the sweeper, but
//                                             effective at expires_at)
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"

namespace tokenledger::events {

enum class TokenStatus : std::uint8_t { kActive = 0, kRevoked = 1, kExpired = 2 };

// "active", "revoked", "expired".
std::string_view TokenStatusName(TokenStatus status);

// True at and after expires_at.
constexpr bool IsPastExpiry(core::Timestamp expires_at, core::Timestamp now) {
  return now >= expires_at;
}

// The status a reader sees at `now`: a recorded-active token past its expiry is expired,
// whether or not the sweeper has written token.expired yet.
constexpr TokenStatus EffectiveStatus(TokenStatus recorded, core::Timestamp expires_at,
                                      core::Timestamp now) {
  if (recorded == TokenStatus::kActive && IsPastExpiry(expires_at, now)) return TokenStatus::kExpired;
  return recorded;
}

enum class RevokeDecision { kRevoke, kAlreadyRevoked, kExpired };

// Only an effectively active token may be revoked; revoked and expired are final.
constexpr RevokeDecision DecideRevoke(TokenStatus recorded, core::Timestamp expires_at,
                                      core::Timestamp now) {
  switch (EffectiveStatus(recorded, expires_at, now)) {
    case TokenStatus::kActive: return RevokeDecision::kRevoke;
    case TokenStatus::kRevoked: return RevokeDecision::kAlreadyRevoked;
    case TokenStatus::kExpired: return RevokeDecision::kExpired;
  }
  return RevokeDecision::kExpired;
}

// The sweeper records token.expired for a recorded-active token once expires_at is reached.
constexpr bool ShouldRecordExpiry(TokenStatus recorded, core::Timestamp expires_at,
                                  core::Timestamp now) {
  return recorded == TokenStatus::kActive && IsPastExpiry(expires_at, now);
}

// The latest expires_at a token created at `created_at` may have: one calendar year later
// (Feb 29 -> Feb 28), or max_lifetime_days later when that is sooner.
core::Timestamp MaxExpiry(core::Timestamp created_at, int max_lifetime_days);

// The expires_at of a new token: `requested` if given and within (created_at, MaxExpiry],
// else MaxExpiry. OutOfRange when requested is not after created_at or beyond the max.
core::Result<core::Timestamp> DecideExpiry(core::Timestamp created_at,
                                           std::optional<core::Timestamp> requested,
                                           int max_lifetime_days);

}  // namespace tokenledger::events
