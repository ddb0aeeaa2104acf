#include "server/http_types.h"

#include <boost/beast/core/string.hpp>

namespace tokenledger::server {

void HttpRequest::Clear() {
  method.clear();
  target.clear();
  authorization.clear();
  actor.clear();
  has_actor = false;
  required_namespace.clear();
  has_required_namespace = false;
  validator_token.clear();
  content_type.clear();
  body.clear();
}

void HttpResponse::AddHeader(std::string_view name, std::string_view value) {
  headers.append(name).append(": ").append(value).append("\r\n");
}

std::optional<std::string_view> HttpResponse::Header(std::string_view name) const {
  std::string_view rest = headers;
  while (!rest.empty()) {
    size_t end = rest.find("\r\n");
    std::string_view line = rest.substr(0, end);
    size_t colon = line.find(": ");
    if (colon != std::string_view::npos && boost::beast::iequals(line.substr(0, colon), name))
      return line.substr(colon + 2);
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 2);
  }
  return std::nullopt;
}

void HttpResponse::Reset() {
  status = 200;
  content_type = "application/json";
  body.clear();
  headers.clear();
  stream.reset();
  close = false;
}

}  // namespace tokenledger::server
