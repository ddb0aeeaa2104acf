#include "core/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url.hpp>
#include <optional>

namespace tokenledger::core {
namespace net = boost::asio;
namespace ssl = net::ssl;
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
  Impl(std::string host, std::string port, std::chrono::milliseconds timeout, std::unique_ptr<ssl::context> tls)
      : host_(std::move(host)), port_(std::move(port)), timeout_(timeout), tls_context_(std::move(tls)) {}

  // Runs one asynchronous step to completion on this client's io_context. Beast's stream
  // timeouts (expires_after) bound asynchronous operations only, hence async steps run here.
  template <class Start>
  beast::error_code Run(Start&& start) {
    beast::error_code result = net::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  core::Status Connect() {
    plain_.reset();
    tls_.reset();
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto endpoints = resolver.resolve(host_, port_, ec);
    if (ec) return core::Status::Unavailable("cannot resolve " + host_ + ": " + ec.message());
    beast::tcp_stream& tcp = tls_context_ ? beast::get_lowest_layer(tls_.emplace(ioc_, *tls_context_)) : plain_.emplace(ioc_);
    tcp.expires_after(timeout_);
    ec = Run([&](auto handler) { tcp.async_connect(endpoints, std::move(handler)); });
    if (ec) return core::Status::Unavailable("cannot connect to " + host_ + ":" + port_ + ": " + ec.message());
    tcp.socket().set_option(tcp::no_delay(true), ec);
    if (tls_) {
      // SNI, and the certificate must name this host (DNS name or IP address).
      if (!SSL_set_tlsext_host_name(tls_->native_handle(), host_.c_str()))
        return core::Status::Unavailable("cannot set the TLS server name " + host_);
      tls_->set_verify_callback(ssl::host_name_verification(host_));
      tcp.expires_after(timeout_);
      ec = Run([&](auto handler) { tls_->async_handshake(ssl::stream_base::client, std::move(handler)); });
      if (ec) {
        tls_.reset();
        return core::Status::Unavailable("TLS handshake with " + host_ + ":" + port_ + " failed: " + ec.message() +
                                         " (a private CA? pass its certificate with --cacert)");
      }
    }
    return core::Status::Ok();
  }

  bool connected() const { return plain_.has_value() || tls_.has_value(); }
  void Disconnect() {
    plain_.reset();
    tls_.reset();
  }
  beast::tcp_stream& Lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }
  // Runs f on whichever stream is connected.
  template <class F>
  auto OnStream(F&& f) {
    if (tls_) return f(*tls_);
    return f(*plain_);
  }

  core::Result<ClientResponse> Read() {
    beast::error_code ec;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    Lowest().expires_after(timeout_);
    ec = OnStream([&](auto& stream) {
      return Run([&](auto handler) { http::async_read(stream, buffer_, parser, std::move(handler)); });
    });
    if (ec) {
      Disconnect();
      return core::Status::Unavailable("reading the response: " + ec.message());
    }
    ClientResponse out;
    auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    out.body = std::move(res.body());
    for (const auto& field : res) out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    if (!res.keep_alive()) Disconnect();
    return out;
  }

  core::Result<ClientResponse> Exchange(const http::request<http::string_body>& req) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool fresh = !connected();
      if (fresh) {
        core::Status s = Connect();
        if (!s.ok()) return s;
      }
      Lowest().expires_after(timeout_);
      beast::error_code ec = OnStream([&](auto& stream) {
        return Run([&](auto handler) { http::async_write(stream, req, std::move(handler)); });
      });
      if (ec) {
        Disconnect();
        if (fresh) return core::Status::Unavailable("sending the request: " + ec.message());
        continue;  // the server closed an idle kept-alive connection; retry once on a new one
      }
      auto res = Read();
      if (res.ok() || fresh) return res;
    }
    return core::Status::Unavailable("connection closed by the server");
  }

  core::Result<ClientResponse> Raw(std::string_view bytes) {
    core::Status s = Connect();
    if (!s.ok()) return s;
    Lowest().expires_after(timeout_);
    beast::error_code ec = OnStream([&](auto& stream) {
      return Run([&](auto handler) { net::async_write(stream, net::buffer(bytes.data(), bytes.size()), std::move(handler)); });
    });
    if (ec) return core::Status::Unavailable("sending: " + ec.message());
    return Read();
  }

  std::string host_, port_;
  std::chrono::milliseconds timeout_;
  net::io_context ioc_;
  std::unique_ptr<ssl::context> tls_context_;  // set for https
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

core::Result<std::unique_ptr<HttpClient>> HttpClient::Create(std::string_view base_url,
                                                             std::chrono::milliseconds timeout,
                                                             const std::string& ca_file) {
  auto url = boost::urls::parse_absolute_uri(base_url);
  if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty())
    return core::Status::InvalidArgument("server URL must look like http://127.0.0.1:8080 or https://host:8443");
  bool https = url->scheme() == "https";
  std::unique_ptr<ssl::context> tls;
  if (https) {
    tls = std::make_unique<ssl::context>(ssl::context::tls_client);
    tls->set_verify_mode(ssl::verify_peer);
    beast::error_code ec;
    tls->set_default_verify_paths(ec);  // the system's CAs (ca-certificates)
    if (!ca_file.empty()) {
      tls->load_verify_file(ca_file, ec);
      if (ec) return core::Status::InvalidArgument("cannot load CA certificate " + ca_file + ": " + ec.message());
    }
  }
  std::string port = url->has_port() ? std::string(url->port()) : (https ? "443" : "80");
  // The host as written, without the brackets of an IPv6 literal.
  std::string host(url->host_address().empty() ? url->host() : url->host_address());
  return std::unique_ptr<HttpClient>(new HttpClient(std::make_unique<Impl>(host, port, timeout, std::move(tls))));
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
  if (!impl_->connected()) return core::Status::Unavailable("connection closed by the server");
  return impl_->Read();
}

}  // namespace tokenledger::core
