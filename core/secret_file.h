// Reading a secret kept in a file (the admin token, the webhook key), the same way everywhere.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace tokenledger::core {

// The file's content without surrounding whitespace (so a trailing newline is fine).
// IoError when it cannot be read, InvalidArgument when nothing is left after trimming.
// Neither message contains the content.
Result<std::string> ReadSecretFile(const std::string& path);

// Creates path with mode 0600 holding content, fsync'd. Ok without writing when the file
// already exists (another process won the race: use theirs). IoError otherwise, naming the
// path but never the content.
Status CreateSecretFile(const std::string& path, std::string_view content);

// Reads the secret at path; when the file does not exist, first creates it (as
// CreateSecretFile) holding prefix + 43 random base62 characters. `what` names the file in
// messages and logs ("admin token file"). Warns when the file is readable by group or others.
Result<std::string> LoadOrCreateSecretFile(const std::string& path, std::string_view prefix, std::string_view what);

}  // namespace tokenledger::core
