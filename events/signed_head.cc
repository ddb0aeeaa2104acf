#include "events/signed_head.h"

#include <boost/json.hpp>
#include <cstring>

#include "core/time_format.h"

namespace tokenledger::events {
namespace json = boost::json;

std::string SignedHeadMessage(std::uint64_t seq, const core::Sha256Digest& hash, core::Timestamp signed_at) {
  return "tokenledger.head.v1 seq=" + std::to_string(seq) + " hash=" + core::ToHex(hash) +
         " signed_at=" + core::FormatRfc3339(signed_at);
}

SignedHead SignHead(const core::SigningKey& key, std::uint64_t seq, const core::Sha256Digest& hash,
                    core::Timestamp signed_at) {
  SignedHead head{seq, hash, signed_at, key.Sign(SignedHeadMessage(seq, hash, signed_at)), key.public_key()};
  return head;
}

std::string SignedHeadJson(const SignedHead& head, bool as_export_line) {
  json::object o;
  if (as_export_line) o["type"] = "ledger.head";
  o["seq"] = head.seq;
  o["hash"] = core::ToHex(head.hash);
  o["signed_at"] = core::FormatRfc3339(head.signed_at);
  o["signature"] = core::HexEncode(head.signature);
  o["public_key"] = core::HexEncode(
      std::string_view(reinterpret_cast<const char*>(head.public_key.data()), head.public_key.size()));
  return json::serialize(o);
}

core::Result<SignedHead> ParseSignedHeadJson(std::string_view text) {
  auto bad = [](std::string what) { return core::Status::InvalidArgument("signed head: " + what); };
  if (text.size() > 4096) return bad("longer than 4 KiB");
  json::parse_options options;
  options.max_depth = 2;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, json::storage_ptr(), options);
  if (ec) return bad("not valid JSON: " + ec.message());
  const json::object* o = v.if_object();
  if (o == nullptr) return bad("not a JSON object");
  auto string_field = [&](std::string_view key) -> std::string_view {
    const json::value* x = o->if_contains(key);
    return x != nullptr && x->is_string() ? std::string_view(x->get_string()) : std::string_view();
  };
  SignedHead head;
  const json::value* seq = o->if_contains("seq");
  boost::system::error_code conv;
  if (seq == nullptr || !seq->is_number() || (head.seq = seq->to_number<std::uint64_t>(conv), conv))
    return bad("\"seq\" must be a non-negative integer");
  auto hash = core::DigestFromHex(string_field("hash"));
  if (!hash.ok()) return bad("\"hash\" must be 64 hex characters");
  head.hash = *hash;
  auto signed_at = core::ParseRfc3339(string_field("signed_at"));
  if (!signed_at.ok()) return bad("\"signed_at\" must be an RFC 3339 time");
  head.signed_at = *signed_at;
  auto signature = core::HexDecode(string_field("signature"));
  if (!signature.ok() || signature->size() != core::kSignatureBytes) return bad("\"signature\" must be 128 hex characters");
  head.signature = std::move(signature).value();
  auto key = core::ParsePublicKey(string_field("public_key"));
  if (!key.ok()) return bad("\"public_key\" must be 64 hex characters");
  head.public_key = *key;
  return head;
}

core::Status VerifySignedHead(const SignedHead& head, const core::PublicKey& trusted) {
  if (head.public_key != trusted)
    return core::Status::InvalidArgument("the head is signed by another key than the trusted public key");
  if (!core::VerifySignature(trusted, SignedHeadMessage(head.seq, head.hash, head.signed_at), head.signature))
    return core::Status::InvalidArgument("the head's signature is not valid for its seq, hash and signed_at");
  return core::Status::Ok();
}

}  // namespace tokenledger::events
