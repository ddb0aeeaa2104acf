#include "events/event_codec.h"

#include <algorithm>
#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/string.hpp>
#include <sstream>

#include "events/memory_input_archive.h"

namespace tokenledger::events {
namespace {

template <class Archive>
void SerializePayload(Archive& ar, TokenCreated& e) {
  ar(e.token_id, e.namespace_id, e.name, e.secret_digest, e.expires_at);
}
template <class Archive>
void SerializePayload(Archive& ar, TokenRevoked& e) {
  ar(e.token_id, e.namespace_id, e.reason);
}
template <class Archive>
void SerializePayload(Archive& ar, TokenExpired& e) {
  ar(e.token_id, e.namespace_id);
}
template <class Archive>
void SerializePayload(Archive& ar, TokenRotated& e) {
  ar(e.token_id, e.namespace_id, e.new_token_id, e.revoke_at);
}

constexpr std::uint8_t TagOf(const EventPayload& payload) {
  return static_cast<std::uint8_t>(payload.index() + 1);
}

}  // namespace

std::string EncodeCanonical(std::uint64_t seq, core::Timestamp recorded_at, std::string_view actor,
                            const EventPayload& payload) {
  std::ostringstream out;
  {
    cereal::PortableBinaryOutputArchive ar(out);
    std::string actor_copy(actor);
    std::uint8_t tag = TagOf(payload);
    std::uint8_t version = kSchemaVersion;
    ar(seq, recorded_at, actor_copy, tag, version);
    // The archive only takes non-const references; the payload copy is cheap (a few strings).
    EventPayload copy = payload;
    std::visit([&](auto& e) { SerializePayload(ar, e); }, copy);
  }
  return std::move(out).str();
}

std::string EncodeStored(const Event& event) {
  std::string out = EncodeCanonical(event.seq, event.recorded_at, event.actor, event.payload);
  out.append(reinterpret_cast<const char*>(event.prev_hash.data()), event.prev_hash.size());
  out.append(reinterpret_cast<const char*>(event.hash.data()), event.hash.size());
  return out;
}

// One archive over memory, pointed at each event's bytes in turn (see memory_input_archive.h).
struct StoredEventDecoder::Archive {
  MemoryInputArchive archive{std::string_view()};
};

StoredEventDecoder::StoredEventDecoder() : archive_(std::make_unique<Archive>()) {}
StoredEventDecoder::~StoredEventDecoder() = default;

core::Result<Event> DecodeStored(std::string_view bytes) {
  Event event;
  StoredEventDecoder decoder;
  core::Status s = decoder.Decode(bytes, event);
  if (!s.ok()) return s;
  return event;
}

core::Status StoredEventDecoder::Decode(std::string_view bytes, Event& event) {
  constexpr size_t kHashes = 64;
  if (bytes.size() <= kHashes || bytes.size() > kMaxStoredEventSize)
    return core::Status::Corruption("stored event has an impossible size");
  std::string_view canonical = bytes.substr(0, bytes.size() - kHashes);
  std::copy_n(bytes.data() + canonical.size(), 32, event.prev_hash.begin());
  std::copy_n(bytes.data() + canonical.size() + 32, 32, event.hash.begin());
  if (core::Sha256Chained(event.prev_hash, canonical) != event.hash)
    return core::Status::Corruption("stored event does not match its hash");
  // The portable archive's header byte: 0x01, little-endian (we write nothing else).
  if (canonical[0] != '\x01') return core::Status::Corruption("stored event is not little-endian");
  try {
    MemoryInputArchive& ar = archive_->archive;
    ar.Reset(canonical.substr(1));
    std::uint8_t tag = 0, version = 0;
    ar(event.seq, event.recorded_at, event.actor, tag, version);
    if (version != kSchemaVersion)
      return core::Status::Corruption("unknown event schema version " + std::to_string(version));
    if (tag < kTagTokenCreated || tag > kTagTokenRotated)
      return core::Status::Corruption("unknown event type tag " + std::to_string(tag));
    // Keeps the payload (and its strings' capacity) when the type is the same as before.
    if (event.payload.index() != static_cast<size_t>(tag - 1)) {
      switch (tag) {
        case kTagTokenCreated: event.payload = TokenCreated{}; break;
        case kTagTokenRevoked: event.payload = TokenRevoked{}; break;
        case kTagTokenExpired: event.payload = TokenExpired{}; break;
        default: event.payload = TokenRotated{}; break;
      }
    }
    std::visit([&](auto& e) { SerializePayload(ar, e); }, event.payload);
    if (ar.remaining() != 0)
      return core::Status::Corruption("stored event has trailing bytes");
  } catch (const std::exception& e) {
    return core::Status::Corruption(std::string("stored event does not decode: ") + e.what());
  }
  return core::Status::Ok();
}

}  // namespace tokenledger::events
