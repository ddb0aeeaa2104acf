#include "server/admin_token.h"

#include "core/secret_file.h"

namespace tokenledger::server {

core::Result<std::string> LoadOrCreateAdminToken(const std::string& path) {
  return core::LoadOrCreateSecretFile(path, "tladm_", "admin token file");
}

}  // namespace tokenledger::server
