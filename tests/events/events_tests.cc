#define BOOST_TEST_MODULE events
#include <rocksdb/db.h>

#include <boost/test/unit_test.hpp>
#include <thread>

#include "core/time_format.h"
#include "events/event_codec.h"
#include "events/event_store.h"
#include "events/lifecycle_rules.h"
#include "events/storage.h"
#include "tests/test_util.h"

using namespace tokenledger;
using namespace tokenledger::events;

// Recorded when schema version 1 was defined; see docs/events.md for the layout.
#define GOLDEN_CREATED_HEX                                                                         \
  "0107000000000000001c13136b000000000500000000000000616c69636501011800000000000000746f6b5f4141" \
  "414141414141414141414141414141414141090000000000000061636d652f70726f640600000000000000646570" \
  "6c6f792bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b9c46f46c00000000"
#define GOLDEN_REVOKED_HEX                                                                         \
  "0108000000000000002813136b000000000300000000000000626f6202011800000000000000746f6b5f41414141" \
  "41414141414141414141414141414141090000000000000061636d652f70726f6404000000000000006c65616b"
#define GOLDEN_CREATED_HASH "be6a8569d71d4eb3fdf9111b7ca16d4b081b72ba7449c3b772ba3ae95446ba3a"
using tokenledger::testing::TempDir;

