// The outgoing webhooks' outbox: notifications waiting for delivery, and where the producer and
// each receiver stand, in the "webhooks" column family.
//
// The producer turns ledger events and expiry-warning times into numbered notifications and
// saves them together with its own position (the last ledger seq and warning time it handled)
// in one batch, so after a crash it neither loses nor repeats one. Each receiver (a URL) has
// its own position, saved after each delivery it confirmed with a 2xx: a restart resumes after
// it, so what was delivered is not sent again; a crash between a delivery and saving its
// position sends that one again (at least once). Batches are not fsync'd: a power loss can take
// both a batch and the positions it moved, which again only repeats work.
//
// Keys: 'o' + big-endian uint64 notification number -> JSON body; 'p' -> producer state;
// 'd' + URL -> big-endian uint64 number delivered up to.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "events/storage.h"

namespace tokenledger::server {

class WebhookOutbox {
 public:
  // storage must outlive this object and have the webhooks column family (a primary instance).
  explicit WebhookOutbox(events::Storage& storage) : storage_(storage) {}

  struct ProducerState {
    std::uint64_t ledger_seq = 0;     // ledger events handled up to this seq
    core::Timestamp warned_until = 0;  // expiry warnings due up to this time handled
    std::uint64_t next = 1;            // the number the next notification gets
  };
  // nullopt before the producer ever saved (webhooks never enabled on this data dir).
  core::Result<std::optional<ProducerState>> LoadProducer() const;
  // Stores bodies as notifications state.next, state.next + 1, ... and the state with next
  // advanced past them, in one batch. On success state.next is advanced.
  core::Status Append(const std::vector<std::string>& bodies, ProducerState& state);

  // The receiver's position; nullopt when it never had one.
  core::Result<std::optional<std::uint64_t>> LoadDelivered(std::string_view url) const;
  core::Status SaveDelivered(std::string_view url, std::uint64_t number);

  // Up to limit notifications numbered after `after`, in order.
  core::Result<std::vector<std::pair<std::uint64_t, std::string>>> Read(std::uint64_t after, size_t limit) const;
  // Deletes the notifications numbered up to `upto` (every receiver has them).
  core::Status Trim(std::uint64_t upto);

 private:
  events::Storage& storage_;
};

}  // namespace tokenledger::server
