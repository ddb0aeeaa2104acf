#include "server/webhook_outbox.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <memory>

namespace tokenledger::server {
namespace {

constexpr char kProducerKey[] = "p";

void PutBigEndian(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

std::uint64_t GetBigEndian(std::string_view bytes) {
  std::uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(bytes[i]);
  return v;
}

std::string NotificationKey(std::uint64_t number) {
  std::string key = "o";
  PutBigEndian(key, number);
  return key;
}

std::string DeliveredKey(std::string_view url) { return "d" + std::string(url); }

}  // namespace

core::Result<std::optional<WebhookOutbox::ProducerState>> WebhookOutbox::LoadProducer() const {
  std::string value;
  rocksdb::Status s = storage_.db()->Get(rocksdb::ReadOptions(), storage_.webhooks(), kProducerKey, &value);
  if (s.IsNotFound()) return std::optional<ProducerState>();
  if (!s.ok()) return events::FromRocksDb(s, "reading the webhook producer state");
  if (value.size() != 24) return core::Status::Corruption("the webhook producer state is not 24 bytes");
  ProducerState state;
  state.ledger_seq = GetBigEndian(value);
  state.warned_until = static_cast<core::Timestamp>(GetBigEndian(std::string_view(value).substr(8)));
  state.next = GetBigEndian(std::string_view(value).substr(16));
  return std::optional<ProducerState>(state);
}

core::Status WebhookOutbox::Append(const std::vector<std::string>& bodies, ProducerState& state) {
  rocksdb::WriteBatch batch;
  std::uint64_t next = state.next;
  for (const std::string& body : bodies) batch.Put(storage_.webhooks(), NotificationKey(next++), body);
  std::string value;
  PutBigEndian(value, state.ledger_seq);
  PutBigEndian(value, static_cast<std::uint64_t>(state.warned_until));
  PutBigEndian(value, next);
  batch.Put(storage_.webhooks(), kProducerKey, value);
  core::Status s = events::FromRocksDb(storage_.db()->Write(rocksdb::WriteOptions(), &batch), "saving webhook notifications");
  if (s.ok()) state.next = next;
  return s;
}

core::Result<std::optional<std::uint64_t>> WebhookOutbox::LoadDelivered(std::string_view url) const {
  std::string value;
  rocksdb::Status s = storage_.db()->Get(rocksdb::ReadOptions(), storage_.webhooks(), DeliveredKey(url), &value);
  if (s.IsNotFound()) return std::optional<std::uint64_t>();
  if (!s.ok()) return events::FromRocksDb(s, "reading a webhook delivery position");
  if (value.size() != 8) return core::Status::Corruption("a webhook delivery position is not 8 bytes");
  return std::optional<std::uint64_t>(GetBigEndian(value));
}

core::Status WebhookOutbox::SaveDelivered(std::string_view url, std::uint64_t number) {
  std::string value;
  PutBigEndian(value, number);
  return events::FromRocksDb(storage_.db()->Put(rocksdb::WriteOptions(), storage_.webhooks(), DeliveredKey(url), value),
                             "saving a webhook delivery position");
}

core::Result<std::vector<std::pair<std::uint64_t, std::string>>> WebhookOutbox::Read(std::uint64_t after,
                                                                                     size_t limit) const {
  std::vector<std::pair<std::uint64_t, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(storage_.db()->NewIterator(rocksdb::ReadOptions(), storage_.webhooks()));
  for (it->Seek(NotificationKey(after + 1)); it->Valid() && out.size() < limit; it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    if (key.size() != 9 || key[0] != 'o') break;  // past the notifications
    out.emplace_back(GetBigEndian(key.substr(1)), it->value().ToString());
  }
  core::Status s = events::FromRocksDb(it->status(), "reading webhook notifications");
  if (!s.ok()) return s;
  return out;
}

core::Status WebhookOutbox::Trim(std::uint64_t upto) {
  std::string from = NotificationKey(0), to = NotificationKey(upto + 1);
  return events::FromRocksDb(storage_.db()->DeleteRange(rocksdb::WriteOptions(), storage_.webhooks(), from, to),
                             "trimming delivered webhook notifications");
}

}  // namespace tokenledger::server