namespace {

core::Sha256Digest DigestOf(std::string_view s) { return core::Sha256(s); }

Event SampleCreated() {
  Event e;
  e.seq = 7;
  e.recorded_at = 1796412188;
  e.actor = "alice";
  e.payload = TokenCreated{"tok_AAAAAAAAAAAAAAAAAAAA", "acme/prod", "deploy", DigestOf("secret"), 1827948188};
  e.prev_hash = DigestOf("prev");
  e.hash = core::Sha256Chained(e.prev_hash, EncodeCanonical(e.seq, e.recorded_at, e.actor, e.payload));
  return e;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

NewEvent NewCreated(const std::string& id, const std::string& ns = "acme") {
  return NewEvent{1796412188, "admin", TokenCreated{id, ns, "name", DigestOf(id), 1827948188}};
}

// A data dir opened as storage plus its event store (the store is destroyed first).
struct OpenedStore {
  std::unique_ptr<Storage> storage;
  std::unique_ptr<EventStore> store;
};

// Opens dir as the primary, or as a secondary with its own files in secondary_dir.
OpenedStore OpenStore(const std::string& dir, const std::string& secondary_dir = "") {
  auto storage = secondary_dir.empty() ? Storage::OpenPrimary(dir) : Storage::OpenSecondary(dir, secondary_dir);
  BOOST_REQUIRE_MESSAGE(storage.ok(), storage.status().ToString());
  OpenedStore opened{std::move(storage).value(), nullptr};
  auto store = EventStore::Open(*opened.storage);
  BOOST_REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  opened.store = std::move(store).value();
  return opened;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(codec)

BOOST_AUTO_TEST_CASE(round_trips_every_event_type) {
  std::vector<EventPayload> payloads = {
      TokenCreated{"tok_A", "acme", "n\xc3\xa9", DigestOf("s"), 99},
      TokenRevoked{"tok_A", "acme", "leaked in CI logs"},
      TokenExpired{"tok_A", "acme"},
  };
  core::Sha256Digest prev{};
  std::uint64_t seq = 1;
  for (const auto& p : payloads) {
    Event e{seq++, 1000, "bob", p, prev, {}};
    e.hash = core::Sha256Chained(prev, EncodeCanonical(e.seq, e.recorded_at, e.actor, e.payload));
    auto decoded = DecodeStored(EncodeStored(e));
    BOOST_REQUIRE(decoded.ok());
    BOOST_TEST((*decoded == e));
    prev = e.hash;
  }
}

// The canonical bytes are what the hash chain covers and what auditors recompute offline
// (docs/events.md). Any change to them must be a deliberate new schema version.
BOOST_AUTO_TEST_CASE(golden_canonical_bytes) {
  Event e = SampleCreated();
  BOOST_TEST(Hex(EncodeCanonical(e.seq, e.recorded_at, e.actor, e.payload)) == GOLDEN_CREATED_HEX);
  Event revoked{8, 1796412200, "bob", TokenRevoked{"tok_AAAAAAAAAAAAAAAAAAAA", "acme/prod", "leak"}, {}, {}};
  BOOST_TEST(Hex(EncodeCanonical(revoked.seq, revoked.recorded_at, revoked.actor, revoked.payload)) == GOLDEN_REVOKED_HEX);
  BOOST_TEST(core::ToHex(e.hash) == GOLDEN_CREATED_HASH);
}

BOOST_AUTO_TEST_CASE(detects_any_flipped_byte) {
  std::string stored = EncodeStored(SampleCreated());
  for (size_t i = 0; i < stored.size(); ++i) {
    std::string bad = stored;
    bad[i] ^= 0x01;
    BOOST_TEST(!DecodeStored(bad).ok(), "flipped byte " << i);
  }
}

BOOST_AUTO_TEST_CASE(rejects_truncated_and_oversized_input) {
  std::string stored = EncodeStored(SampleCreated());
  BOOST_TEST(!DecodeStored(stored.substr(0, 64)).ok());
  BOOST_TEST(!DecodeStored(stored.substr(0, stored.size() - 1)).ok());
  BOOST_TEST(!DecodeStored(std::string(kMaxStoredEventSize + 1, 'x')).ok());
}

BOOST_AUTO_TEST_CASE(rejects_unknown_tag_even_with_a_valid_hash) {
  // A well-hashed record whose tag is unknown must not decode as something else.
  Event e = SampleCreated();
  std::string canonical = EncodeCanonical(e.seq, e.recorded_at, e.actor, e.payload);
  // Layout: 1 (endianness) + 8 (seq) + 8 (time) + 8 (actor length) + 5 ("alice") -> tag.
  size_t tag_offset = 1 + 8 + 8 + 8 + e.actor.size();
  BOOST_REQUIRE(canonical[tag_offset] == kTagTokenCreated);
  canonical[tag_offset] = 9;
  core::Sha256Digest prev{};
  core::Sha256Digest hash = core::Sha256Chained(prev, canonical);
  std::string stored = canonical + std::string(32, '\0') + std::string(reinterpret_cast<char*>(hash.data()), 32);
  auto decoded = DecodeStored(stored);
  BOOST_TEST(!decoded.ok());
  BOOST_TEST(decoded.status().message().find("type tag") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(type_names) {
  BOOST_TEST(EventTypeName(TokenCreated{}) == "token.created");
  BOOST_TEST(EventTypeName(TokenRevoked{}) == "token.revoked");
  BOOST_TEST(EventTypeName(TokenExpired{}) == "token.expired");
  BOOST_TEST(EventTypeName(TokenRotated{}) == "token.rotated");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(lifecycle_rules)

BOOST_AUTO_TEST_CASE(only_active_tokens_may_be_revoked) {
  BOOST_TEST((DecideRevoke({TokenStatus::kActive, 100}, 99) == RevokeDecision::kRevoke));
  BOOST_TEST((DecideRevoke({TokenStatus::kRevoked, 100}, 99) == RevokeDecision::kAlreadyRevoked));
  BOOST_TEST((DecideRevoke({TokenStatus::kExpired, 100}, 101) == RevokeDecision::kExpired));
}

BOOST_AUTO_TEST_CASE(expiry_is_effective_at_expires_at_before_the_event) {
  BOOST_TEST((EffectiveStatus({TokenStatus::kActive, 100}, 99) == TokenStatus::kActive));
  BOOST_TEST((EffectiveStatus({TokenStatus::kActive, 100}, 100) == TokenStatus::kExpired));
  BOOST_TEST((DecideRevoke({TokenStatus::kActive, 100}, 100) == RevokeDecision::kExpired));
}

BOOST_AUTO_TEST_CASE(revoked_and_expired_are_final) {
  // A revoked token never becomes active or expired again, whatever the time.
  for (core::Timestamp now : {0, 99, 100, 1000}) {
    BOOST_TEST((EffectiveStatus({TokenStatus::kRevoked, 100}, now) == TokenStatus::kRevoked));
    BOOST_TEST((EffectiveStatus({TokenStatus::kExpired, 100}, now) == TokenStatus::kExpired));
    BOOST_TEST((EffectiveStatus({TokenStatus::kExpired, 100, 50}, now) == TokenStatus::kExpired));
    BOOST_TEST((DecideEnd({TokenStatus::kRevoked, 100}, now) == EndDecision::kNone));
    BOOST_TEST((DecideEnd({TokenStatus::kExpired, 100}, now) == EndDecision::kNone));
    BOOST_TEST((DecideEnd({TokenStatus::kRevoked, 100, 50}, now) == EndDecision::kNone));
  }
  BOOST_TEST((DecideEnd({TokenStatus::kActive, 100}, 99) == EndDecision::kNone));
  BOOST_TEST((DecideEnd({TokenStatus::kActive, 100}, 100) == EndDecision::kRecordExpiry));
}

BOOST_AUTO_TEST_CASE(a_rotated_token_is_revoked_from_revoke_at) {
  TokenState rotated{TokenStatus::kActive, 100, 60};
  BOOST_TEST((EffectiveStatus(rotated, 59) == TokenStatus::kActive));
  BOOST_TEST((EffectiveStatus(rotated, 60) == TokenStatus::kRevoked));
  BOOST_TEST((EffectiveStatus(rotated, 100) == TokenStatus::kRevoked));  // revoke_at wins over expiry
  BOOST_TEST(ValidUntil(rotated) == 60);
  BOOST_TEST(ValidUntil({TokenStatus::kActive, 100}) == 100);
  BOOST_TEST((DecideEnd(rotated, 59) == EndDecision::kNone));
  BOOST_TEST((DecideEnd(rotated, 60) == EndDecision::kRecordRotationRevoke));
  // In its grace period it may still be revoked at once, but not rotated again.
  BOOST_TEST((DecideRevoke(rotated, 59) == RevokeDecision::kRevoke));
  BOOST_TEST((DecideRevoke(rotated, 60) == RevokeDecision::kAlreadyRevoked));
  BOOST_TEST((DecideRotate(rotated, 59) == RotateDecision::kAlreadyRotated));
  BOOST_TEST((DecideRotate({TokenStatus::kActive, 100}, 59) == RotateDecision::kRotate));
  BOOST_TEST((DecideRotate({TokenStatus::kRevoked, 100}, 59) == RotateDecision::kRevoked));
  BOOST_TEST((DecideRotate({TokenStatus::kActive, 100}, 100) == RotateDecision::kExpired));
}

BOOST_AUTO_TEST_CASE(a_rotation_grace_ends_at_the_latest_at_expiry) {
  TokenState t{TokenStatus::kActive, 1000};
  BOOST_TEST(RotationRevokeAt(t, 10, 0) == 10);
  BOOST_TEST(RotationRevokeAt(t, 10, 600) == 610);
  BOOST_TEST(RotationRevokeAt(t, 900, 600) == 1000);
}

BOOST_AUTO_TEST_CASE(expiry_defaults_to_one_calendar_year) {
  core::Timestamp created = *core::ParseRfc3339("2028-02-29T12:00:00Z");
  BOOST_TEST(core::FormatRfc3339(*DecideExpiry(created, std::nullopt, 366)) == "2029-02-28T12:00:00Z");
}

BOOST_AUTO_TEST_CASE(expiry_may_be_earlier_never_later_nor_past) {
  core::Timestamp created = *core::ParseRfc3339("2026-12-04T00:00:00Z");
  BOOST_TEST(*DecideExpiry(created, created + 3600, 366) == created + 3600);
  BOOST_TEST(DecideExpiry(created, created, 366).status().code() == core::StatusCode::kOutOfRange);
  BOOST_TEST(!DecideExpiry(created, created - 1, 366).ok());
  core::Timestamp max = core::AddOneCalendarYear(created);
  BOOST_TEST(*DecideExpiry(created, max, 366) == max);
  BOOST_TEST(!DecideExpiry(created, max + 1, 366).ok());
}

BOOST_AUTO_TEST_CASE(max_lifetime_days_lowers_the_limit) {
  core::Timestamp created = 1796412188;
  BOOST_TEST(*DecideExpiry(created, std::nullopt, 30) == created + 30 * 86400);
  BOOST_TEST(!DecideExpiry(created, created + 31 * 86400, 30).ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(event_store)

BOOST_AUTO_TEST_CASE(appends_gapless_and_chained_then_reopens) {
  TempDir dir;
  core::Sha256Digest head_hash{};
  {
    auto [storage, store] = OpenStore(dir.path());
    BOOST_TEST(store->head_seq() == 0u);
    auto first = store->Append({NewCreated("tok_1"), NewCreated("tok_2")});
    BOOST_REQUIRE(first.ok());
    auto second = store->Append({NewEvent{1796412189, "bob", TokenRevoked{"tok_1", "acme", ""}}});
    BOOST_REQUIRE(second.ok());
    BOOST_TEST((*first)[0].seq == 1u);
    BOOST_TEST((*first)[1].seq == 2u);
    BOOST_TEST((*second)[0].seq == 3u);
    BOOST_TEST(((*first)[0].prev_hash == core::Sha256Digest{}));
    BOOST_TEST(((*first)[1].prev_hash == (*first)[0].hash));
    BOOST_TEST(((*second)[0].prev_hash == (*first)[1].hash));
    head_hash = (*second)[0].hash;
  }
  auto [storage, store] = OpenStore(dir.path());
  BOOST_TEST(store->head_seq() == 3u);
  BOOST_TEST((store->head_hash() == head_hash));
  std::vector<std::uint64_t> seqs;
  BOOST_REQUIRE(store->Scan(1, [&](const Event& e) {
                      seqs.push_back(e.seq);
                      return true;
                    }).ok());
  BOOST_TEST((seqs == std::vector<std::uint64_t>{1, 2, 3}));
  auto read = store->Read(3);
  BOOST_REQUIRE(read.ok());
  BOOST_TEST(std::holds_alternative<TokenRevoked>(read->payload));
  BOOST_TEST(read->actor == "bob");
  BOOST_TEST(store->Read(4).status().code() == core::StatusCode::kNotFound);
  // Appending after reopen continues the chain.
  auto next = store->Append({NewCreated("tok_3")});
  BOOST_REQUIRE(next.ok());
  BOOST_TEST((*next)[0].seq == 4u);
  BOOST_TEST(((*next)[0].prev_hash == head_hash));
}

BOOST_AUTO_TEST_CASE(scan_reports_a_corrupted_event) {
  TempDir dir;
  auto [storage, store] = OpenStore(dir.path());
  BOOST_REQUIRE(store->Append({NewCreated("tok_1"), NewCreated("tok_2")}).ok());
  std::string value;
  BOOST_REQUIRE(storage->db()->Get(rocksdb::ReadOptions(), storage->events(), EventKey(2), &value).ok());
  value[10] ^= 0x40;
  BOOST_REQUIRE(storage->db()->Put(rocksdb::WriteOptions(), storage->events(), EventKey(2), value).ok());
  core::Status s = store->Scan(1, [](const Event&) { return true; });
  BOOST_TEST(s.code() == core::StatusCode::kCorruption);
  BOOST_TEST(s.message().find("event 2") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(second_open_of_a_data_dir_fails_with_a_clear_message) {
  TempDir dir;
  auto first = Storage::OpenPrimary(dir.path());
  BOOST_REQUIRE(first.ok());
  auto second = Storage::OpenPrimary(dir.path());
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST(second.status().code() == core::StatusCode::kUnavailable);
  BOOST_TEST(second.status().message().find("in use by another tokenledgerd") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(secondary_instance_reads_while_primary_writes_and_cannot_append) {
  TempDir dir;
  OpenedStore primary = OpenStore(dir.path());
  auto& writer = primary.store;
  BOOST_REQUIRE(writer->Append({NewCreated("tok_1")}).ok());
  OpenedStore secondary = OpenStore(dir.path(), dir.Sub("secondary"));
  auto& reader = secondary.store;
  BOOST_TEST(reader->head_seq() == 1u);
  BOOST_REQUIRE(writer->Append({NewCreated("tok_2")}).ok());
  BOOST_REQUIRE(reader->Refresh().ok());
  BOOST_TEST(reader->head_seq() == 2u);
  auto refused = reader->Append({NewCreated("tok_3")});
  BOOST_TEST(refused.status().code() == core::StatusCode::kUnavailable);
}

BOOST_AUTO_TEST_SUITE_END()
