#include "core/secret_file.h"

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

}  // namespace tokenledger::core
