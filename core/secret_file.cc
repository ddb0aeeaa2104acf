#include "core/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/log.h"
#include "core/token_format.h"

namespace tokenledger::core {

Result<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string content = buffer.str();
  constexpr const char* kSpace = " \t\r\n";
  size_t begin = content.find_first_not_of(kSpace);
  if (begin == std::string::npos) return Status::InvalidArgument(path + " is empty");
  size_t end = content.find_last_not_of(kSpace);
  return content.substr(begin, end - begin + 1);
}

Status CreateSecretFile(const std::string& path, std::string_view content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Ok();
    return Status::IoError("cannot create " + path + ": " + std::strerror(errno));
  }
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
            ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Status::IoError("cannot write " + path + ": " + std::strerror(saved));
  }
  return Status::Ok();
}

Result<std::string> LoadOrCreateSecretFile(const std::string& path, std::string_view prefix, std::string_view what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Status::IoError("cannot stat " + std::string(what) + " " + path + ": " + std::strerror(errno));
    auto secret = RandomBase62(43);
    if (!secret.ok()) return secret.status();
    Status created = CreateSecretFile(path, std::string(prefix) + *secret + "\n");
    if (!created.ok()) return Status(created.code(), std::string(what) + ": " + created.message());
    Log(LogLevel::kInfo, "created " + std::string(what) + " " + path + " (mode 0600)");
    if (::stat(path.c_str(), &st) != 0) return Status::IoError("cannot stat " + std::string(what) + " " + path + ": " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0)
    Log(LogLevel::kWarn, std::string(what) + " " + path + " is readable by others; run: chmod 600 " + path);
  auto secret = ReadSecretFile(path);
  if (!secret.ok()) return Status(secret.status().code(), std::string(what) + ": " + secret.status().message());
  return secret;
}

}  // namespace tokenledger::core
