// The admin credential: a secret in a file (mode 0600) that management requests present as
// "Authorization: Bearer <secret>".
#pragma once

#include <string>

#include "core/status.h"

namespace tokenledger::server {

// Reads the secret from path (surrounding whitespace trimmed). If the file does not exist,
// creates it with mode 0600 holding a fresh random secret ("tladm_" + 43 base62 characters),
// fsync'd. InvalidArgument for an empty file; IoError when it cannot be read or created.
// Logs a warning when the file is readable by group or others.
core::Result<std::string> LoadOrCreateAdminToken(const std::string& path);

}  // namespace tokenledger::server
