// A cereal input archive over bytes in memory, for the format cereal's PortableBinaryOutputArchive
// writes little-endian (what EncodeCanonical writes; see docs/events.md). It replaces
// PortableBinaryInputArchive + an istream when decoding stored events: every read is bounds
// checked, a length prefix larger than the bytes left is refused before anything is allocated,
// and there is no stream layer per field (replay decodes millions of events).
#pragma once

#include <cereal/cereal.hpp>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace tokenledger::events {

class MemoryInputArchive : public cereal::InputArchive<MemoryInputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit MemoryInputArchive(std::string_view bytes)
      : cereal::InputArchive<MemoryInputArchive, cereal::AllowEmptyClassElision>(this), bytes_(bytes) {}

  // Reads from bytes next (the archive keeps no other state between values).
  void Reset(std::string_view bytes) {
    bytes_ = bytes;
    pos_ = 0;
  }
  size_t remaining() const { return bytes_.size() - pos_; }

  // Copies the next size bytes; throws cereal::Exception when fewer are left.
  void loadBinary(void* data, size_t size) {
    if (size > remaining()) throw cereal::Exception("read past the end of the event");
    if (size > 0) std::memcpy(data, bytes_.data() + pos_, size);
    pos_ += size;
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

// Arithmetic values are stored little-endian; assembled byte by byte, so any host reads them.
template <class T>
inline std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(MemoryInputArchive& ar, T& t) {
  unsigned char raw[sizeof(T)];
  ar.loadBinary(raw, sizeof(T));
  using U = std::conditional_t<sizeof(T) == 1, std::uint8_t,
                               std::conditional_t<sizeof(T) == 2, std::uint16_t,
                                                  std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>>;
  static_assert(sizeof(U) == sizeof(T));
  U u = 0;
  for (size_t i = 0; i < sizeof(T); ++i) u |= static_cast<U>(raw[i]) << (8 * i);
  std::memcpy(&t, &u, sizeof(T));
}

template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(MemoryInputArchive& ar, cereal::BinaryData<T>& bd) {
  // Only byte arrays and strings are stored as raw binary (multi-byte elements would need swapping).
  static_assert(sizeof(std::remove_pointer_t<T>) == 1 || std::is_void_v<std::remove_pointer_t<T>>);
  ar.loadBinary(const_cast<void*>(static_cast<const void*>(bd.data)), static_cast<size_t>(bd.size));
}

template <class T>
inline void CEREAL_SERIALIZE_FUNCTION_NAME(MemoryInputArchive& ar, cereal::NameValuePair<T>& t) {
  ar(t.value);
}

// A length prefix: refused when it promises more bytes than are left, before the caller
// (cereal's string loader) resizes anything to it.
template <class T>
inline void CEREAL_SERIALIZE_FUNCTION_NAME(MemoryInputArchive& ar, cereal::SizeTag<T>& t) {
  ar(t.size);
  if (static_cast<std::uint64_t>(t.size) > ar.remaining()) throw cereal::Exception("a length exceeds the event");
}

}  // namespace tokenledger::events
