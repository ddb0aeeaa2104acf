// An std::istream over bytes someone else owns, so cereal can decode a RocksDB value without
// first copying it into a std::string.
#pragma once

#include <istream>
#include <streambuf>
#include <string_view>

namespace tokenledger::events {

class ByteViewStream : public std::istream {
 public:
  explicit ByteViewStream(std::string_view bytes) : std::istream(&buffer_), buffer_(bytes) {}
  // True when every byte has been consumed.
  bool AtEnd() { return buffer_.in_avail() == 0; }
  // Reads from bytes next (and clears any error state).
  void Reset(std::string_view bytes) {
    buffer_.Reset(bytes);
    clear();
  }

 private:
  class Buffer : public std::streambuf {
   public:
    explicit Buffer(std::string_view bytes) { Reset(bytes); }
    void Reset(std::string_view bytes) {
      char* begin = const_cast<char*>(bytes.data());  // read-only use: no put area is set
      setg(begin, begin, begin + bytes.size());
    }
  };
  Buffer buffer_;
};

}  // namespace tokenledger::events
