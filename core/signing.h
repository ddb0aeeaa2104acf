// Ed25519 signatures (OpenSSL) for the signed ledger head, and the key files that hold them.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace tokenledger::core {

// A raw Ed25519 public key (RFC 8032), 32 bytes; shown as 64 lowercase hex characters.
using PublicKey = std::array<std::uint8_t, 32>;
inline constexpr size_t kSignatureBytes = 64;

// An Ed25519 private key. Immutable once loaded; Sign is thread-safe.
class SigningKey {
 public:
  // Reads a PEM private key (PKCS#8, as `openssl genpkey -algorithm ed25519` writes). IoError
  // when the file cannot be read; InvalidArgument when it is not an Ed25519 private key. No
  // message contains key material.
  static Result<SigningKey> Load(const std::string& path);
  // Load, after creating the file with a fresh key (mode 0600, fsync'd) when it does not
  // exist. Logs a warning when the file is readable by group or others.
  static Result<SigningKey> LoadOrCreate(const std::string& path);

  // The 64-byte signature of message.
  std::string Sign(std::string_view message) const;
  const PublicKey& public_key() const { return public_key_; }

 private:
  struct Free {
    void operator()(void* key) const;
  };
  SigningKey() = default;
  static Result<SigningKey> FromPem(std::string_view pem, const std::string& path);

  std::shared_ptr<void> key_;  // EVP_PKEY
  PublicKey public_key_{};
};

// True iff signature is a valid Ed25519 signature of message under public_key.
bool VerifySignature(const PublicKey& public_key, std::string_view message, std::string_view signature);

// Parses a public key given as 64 hex characters, or as a PEM "PUBLIC KEY" block (SPKI, as
// `openssl pkey -pubout` writes). InvalidArgument otherwise.
Result<PublicKey> ParsePublicKey(std::string_view text);
// The PEM "PUBLIC KEY" block of key, for `openssl pkeyutl -verify`.
std::string PublicKeyPem(const PublicKey& key);

}  // namespace tokenledger::core
