#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <fstream>

#include "core/digest.h"
#include "core/signing.h"
#include "tests/test_util.h"

using namespace tokenledger::core;
using tokenledger::testing::TempDir;

BOOST_AUTO_TEST_SUITE(signing)

BOOST_AUTO_TEST_CASE(a_missing_key_file_is_created_0600_and_loads_the_same_key_again) {
  TempDir dir;
  std::string path = dir.Sub("signing.key");
  auto created = SigningKey::LoadOrCreate(path);
  BOOST_REQUIRE_MESSAGE(created.ok(), created.status().ToString());
  struct stat st {};
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  auto again = SigningKey::LoadOrCreate(path);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST((again->public_key() == created->public_key()));
  std::ifstream in(path);
  std::string first_line;
  std::getline(in, first_line);
  BOOST_TEST(first_line == "-----BEGIN PRIVATE KEY-----");  // PKCS#8, as openssl genpkey writes
}

BOOST_AUTO_TEST_CASE(signatures_verify_only_for_the_same_message_and_key) {
  TempDir dir;
  auto key = SigningKey::LoadOrCreate(dir.Sub("a.key"));
  auto other = SigningKey::LoadOrCreate(dir.Sub("b.key"));
  BOOST_REQUIRE(key.ok() && other.ok());
  std::string signature = key->Sign("tokenledger.head.v1 seq=1");
  BOOST_TEST(signature.size() == kSignatureBytes);
  BOOST_TEST(VerifySignature(key->public_key(), "tokenledger.head.v1 seq=1", signature));
  BOOST_TEST(!VerifySignature(key->public_key(), "tokenledger.head.v1 seq=2", signature));
  BOOST_TEST(!VerifySignature(other->public_key(), "tokenledger.head.v1 seq=1", signature));
  std::string flipped = signature;
  flipped[10] ^= 1;
  BOOST_TEST(!VerifySignature(key->public_key(), "tokenledger.head.v1 seq=1", flipped));
  BOOST_TEST(!VerifySignature(key->public_key(), "tokenledger.head.v1 seq=1", signature.substr(1)));
}

BOOST_AUTO_TEST_CASE(rfc8032_test_vector_1_verifies) {
  // RFC 8032 section 7.1, TEST 1: the empty message.
  auto pk = ParsePublicKey("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  BOOST_REQUIRE(pk.ok());
  auto sig = HexDecode(
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
      "d25bf5f0595bbe24655141438e7a100b");
  BOOST_REQUIRE(sig.ok());
  BOOST_TEST(VerifySignature(*pk, "", *sig));
  BOOST_TEST(!VerifySignature(*pk, "x", *sig));
}

BOOST_AUTO_TEST_CASE(public_keys_parse_from_hex_and_pem_and_reject_anything_else) {
  TempDir dir;
  auto key = SigningKey::LoadOrCreate(dir.Sub("k"));
  BOOST_REQUIRE(key.ok());
  std::string pem = PublicKeyPem(key->public_key());
  BOOST_TEST(pem.find("-----BEGIN PUBLIC KEY-----") == 0u);
  auto from_pem = ParsePublicKey(pem);
  BOOST_REQUIRE(from_pem.ok());
  BOOST_TEST((*from_pem == key->public_key()));
  std::string hex = HexEncode(std::string_view(reinterpret_cast<const char*>(key->public_key().data()), 32));
  auto from_hex = ParsePublicKey("  " + hex + "\n");
  BOOST_REQUIRE(from_hex.ok());
  BOOST_TEST((*from_hex == key->public_key()));
  BOOST_TEST(!ParsePublicKey("").ok());
  BOOST_TEST(!ParsePublicKey(hex.substr(2)).ok());
  BOOST_TEST(!ParsePublicKey(hex.substr(0, 62) + "zz").ok());
  BOOST_TEST(!ParsePublicKey("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").ok());
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_an_ed25519_private_key_is_refused_without_echoing_it) {
  TempDir dir;
  std::string path = dir.Sub("bad.key");
  std::ofstream(path) << "not a key secret-material-123\n";
  auto key = SigningKey::Load(path);
  BOOST_TEST(!key.ok());
  BOOST_TEST(key.status().code() == StatusCode::kInvalidArgument);
  BOOST_TEST(key.status().message().find("secret-material") == std::string::npos);
  BOOST_TEST(!SigningKey::Load(dir.Sub("missing.key")).ok());
}

BOOST_AUTO_TEST_CASE(hex_round_trips_and_rejects_bad_text) {
  BOOST_TEST(HexEncode(std::string("\x00\xff\x10", 3)) == "00ff10");
  auto back = HexDecode("00FF10");
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(*back == std::string("\x00\xff\x10", 3));
  BOOST_TEST(!HexDecode("abc").ok());
  BOOST_TEST(!HexDecode("zz").ok());
  BOOST_TEST(!DigestFromHex("00").ok());
}

BOOST_AUTO_TEST_SUITE_END()
