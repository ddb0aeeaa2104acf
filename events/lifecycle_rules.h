// The token lifecycle rules, as pure functions (no storage, no clock of their own).
//
//   created --revoke--> revoked (final)
//   created --expires_at reached--> expired (final; recorded later by the sweeper, but
//                                             effective at expires_at)
//   created --rotate--> rotated (still active) --revoke_at reached--> revoked (final; recorded
//                       at once or later by the sweeper, but effective at revoke_at)
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

// What the rules need to know about a token.
struct TokenState {
  TokenStatus recorded = TokenStatus::kActive;  // as its events say
  core::Timestamp expires_at = 0;
  core::Timestamp revoke_at = 0;  // a rotation's grace deadline; 0: not rotated
};

// The status a reader sees at `now`: a recorded-active token is revoked from its rotation's
// revoke_at and expired from its expires_at (revoke_at first: it is never later), whether or
// not the sweeper has written token.revoked or token.expired yet.
constexpr TokenStatus EffectiveStatus(const TokenState& t, core::Timestamp now) {
  if (t.recorded != TokenStatus::kActive) return t.recorded;
  if (t.revoke_at != 0 && now >= t.revoke_at) return TokenStatus::kRevoked;
  if (IsPastExpiry(t.expires_at, now)) return TokenStatus::kExpired;
  return TokenStatus::kActive;
}

// When a token stops validating: its expiry, or its rotation's deadline when sooner.
constexpr core::Timestamp ValidUntil(const TokenState& t) {
  return t.revoke_at != 0 && t.revoke_at < t.expires_at ? t.revoke_at : t.expires_at;
}

enum class RevokeDecision { kRevoke, kAlreadyRevoked, kExpired };

// Only an effectively active token may be revoked (a rotated one in its grace period too:
// revoking ends the grace at once); revoked and expired are final.
constexpr RevokeDecision DecideRevoke(const TokenState& t, core::Timestamp now) {
  switch (EffectiveStatus(t, now)) {
    case TokenStatus::kActive: return RevokeDecision::kRevoke;
    case TokenStatus::kRevoked: return RevokeDecision::kAlreadyRevoked;
    case TokenStatus::kExpired: return RevokeDecision::kExpired;
  }
  return RevokeDecision::kExpired;
}

enum class RotateDecision { kRotate, kAlreadyRotated, kRevoked, kExpired };

// Only an effectively active token that was never rotated may be rotated.
constexpr RotateDecision DecideRotate(const TokenState& t, core::Timestamp now) {
  switch (EffectiveStatus(t, now)) {
    case TokenStatus::kActive: return t.revoke_at != 0 ? RotateDecision::kAlreadyRotated : RotateDecision::kRotate;
    case TokenStatus::kRevoked: return RotateDecision::kRevoked;
    case TokenStatus::kExpired: return RotateDecision::kExpired;
  }
  return RotateDecision::kExpired;
}

inline constexpr core::Timestamp kMaxRotationGraceSeconds = 86400;

// A rotation at `now` with grace_seconds (0..kMaxRotationGraceSeconds) revokes the old token
// at now + grace, or at its expiry when that comes first.
constexpr core::Timestamp RotationRevokeAt(const TokenState& t, core::Timestamp now, core::Timestamp grace_seconds) {
  return now + grace_seconds < t.expires_at ? now + grace_seconds : t.expires_at;
}

enum class EndDecision { kNone, kRecordRotationRevoke, kRecordExpiry };

// What the sweeper records for a recorded-active token at `now`: token.revoked once its
// rotation's revoke_at is reached, else token.expired once expires_at is.
constexpr EndDecision DecideEnd(const TokenState& t, core::Timestamp now) {
  if (t.recorded != TokenStatus::kActive) return EndDecision::kNone;
  switch (EffectiveStatus(t, now)) {
    case TokenStatus::kRevoked: return EndDecision::kRecordRotationRevoke;
    case TokenStatus::kExpired: return EndDecision::kRecordExpiry;
    case TokenStatus::kActive: return EndDecision::kNone;
  }
  return EndDecision::kNone;
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
