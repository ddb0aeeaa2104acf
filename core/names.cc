#include "core/names.h"

#include <string>

namespace tokenledger::core {
namespace {

// Counts code points of valid UTF-8 text that holds no C0/C1 control character or DEL;
// -1 when the text is not such.
long CountPrintableUtf8(std::string_view s) {
  long count = 0;
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len;
    std::uint32_t cp;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return -1;
    }
    if (i + len > s.size()) return -1;
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return -1;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) return -1;
    i += len;
    ++count;
  }
  return count;
}

}  // namespace

Status ValidateNamespace(std::string_view ns) {
  if (ns.empty() || ns.size() > kMaxNamespaceLength)
    return Status::InvalidArgument("namespace must be 1-128 characters");
  for (char c : ns) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-' || c == '/';
    if (!ok) return Status::InvalidArgument("namespace may only hold A-Z a-z 0-9 . _ : - and /");
  }
  if (ns.front() == '/' || ns.back() == '/' || ns.find("//") != std::string_view::npos)
    return Status::InvalidArgument("namespace must not start or end with '/' or contain '//'");
  return Status::Ok();
}

Status ValidateTokenName(std::string_view name) {
  long chars = CountPrintableUtf8(name);
  if (chars < 0) return Status::InvalidArgument("name must be UTF-8 text without control characters");
  if (chars < 1 || chars > static_cast<long>(kMaxTokenNameChars))
    return Status::InvalidArgument("name must be 1-100 characters");
  return Status::Ok();
}

Status ValidateActor(std::string_view actor) {
  if (actor.empty() || actor.size() > kMaxActorLength)
    return Status::InvalidArgument("X-Actor must be 1-128 characters");
  for (char c : actor)
    if (c < 0x20 || c > 0x7E) return Status::InvalidArgument("X-Actor must be printable ASCII");
  return Status::Ok();
}

Status ValidateReason(std::string_view reason) {
  long chars = CountPrintableUtf8(reason);
  if (chars < 0)
    return Status::InvalidArgument("reason must be UTF-8 text without control characters");
  if (chars > static_cast<long>(kMaxReasonChars))
    return Status::InvalidArgument("reason must be at most 500 characters");
  return Status::Ok();
}

}  // namespace tokenledger::core
