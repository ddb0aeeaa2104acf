#include "server/access_control.h"

#include <boost/beast/core/string.hpp>

namespace tokenledger::server {
namespace {

bool DigestEquals(const core::Sha256Digest& a, const core::Sha256Digest& b) {
  return core::ConstantTimeEquals(std::string_view(reinterpret_cast<const char*>(a.data()), a.size()),
                                  std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

}  // namespace

AccessControl::AccessControl(std::string_view admin_token, std::optional<std::string_view> validator_token)
    : admin_digest_(core::Sha256(admin_token)) {
  if (validator_token) validator_digest_ = core::Sha256(*validator_token);
}

bool AccessControl::IsAdmin(std::string_view credential) const {
  if (credential.empty()) return false;
  return DigestEquals(core::Sha256(credential), admin_digest_);
}

bool AccessControl::MayValidate(std::string_view credential) const {
  if (!validator_digest_) return true;
  if (credential.empty()) return false;
  core::Sha256Digest presented = core::Sha256(credential);
  // Both comparisons always run: which one matched does not show in the timing.
  bool validator = DigestEquals(presented, *validator_digest_);
  bool admin = DigestEquals(presented, admin_digest_);
  return validator | admin;
}

std::string_view AccessControl::BearerCredential(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() || !boost::beast::iequals(authorization.substr(0, kScheme.size()), kScheme))
    return {};
  std::string_view credential = authorization.substr(kScheme.size());
  while (!credential.empty() && (credential.front() == ' ' || credential.front() == '\t')) credential.remove_prefix(1);
  while (!credential.empty() && (credential.back() == ' ' || credential.back() == '\t')) credential.remove_suffix(1);
  return credential;
}

}  // namespace tokenledger::server
