#include "core/secret_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

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

}  // namespace tokenledger::core
