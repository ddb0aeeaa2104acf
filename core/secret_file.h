// Reading a secret kept in a file (the admin token), the same way everywhere.
#pragma once

#include <string>

#include "core/status.h"

namespace tokenledger::core {

// The file's content without surrounding whitespace (so a trailing newline is fine).
// IoError when it cannot be read, InvalidArgument when nothing is left after trimming.
// Neither message contains the content.
Result<std::string> ReadSecretFile(const std::string& path);

}  // namespace tokenledger::core
