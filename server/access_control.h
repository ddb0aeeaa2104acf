// Who may call what: the admin token for management routes; for the validation endpoints
// (HTTP validate/introspect/auth and the RESP port) nothing, or the validator token when one is
// configured (the admin token is accepted there too). Credentials are compared as SHA-256
// digests in constant time, so neither their content nor their length leaks through timing.
#pragma once

#include <optional>
#include <string_view>

#include "core/digest.h"

namespace tokenledger::server {

// Immutable after construction; thread-safe. Allocation-free checks.
class AccessControl {
 public:
  AccessControl(std::string_view admin_token, std::optional<std::string_view> validator_token);

  // True when credential is the admin token.
  bool IsAdmin(std::string_view credential) const;
  // True when no validator token is configured, or credential is it or the admin token.
  bool MayValidate(std::string_view credential) const;
  bool validator_required() const { return validator_digest_.has_value(); }

  // The credential of an "Authorization: Bearer <credential>" header value; empty otherwise.
  // The scheme is case-insensitive (RFC 7235).
  static std::string_view BearerCredential(std::string_view authorization);

 private:
  core::Sha256Digest admin_digest_;
  std::optional<core::Sha256Digest> validator_digest_;
};

}  // namespace tokenledger::server
