// The byte encoding of events (cereal portable binary). The layout is specified in
// docs/events.md; a stored field is never changed, a new schema version is added instead.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "events/event.h"

namespace tokenledger::events {

inline constexpr std::uint8_t kTagTokenCreated = 1;
inline constexpr std::uint8_t kTagTokenRevoked = 2;
inline constexpr std::uint8_t kTagTokenExpired = 3;
inline constexpr std::uint8_t kTagTokenRotated = 4;
inline constexpr std::uint8_t kSchemaVersion = 1;
// Larger stored events are rejected before decoding (the largest real one is under 1 KiB).
inline constexpr size_t kMaxStoredEventSize = 16 * 1024;

// The canonical bytes of an event: what the hash covers (everything except the two hashes).
std::string EncodeCanonical(std::uint64_t seq, core::Timestamp recorded_at, std::string_view actor,
                            const EventPayload& payload);

// The value stored under the event's key: canonical bytes || prev_hash || hash.
std::string EncodeStored(const Event& event);

// Decodes a stored value after checking that its hash matches its bytes, so cereal never
// reads bytes the chain does not vouch for. Corruption on a size, hash or decoding failure,
// or when an unknown type tag or schema version is found. Does not check prev_hash linkage.
core::Result<Event> DecodeStored(std::string_view bytes);
// Decodes stored values one after another (as DecodeStored), reusing one cereal archive and the
// event's strings: building an archive per event cost more than the rest of the decoding, and
// a replay decodes millions. Not thread-safe.
class StoredEventDecoder {
 public:
  StoredEventDecoder();
  ~StoredEventDecoder();
  // On failure the event holds unspecified values.
  core::Status Decode(std::string_view bytes, Event& event);

 private:
  struct Archive;
  std::unique_ptr<Archive> archive_;
};

}  // namespace tokenledger::events
