// The JSON object of a token as the API lists it (and tokenctl replay prints it).
#pragma once

#include <boost/json/object.hpp>

#include "core/clock.h"
#include "projections/token_table.h"

namespace tokenledger::projections {

enum class TokenView { kNow, kAsOf };

// {"id","namespace","name","created_at","expires_at","status","created_by","last_used_at"}
// plus "revoked_at","revoked_by" when revoked, "rotated_from" on a rotation's successor,
// "rotated_to","revoke_at" on a rotated token. status is the effective one at `now`. A record
// from history (kAsOf) has no "last_used_at": a last use is not part of the ledger's history.
boost::json::object TokenJson(const TokenRecord& record, core::Timestamp now, TokenView view = TokenView::kNow);

}  // namespace tokenledger::projections
