// Syntax of the names users give: namespaces, token names, actors.
#pragma once

#include <string_view>

#include "core/status.h"

namespace tokenledger::core {

inline constexpr size_t kMaxNamespaceLength = 128;
inline constexpr size_t kMaxTokenNameChars = 100;
inline constexpr size_t kMaxActorLength = 128;
inline constexpr size_t kMaxReasonChars = 500;

// 1-128 characters of [A-Za-z0-9._:-] and '/', no leading or trailing '/', no "//".
Status ValidateNamespace(std::string_view ns);

// 1-100 Unicode characters of valid UTF-8, no control characters.
Status ValidateTokenName(std::string_view name);

// The X-Actor value: 1-128 printable ASCII characters (it is an HTTP header).
Status ValidateActor(std::string_view actor);

// A revocation reason: 0-500 Unicode characters of valid UTF-8, no control characters.
Status ValidateReason(std::string_view reason);

}  // namespace tokenledger::core
