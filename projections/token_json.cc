#include "projections/token_json.h"

#include "core/time_format.h"

namespace tokenledger::projections {

boost::json::object TokenJson(const TokenRecord& r, core::Timestamp now, TokenView view) {
  boost::json::object o;
  o["id"] = r.id;
  o["namespace"] = r.namespace_id;
  o["name"] = r.name;
  o["created_at"] = core::FormatRfc3339(r.created_at);
  o["expires_at"] = core::FormatRfc3339(r.expires_at);
  o["status"] = events::TokenStatusName(StatusAt(r, now));
  o["created_by"] = r.created_by;
  if (r.status == events::TokenStatus::kRevoked) {
    o["revoked_at"] = core::FormatRfc3339(r.revoked_at);
    o["revoked_by"] = r.revoked_by;
  }
  if (view == TokenView::kNow) {
    if (r.last_used.at != 0) o["last_used_at"] = core::FormatRfc3339(r.last_used.at);
    else o["last_used_at"] = nullptr;
  }
  if (!r.rotated_from.empty()) o["rotated_from"] = r.rotated_from;
  if (!r.rotated_to.empty()) {
    o["rotated_to"] = r.rotated_to;
    o["revoke_at"] = core::FormatRfc3339(r.revoke_at);  // when the rotation ends its validity
  }
  return o;
}

}  // namespace tokenledger::projections
