// The HTTP request parser of the front end (and of the HTTP fuzz target):
// Beast's parser feeding a reused HttpRequest, with the body and header limits
// applied while parsing.
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "server/http_types.h"

namespace tokenledger::server {

namespace request_parser_detail {
namespace beast = boost::beast;
namespace http = boost::beast::http;

// Parses a request's head and body straight into a reused HttpRequest: only the
// headers the router reads are kept, so no per-field allocation (Beast's own
// fields container allocates).
class RequestParser : public http::basic_parser<true> {
 public:
  RequestParser(HttpRequest& request, size_t body_limit, size_t header_limit) : request_(request) {
    this->body_limit(body_limit);
    this->header_limit(static_cast<std::uint32_t>(header_limit));
    body_limit_ = body_limit;
  }
  unsigned version() const { return version_; }
  bool expects_continue() const { return expect_continue_; }
  bool is_head() const { return is_head_; }

 private:
  void on_request_impl(http::verb method, beast::string_view method_str, beast::string_view target, int version,
                       beast::error_code&) override {
    request_.method.assign(method_str.data(), method_str.size());
    request_.target.assign(target.data(), target.size());
    version_ = static_cast<unsigned>(version);
    is_head_ = method == http::verb::head;
  }
  void on_response_impl(int, beast::string_view, int, beast::error_code& ec) override {
    ec = http::error::bad_method;  // never called for a request parser
  }
  void on_field_impl(http::field name, beast::string_view name_string, beast::string_view value,
                     beast::error_code&) override {
    switch (name) {
      case http::field::authorization:
        request_.authorization.assign(value.data(), value.size());
        break;
      case http::field::content_type:
        request_.content_type.assign(value.data(), value.size());
        break;
      case http::field::expect:
        expect_continue_ = beast::iequals(value, "100-continue");
        break;
      default:
        if (beast::iequals(name_string, "x-actor")) {
          request_.actor.assign(value.data(), value.size());
          request_.has_actor = true;
        } else if (beast::iequals(name_string, "x-required-namespace")) {
          request_.required_namespace.assign(value.data(), value.size());
          request_.has_required_namespace = true;
        } else if (beast::iequals(name_string, "x-validator-token")) {
          request_.validator_token.assign(value.data(), value.size());
        }
        break;
    }
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(boost::optional<std::uint64_t> const&, beast::error_code&) override {}
  std::size_t on_body_impl(beast::string_view body, beast::error_code& ec) override { return Append(body, ec); }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code& ec) override {
    return Append(body, ec);
  }
  void on_finish_impl(beast::error_code&) override {}

  std::size_t Append(beast::string_view body, beast::error_code& ec) {
    if (request_.body.size() + body.size() > body_limit_) {
      ec = http::error::body_limit;
      return 0;
    }
    request_.body.append(body.data(), body.size());
    return body.size();
  }

  HttpRequest& request_;
  size_t body_limit_;
  unsigned version_ = 11;
  bool expect_continue_ = false;
  bool is_head_ = false;
};

}  // namespace request_parser_detail

using request_parser_detail::RequestParser;

}  // namespace tokenledger::server
