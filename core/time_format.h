// RFC 3339 timestamps and the calendar arithmetic of token lifetimes.
#pragma once

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"

namespace tokenledger::core {

// "2026-12-04T19:23:08Z". Years outside 0000-9999 are clamped by the caller's validation.
std::string FormatRfc3339(Timestamp t);

// Writes the 20-character form of FormatRfc3339 into out (no allocation); returns out's end.
char* FormatRfc3339To(Timestamp t, char* out);

// Parses an RFC 3339 date-time ("2026-12-04T19:23:08Z", "...08.5+01:00"); fractional seconds
// are truncated. InvalidArgument for anything else, including impossible dates (Feb 30).
Result<Timestamp> ParseRfc3339(std::string_view text);

// A duration "<n><unit>", unit s, m, h or d ("7d", "12h", "90m", "30s"), in seconds, at most
// 366 days. InvalidArgument for anything else.
Result<std::int64_t> ParseDuration(std::string_view text);

// The same UTC month, day and time one calendar year later; Feb 29 becomes Feb 28.
Timestamp AddOneCalendarYear(Timestamp t);

}  // namespace tokenledger::core
