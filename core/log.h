// A minimal leveled logger to stderr. Never pass a token secret or an admin secret to it.
#pragma once

#include <string_view>

#include "core/status.h"

namespace tokenledger::core {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Parses "debug", "info", "warn", "error".
Result<LogLevel> ParseLogLevel(std::string_view text);
// Messages below level are dropped. Thread-safe.
void SetLogLevel(LogLevel level);
// Writes one line "2026-12-04T19:23:08Z warn message" to stderr. Thread-safe.
void Log(LogLevel level, std::string_view message);

}  // namespace tokenledger::core
