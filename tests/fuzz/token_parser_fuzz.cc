// Fuzzes the token parser every validation runs first: IsWellFormedToken must never read out of
// bounds, and whatever it accepts must really have the format (prefix, length, alphabet, CRC).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/token_format.h"

using namespace tokenledger;

namespace {

bool IsBase62(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (core::IsWellFormedToken(text)) {
    Check(text.size() == core::kTokenLength && text.starts_with(core::kTokenPrefix));
    for (char c : text.substr(core::kTokenPrefix.size())) Check(IsBase62(c));
    std::string_view body = text.substr(0, core::kTokenLength - core::kTokenChecksumChars);
    Check(core::Base62Checksum(core::Crc32(body)) == text.substr(body.size()));
  }
  if (core::IsWellFormedTokenId(text)) {
    Check(text.starts_with(core::kTokenIdPrefix));
    Check(text.size() == core::kTokenIdPrefix.size() + core::kTokenIdRandomChars);
    for (char c : text.substr(core::kTokenIdPrefix.size())) Check(IsBase62(c));
  }
  return 0;
}
