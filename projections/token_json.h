// The JSON object of a token as the API lists it (and tokenctl replay prints it).
#pragma once

#include <boost/json/object.hpp>

#include "core/clock.h"
#include "projections/token_table.h"

namespace tokenledger::projections {

// {"id","namespace","name","created_at","expires_at","status","created_by"} plus
// "revoked_at","revoked_by" when revoked. status is the effective one at `now`.
boost::json::object TokenJson(const TokenRecord& record, core::Timestamp now);

}  // namespace tokenledger::projections
