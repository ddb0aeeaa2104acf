#include "events/event.h"

namespace tokenledger::events {

std::string_view EventTypeName(const EventPayload& payload) {
  static constexpr std::string_view kNames[] = {"token.created", "token.revoked", "token.expired",
                                                "token.rotated"};
  return kNames[payload.index()];
}

const std::string& TokenIdOf(const EventPayload& payload) {
  return std::visit([](const auto& e) -> const std::string& { return e.token_id; }, payload);
}

const std::string& NamespaceOf(const EventPayload& payload) {
  return std::visit([](const auto& e) -> const std::string& { return e.namespace_id; }, payload);
}

const std::string* SecondTokenIdOf(const EventPayload& payload) {
  const auto* rotated = std::get_if<TokenRotated>(&payload);
  return rotated != nullptr ? &rotated->new_token_id : nullptr;
}

}  // namespace tokenledger::events
