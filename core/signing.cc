#include "core/signing.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/digest.h"
#include "core/log.h"
#include "core/secret_file.h"

namespace tokenledger::core {
namespace {

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

std::string WritePem(int (*write)(BIO*, EVP_PKEY*), EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || write(bio.get(), key) != 1) return {};
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

int WritePrivate(BIO* bio, EVP_PKEY* key) {
  return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
}
int WritePublic(BIO* bio, EVP_PKEY* key) { return PEM_write_bio_PUBKEY(bio, key); }

Result<std::string> NewPrivateKeyPem() {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
  if (!key) return Status::Internal("OpenSSL could not generate an Ed25519 key");
  std::string pem = WritePem(WritePrivate, key.get());
  if (pem.empty()) return Status::Internal("OpenSSL could not encode the Ed25519 key");
  return pem;
}

}  // namespace

void SigningKey::Free::operator()(void* key) const { EVP_PKEY_free(static_cast<EVP_PKEY*>(key)); }

Result<SigningKey> SigningKey::FromPem(std::string_view pem, const std::string& path) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  EVP_PKEY* raw = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (raw == nullptr) return Status::InvalidArgument(path + " is not a PEM private key");
  SigningKey key;
  key.key_ = std::shared_ptr<void>(raw, Free());
  if (EVP_PKEY_get_base_id(raw) != EVP_PKEY_ED25519)
    return Status::InvalidArgument(path + " is not an Ed25519 private key");
  size_t size = key.public_key_.size();
  if (EVP_PKEY_get_raw_public_key(raw, key.public_key_.data(), &size) != 1 || size != key.public_key_.size())
    return Status::Internal("OpenSSL could not derive the public key of " + path);
  return key;
}

Result<SigningKey> SigningKey::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read signing key " + path + ": " + std::strerror(errno));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return FromPem(buffer.str(), path);
}

Result<SigningKey> SigningKey::LoadOrCreate(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Status::IoError("cannot stat signing key " + path + ": " + std::strerror(errno));
    auto pem = NewPrivateKeyPem();
    if (!pem.ok()) return pem.status();
    Status created = CreateSecretFile(path, *pem);
    if (!created.ok()) return created;
    Log(LogLevel::kInfo, "created ledger signing key " + path + " (Ed25519, mode 0600)");
  } else if ((st.st_mode & 077) != 0) {
    Log(LogLevel::kWarn, "signing key " + path + " is readable by others; run: chmod 600 " + path);
  }
  return Load(path);
}

std::string SigningKey::Sign(std::string_view message) const {
  MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::string signature(kSignatureBytes, '\0');
  size_t size = signature.size();
  // Ed25519 signs the message itself (no separate digest), hence the one-shot call.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, static_cast<EVP_PKEY*>(key_.get())) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      size != kSignatureBytes) {
    // Signing with a loaded key fails only when OpenSSL cannot allocate.
    Log(LogLevel::kError, "Ed25519 signing failed");
    return {};
  }
  return signature;
}

bool VerifySignature(const PublicKey& public_key, std::string_view message, std::string_view signature) {
  if (signature.size() != kSignatureBytes) return false;
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()),
           EVP_PKEY_free);
  MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

Result<PublicKey> ParsePublicKey(std::string_view text) {
  constexpr const char* kSpace = " \t\r\n";
  size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return Status::InvalidArgument("the public key is empty");
  text = text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
  PublicKey key{};
  if (text.starts_with("-----BEGIN")) {
    Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), BIO_free);
    Pkey pkey(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr, EVP_PKEY_free);
    size_t size = key.size();
    if (!pkey || EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_ED25519 ||
        EVP_PKEY_get_raw_public_key(pkey.get(), key.data(), &size) != 1 || size != key.size())
      return Status::InvalidArgument("the public key is not an Ed25519 PEM public key");
    return key;
  }
  auto raw = HexDecode(text);
  if (!raw.ok() || raw->size() != key.size())
    return Status::InvalidArgument("the public key must be 64 hex characters or a PEM public key");
  std::memcpy(key.data(), raw->data(), key.size());
  return key;
}

std::string PublicKeyPem(const PublicKey& key) {
  Pkey pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.data(), key.size()), EVP_PKEY_free);
  return pkey ? WritePem(WritePublic, pkey.get()) : std::string();
}

}  // namespace tokenledger::core
