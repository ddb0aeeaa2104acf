#include "tools/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url.hpp>
#include <optional>

namespace tokenledger::tools {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

std::string ClientResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (beast::iequals(k, name)) return v;
  return {};
}

std::string EncodePathSegment(std::string_view segment) {
  return boost::urls::encode(segment, boost::urls::unreserved_chars);
}

class HttpClient::Impl {
 public:
  Impl(std::string host, std::string port, std::chrono::milliseconds timeout)
      : host_(std::move(host)), port_(std::move(port)), timeout_(timeout) {}

  core::Status Connect() {
    stream_.emplace(ioc_);
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto endpoints = resolver.resolve(host_, port_, ec);
    if (ec) return core::Status::Unavailable("cannot resolve " + host_ + ": " + ec.message());
    stream_->expires_after(timeout_);
    stream_->connect(endpoints, ec);
    if (ec) return core::Status::Unavailable("cannot connect to " + host_ + ":" + port_ + ": " + ec.message());
    stream_->socket().set_option(tcp::no_delay(true), ec);
    return core::Status::Ok();
  }

  core::Result<ClientResponse> Read() {
    beast::error_code ec;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    stream_->expires_after(timeout_);
    http::read(*stream_, buffer_, parser, ec);
    if (ec) {
      stream_.reset();
      return core::Status::Unavailable("reading the response: " + ec.message());
    }
    ClientResponse out;
    auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    out.body = std::move(res.body());
    for (const auto& field : res) out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    if (!res.keep_alive()) stream_.reset();
    return out;
  }

  core::Result<ClientResponse> Exchange(const http::request<http::string_body>& req) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool fresh = !stream_;
      if (fresh) {
        core::Status s = Connect();
        if (!s.ok()) return s;
      }
      beast::error_code ec;
      stream_->expires_after(timeout_);
      http::write(*stream_, req, ec);
      if (ec) {
        stream_.reset();
        if (fresh) return core::Status::Unavailable("sending the request: " + ec.message());
        continue;  // the server closed an idle kept-alive connection; retry once on a new one
      }
      auto res = Read();
      if (res.ok() || fresh) return res;
    }
    return core::Status::Unavailable("connection closed by the server");
  }

  core::Result<ClientResponse> Raw(std::string_view bytes) {
    stream_.reset();
    core::Status s = Connect();
    if (!s.ok()) return s;
    beast::error_code ec;
    stream_->expires_after(timeout_);
    net::write(stream_->socket(), net::buffer(bytes.data(), bytes.size()), ec);
    if (ec) return core::Status::Unavailable("sending: " + ec.message());
    return Read();
  }

  std::string host_, port_;
  std::chrono::milliseconds timeout_;
  net::io_context ioc_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

core::Result<std::unique_ptr<HttpClient>> HttpClient::Create(std::string_view base_url,
                                                             std::chrono::milliseconds timeout) {
  auto url = boost::urls::parse_absolute_uri(base_url);
  if (!url || url->scheme() != "http" || url->host().empty())
    return core::Status::InvalidArgument("server URL must look like http://127.0.0.1:8080");
  std::string port = url->has_port() ? std::string(url->port()) : "80";
  return std::unique_ptr<HttpClient>(new HttpClient(std::make_unique<Impl>(std::string(url->host()), port, timeout)));
}

core::Result<ClientResponse> HttpClient::Request(std::string_view method, std::string_view target, std::string_view body,
                                                 const std::vector<std::pair<std::string, std::string>>& headers) {
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, impl_->host_ + ":" + impl_->port_);
  req.set(http::field::user_agent, "tokenctl");
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::string(body);
  }
  req.keep_alive(true);
  req.prepare_payload();
  return impl_->Exchange(req);
}

core::Result<ClientResponse> HttpClient::RawExchange(std::string_view bytes) { return impl_->Raw(bytes); }

core::Result<ClientResponse> HttpClient::ReadNext() {
  if (!impl_->stream_) return core::Status::Unavailable("connection closed by the server");
  return impl_->Read();
}

}  // namespace tokenledger::tools
