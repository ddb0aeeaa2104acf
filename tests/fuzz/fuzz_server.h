// The server parts the network fuzz targets drive: a real ledger (RocksDB in a temp dir, on
// /dev/shm when there is one, so fsyncs cost nothing), the router and the access control, with
// known credentials and a few tokens, built once per fuzzing process.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "core/signing.h"
#include "projections/ledger.h"
#include "server/access_control.h"
#include "server/metrics.h"
#include "server/router.h"

namespace tokenledger::fuzzing {

// In the seed corpora and the dictionary, so the fuzzer reaches behind authentication.
inline constexpr char kAdminToken[] = "fuzz-admin-token-0123456789";
inline constexpr char kValidatorToken[] = "fuzz-validator-token-0123456789";

struct FuzzServer {
  std::string dir;
  std::unique_ptr<core::SigningKey> signing_key;
  std::unique_ptr<projections::Ledger> ledger;
  std::unique_ptr<server::AccessControl> access;
  std::unique_ptr<server::ServerMetrics> metrics;
  std::unique_ptr<server::Router> router;
  std::vector<std::string> secrets;  // active tokens of namespace "acme"

  explicit FuzzServer(bool with_validator_token) {
    std::filesystem::path base =
        std::filesystem::exists("/dev/shm") ? std::filesystem::path("/dev/shm") : std::filesystem::temp_directory_path();
    std::string pattern = (base / "tokenledger-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    dir = pattern;
    signing_key = std::make_unique<core::SigningKey>(core::SigningKey::LoadOrCreate(dir + "/signing.key").value());
    auto opened = projections::Ledger::Open({dir + "/data", 366, nullptr, signing_key.get()});
    if (!opened.ok()) std::abort();
    ledger = std::move(opened).value();
    access = std::make_unique<server::AccessControl>(
        kAdminToken, with_validator_token ? std::optional<std::string_view>(kValidatorToken) : std::nullopt);
    metrics = std::make_unique<server::ServerMetrics>(server::Router::RouteNames());
    router = std::make_unique<server::Router>(*ledger, *access, *metrics);
    // Long-polls answer at once: a fuzz input must not wait up to a minute.
    router->SetDraining();
    for (int i = 0; i < 3; ++i) {
      std::promise<core::Result<projections::CreatedToken>> done;
      ledger->Create({"acme", "seed-" + std::to_string(i), std::nullopt, "fuzz"},
                     [&](core::Result<projections::CreatedToken> r) { done.set_value(std::move(r)); });
      auto created = done.get_future().get();
      if (!created.ok()) std::abort();
      secrets.push_back(created->secret);
    }
  }
  ~FuzzServer() {
    ledger.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

// The process's two servers, picked by the low bit of an input's first byte: validation open
// to all, or closed behind the validator token.
inline FuzzServer& PickServer(std::uint8_t selector) {
  static FuzzServer open_server(false);
  static FuzzServer closed_server(true);
  return (selector & 1) ? closed_server : open_server;
}

}  // namespace tokenledger::fuzzing
