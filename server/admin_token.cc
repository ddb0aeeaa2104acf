#include "server/admin_token.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "core/secret_file.h"
#include "core/token_format.h"

namespace tokenledger::server {
namespace {

core::Status CreateTokenFile(const std::string& path) {
  auto secret = core::RandomBase62(43);
  if (!secret.ok()) return secret.status();
  core::Status created = core::CreateSecretFile(path, "tladm_" + *secret + "\n");
  if (!created.ok()) return core::Status(created.code(), "admin token file: " + created.message());
  core::Log(core::LogLevel::kInfo, "created admin token file " + path + " (mode 0600)");
  return core::Status::Ok();
}

}  // namespace

core::Result<std::string> LoadOrCreateAdminToken(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT)
      return core::Status::IoError("cannot stat admin token file " + path + ": " + std::strerror(errno));
    core::Status created = CreateTokenFile(path);
    if (!created.ok()) return created;
    if (::stat(path.c_str(), &st) != 0)
      return core::Status::IoError("cannot stat admin token file " + path + ": " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0)
    core::Log(core::LogLevel::kWarn, "admin token file " + path +
                                         " is readable by others; run: chmod 600 " + path);
  auto token = core::ReadSecretFile(path);
  if (!token.ok()) return core::Status(token.status().code(), "admin token file: " + token.status().message());
  return token;
}

}  // namespace tokenledger::server
