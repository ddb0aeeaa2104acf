// A real HTTP (or HTTPS) server the webhook tests start on 127.0.0.1 (port 0) to receive
// tokenledgerd's webhooks: it records every request and answers 200, or a chosen status to make
// the sender retry. Beast, on its own thread.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tokenledger::testing {

class WebhookReceiver {
 public:
  struct Request {
    std::string target;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
    int answered = 0;  // the status this receiver gave
    boost::json::object Json() const { return boost::json::parse(body).as_object(); }
  };

  // With cert_file and key_file (PEM): HTTPS.
  explicit WebhookReceiver(const std::string& cert_file = "", const std::string& key_file = "")
      : acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    if (!cert_file.empty()) {
      tls_.emplace(boost::asio::ssl::context::tls_server);
      tls_->use_certificate_chain_file(cert_file);
      tls_->use_private_key_file(key_file, boost::asio::ssl::context::pem);
    }
    boost::asio::co_spawn(ioc_, Accept(), boost::asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~WebhookReceiver() {
    ioc_.stop();
    thread_.join();
  }

  std::string url(const std::string& path = "/hooks/tokens") const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) +
           path;
  }

  // The next n requests are answered `status` (n < 0: every request until changed again).
  void Fail(int n, int status = 503) {
    std::lock_guard lock(mutex_);
    fail_left_ = n;
    fail_status_ = status;
  }

  // Every request so far.
  std::vector<Request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  // The requests answered 2xx so far.
  std::vector<Request> delivered() const {
    std::lock_guard lock(mutex_);
    std::vector<Request> out;
    for (const Request& r : requests_)
      if (r.answered / 100 == 2) out.push_back(r);
    return out;
  }
  // Waits until `enough` holds for the requests, or the timeout; returns whether it held.
  bool WaitFor(const std::function<bool(const std::vector<Request>&)>& enough, std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return enough(requests_); });
  }
  bool WaitForDelivered(size_t n, std::chrono::seconds timeout) {
    return WaitFor([n](const std::vector<Request>& all) {
      size_t ok = 0;
      for (const Request& r : all) ok += r.answered / 100 == 2;
      return ok >= n;
    }, timeout);
  }

 private:
  boost::asio::awaitable<void> Accept() {
    for (;;) {
      boost::system::error_code ec;
      auto socket = co_await acceptor_.async_accept(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (ec) co_return;
      if (tls_) {
        boost::beast::ssl_stream<boost::asio::ip::tcp::socket> stream(std::move(socket), *tls_);
        boost::asio::co_spawn(ioc_, Handshake(std::move(stream)), boost::asio::detached);
      } else {
        boost::asio::co_spawn(ioc_, Serve(std::move(socket)), boost::asio::detached);
      }
    }
  }

  boost::asio::awaitable<void> Handshake(boost::beast::ssl_stream<boost::asio::ip::tcp::socket> stream) {
    boost::system::error_code ec;
    co_await stream.async_handshake(boost::asio::ssl::stream_base::server,
                                    boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    if (ec) co_return;
    co_await Serve(std::move(stream));
  }

  template <class Stream>
  boost::asio::awaitable<void> Serve(Stream socket) {
    namespace http = boost::beast::http;
    boost::beast::flat_buffer buffer;
    for (;;) {
      boost::system::error_code ec;
      http::request<http::string_body> req;
      co_await http::async_read(socket, buffer, req, boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (ec) co_return;
      Request got;
      got.target = std::string(req.target());
      for (const auto& field : req) {
        std::string name(field.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        got.headers[name] = std::string(field.value());
      }
      got.body = req.body();
      int status = 200;
      {
        std::lock_guard lock(mutex_);
        if (fail_left_ != 0) {
          status = fail_status_;
          if (fail_left_ > 0) --fail_left_;
        }
        got.answered = status;
        requests_.push_back(std::move(got));
      }
      changed_.notify_all();
      http::response<http::string_body> res(static_cast<http::status>(status), req.version());
      res.set(http::field::content_type, "text/plain");
      res.body() = status == 200 ? "ok" : "try later";
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      co_await http::async_write(socket, res, boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (ec || !req.keep_alive()) co_return;
    }
  }

  boost::asio::io_context ioc_;
  std::optional<boost::asio::ssl::context> tls_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Request> requests_;
  int fail_left_ = 0;
  int fail_status_ = 503;
};

}  // namespace tokenledger::testing
