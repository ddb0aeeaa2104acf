#include "events/lifecycle_rules.h"

#include <algorithm>

#include "core/time_format.h"

namespace tokenledger::events {

std::string_view TokenStatusName(TokenStatus status) {
  switch (status) {
    case TokenStatus::kActive: return "active";
    case TokenStatus::kRevoked: return "revoked";
    case TokenStatus::kExpired: return "expired";
  }
  return "unknown";
}

core::Timestamp MaxExpiry(core::Timestamp created_at, int max_lifetime_days) {
  return std::min(core::AddOneCalendarYear(created_at),
                  created_at + static_cast<core::Timestamp>(max_lifetime_days) * 86400);
}

core::Result<core::Timestamp> DecideExpiry(core::Timestamp created_at,
                                           std::optional<core::Timestamp> requested,
                                           int max_lifetime_days) {
  core::Timestamp max = MaxExpiry(created_at, max_lifetime_days);
  if (!requested) return max;
  if (*requested <= created_at)
    return core::Status::OutOfRange("expires_at must be in the future");
  if (*requested > max)
    return core::Status::OutOfRange("expires_at is beyond the maximum lifetime (" +
                                         core::FormatRfc3339(max) + ")");
  return *requested;
}

}  // namespace tokenledger::events
