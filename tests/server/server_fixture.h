// The server's parts over a real ledger in a temp dir, as the server tests share them.
#pragma once

#include <boost/test/unit_test.hpp>
#include <memory>
#include <optional>
#include <string_view>

#include "core/signing.h"
#include "projections/ledger.h"
#include "server/access_control.h"
#include "server/metrics.h"
#include "server/router.h"
#include "tests/test_util.h"

namespace tokenledger::testing {

struct ServerParts {
  TempDir dir;
  TempDir key_dir;
  core::SigningKey signing_key = core::SigningKey::LoadOrCreate(key_dir.Sub("signing.key")).value();
  std::unique_ptr<projections::Ledger> ledger;
  std::unique_ptr<server::AccessControl> access;
  std::unique_ptr<server::ServerMetrics> metrics;
  std::unique_ptr<server::Router> router;

  explicit ServerParts(std::string_view admin_token, std::optional<std::string_view> validator_token = std::nullopt) {
    auto opened = projections::Ledger::Open({dir.path(), 366, nullptr, &signing_key});
    BOOST_REQUIRE(opened.ok());
    ledger = std::move(opened).value();
    access = std::make_unique<server::AccessControl>(admin_token, validator_token);
    metrics = std::make_unique<server::ServerMetrics>(server::Router::RouteNames());
    router = std::make_unique<server::Router>(*ledger, *access, *metrics);
  }
};

}  // namespace tokenledger::testing
