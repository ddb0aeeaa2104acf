// A real HTTP (or HTTPS) server the webhook tests start on 127.0.0.1 (port 0) to receive
// tokenledgerd's webhooks: it records every request and answers 200, or a chosen status to make
// the sender retry. Beast, on its own thread.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <memory>
#include <optional>
#include <type_traits>
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
    Accept();
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
  // One connection: (TLS handshake,) then requests answered in turn while kept alive. Plain
  // callbacks, not coroutines: clang 14 cannot build coroutines with the fuzz build's coverage.
  template <class Stream>
  class Session : public std::enable_shared_from_this<Session<Stream>> {
   public:
    Session(Stream stream, WebhookReceiver& owner) : stream_(std::move(stream)), owner_(owner) {}
    void Start() {
      if constexpr (std::is_same_v<Stream, boost::asio::ip::tcp::socket>) {
        Read();
      } else {
        stream_.async_handshake(boost::asio::ssl::stream_base::server,
                                [self = this->shared_from_this()](boost::system::error_code ec) {
                                  if (!ec) self->Read();
                                });
      }
    }

   private:
    void Read() {
      request_ = {};
      boost::beast::http::async_read(stream_, buffer_, request_,
                                     [self = this->shared_from_this()](boost::system::error_code ec, size_t) {
                                       if (!ec) self->Respond();
                                     });
    }
    void Respond() {
      namespace http = boost::beast::http;
      int status = owner_.Record(request_);
      response_ = http::response<http::string_body>(static_cast<http::status>(status), request_.version());
      response_.set(http::field::content_type, "text/plain");
      response_.body() = status == 200 ? "ok" : "try later";
      response_.keep_alive(request_.keep_alive());
      response_.prepare_payload();
      http::async_write(stream_, response_, [self = this->shared_from_this()](boost::system::error_code ec, size_t) {
        if (!ec && self->request_.keep_alive()) self->Read();
      });
    }

    Stream stream_;
    WebhookReceiver& owner_;
    boost::beast::flat_buffer buffer_;
    boost::beast::http::request<boost::beast::http::string_body> request_;
    boost::beast::http::response<boost::beast::http::string_body> response_;
  };

  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket socket) {
      if (ec) return;
      if (tls_) {
        using TlsStream = boost::beast::ssl_stream<boost::asio::ip::tcp::socket>;
        std::make_shared<Session<TlsStream>>(TlsStream(std::move(socket), *tls_), *this)->Start();
      } else {
        std::make_shared<Session<boost::asio::ip::tcp::socket>>(std::move(socket), *this)->Start();
      }
      Accept();
    });
  }

  // Records a request; returns the status to answer.
  int Record(const boost::beast::http::request<boost::beast::http::string_body>& req) {
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
    return status;
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
