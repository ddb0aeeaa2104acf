#include "server/http_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/log.h"

namespace tokenledger::server {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {
// Holds at most one request's header plus a body limit's worth of pipelined bytes.
constexpr size_t kReadBufferLimit = 1024 * 1024;
}  // namespace

class Session;

// What every connection shares: options, router, the shutdown flag and the live sessions.
struct ServerState {
  ServerState(HttpServerOptions o, Router& r) : options(std::move(o)), router(r) {}
  HttpServerOptions options;
  Router& router;
  std::atomic<bool> stopping{false};
  std::mutex sessions_mutex;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, ServerState& state)
      : stream_(std::move(socket)), buffer_(kReadBufferLimit), state_(state) {
    beast::error_code ec;
    // Responses are small request/response exchanges: never wait on Nagle's algorithm.
    stream_.socket().set_option(tcp::no_delay(true), ec);
  }

  ~Session() {
    std::lock_guard lock(state_.sessions_mutex);
    state_.sessions.erase(this);
  }

  void Start() {
    {
      std::lock_guard lock(state_.sessions_mutex);
      state_.sessions.emplace(this, weak_from_this());
    }
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::DoRead, shared_from_this()));
  }

  // Called on shutdown: an idle connection closes now, a busy one after its response.
  void Drain() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->busy_) self->DoClose();
    });
  }

 private:
  void DoRead() {
    if (state_.stopping.load()) return DoClose();
    parser_.emplace();
    parser_->body_limit(state_.options.body_limit);
    parser_->header_limit(static_cast<std::uint32_t>(state_.options.header_limit));
    // One deadline for the whole request, headers and body.
    stream_.expires_after(state_.options.read_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnReadHeader, shared_from_this()));
  }

  void OnReadHeader(beast::error_code ec, std::size_t) {
    if (ec) return OnRead(ec, 0);
    auto expect = parser_->get().find(http::field::expect);
    if (expect == parser_->get().end() || !beast::iequals(expect->value(), "100-continue") || parser_->is_done())
      return ReadBody();
    // curl and others wait (1 s) for this before sending a body over 1 KiB.
    auto content_length = parser_->content_length();
    if (content_length && *content_length > state_.options.body_limit) return OnRead(http::error::body_limit, 0);
    auto interim = std::make_shared<http::response<http::empty_body>>(http::status::continue_, parser_->get().version());
    http::async_write(stream_, *interim, [self = shared_from_this(), interim](beast::error_code e, std::size_t) {
      if (e) return self->DoClose();
      self->ReadBody();
    });
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec) {
      if (ec == http::error::body_limit)
        return WriteError(413, "payload_too_large", "request body exceeds " +
                                                        std::to_string(state_.options.body_limit) + " bytes");
      if (ec == http::error::header_limit)
        return WriteError(431, "headers_too_large", "request headers are too large");
      // A malformed request (as opposed to a closed, reset or timed-out connection) gets a 400.
      if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message)
        return WriteError(400, "bad_request", "malformed HTTP request: " + ec.message());
      return DoClose();
    }
    const auto& req = parser_->get();
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    if (auto it = req.find(http::field::authorization); it != req.end()) request.authorization = std::string(it->value());
    if (auto it = req.find("X-Actor"); it != req.end()) {
      request.actor = std::string(it->value());
      request.has_actor = true;
    }
    request.body = std::move(parser_->get().body());
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    busy_ = true;
    // Keeps the io_context running while the ledger's writer thread holds the reply.
    auto work = net::make_work_guard(stream_.get_executor());
    // dispatch: a response made at once on this strand (reads, validation, bad input) is
    // written inline; one made on the ledger's writer thread is queued onto the strand.
    state_.router.Handle(request, [self = shared_from_this(), work](HttpResponse response) mutable {
      net::dispatch(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->DoWrite(std::move(response));
      });
    });
  }

  void WriteError(int status, std::string_view code, const std::string& message) {
    busy_ = true;
    keep_alive_ = false;
    HttpResponse r = ErrorResponse(status, code, message);
    r.close = true;
    DoWrite(std::move(r));
  }

  void DoWrite(HttpResponse response) {
    // One response in flight per connection, so the session owns it (no allocation for it).
    response_ = {};
    response_.result(static_cast<http::status>(response.status));
    response_.version(version_);
    response_.set(http::field::server, "tokenledgerd");
    response_.set(http::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) response_.set(name, value);
    bool close = response.close || !keep_alive_ || state_.stopping.load();
    response_.keep_alive(!close);
    response_.body() = std::move(response.body);
    response_.prepare_payload();
    stream_.expires_after(state_.options.write_timeout);
    http::async_write(stream_, response_, [self = shared_from_this(), close](beast::error_code ec, std::size_t) {
      self->OnWrite(ec, close);
    });
  }

  void OnWrite(beast::error_code ec, bool close) {
    busy_ = false;
    if (ec || close) return DoClose();
    DoRead();
  }

  void DoClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  ServerState& state_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  bool busy_ = false;
};

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, Router& router)
      : state_(std::move(options), router),
        ioc_(std::max(1, state_.options.threads)),
        acceptor_(net::make_strand(ioc_)),
        signals_(ioc_, SIGINT, SIGTERM) {}

  core::Result<std::string> Start() {
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(state_.options.host, std::to_string(state_.options.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty())
      return core::Status::InvalidArgument("cannot resolve listen host " + state_.options.host + ": " + ec.message());
    tcp::endpoint endpoint = results.begin()->endpoint();
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      return core::Status::IoError("cannot listen on " + state_.options.host + ":" +
                                   std::to_string(state_.options.port) + ": " + ec.message());
    tcp::endpoint bound = acceptor_.local_endpoint(ec);
    std::string host = bound.address().to_string();
    if (bound.address().is_v6()) host = "[" + host + "]";
    signals_.async_wait([this](beast::error_code e, int signal) {
      if (e) return;
      core::Log(core::LogLevel::kInfo, "signal " + std::to_string(signal) + " received; draining");
      Shutdown();
    });
    DoAccept();
    return "http://" + host + ":" + std::to_string(bound.port());
  }

  void Run() {
    std::vector<std::thread> threads;
    for (int i = 1; i < state_.options.threads; ++i) threads.emplace_back([this] { ioc_.run(); });
    ioc_.run();
    for (auto& t : threads) t.join();
  }

  void Shutdown() {
    if (state_.stopping.exchange(true)) return;
    state_.router.SetDraining();
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      accept_backoff_.cancel();
    });
    net::post(ioc_, [this] {
      beast::error_code ec;
      signals_.cancel(ec);
    });
    std::vector<std::shared_ptr<Session>> live;
    {
      std::lock_guard lock(state_.sessions_mutex);
      for (auto& [ptr, weak] : state_.sessions)
        if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->Drain();
  }

 private:
  void DoAccept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (state_.stopping.load() || !acceptor_.is_open()) return;
      if (!ec) {
        std::make_shared<Session>(std::move(socket), state_)->Start();
        return DoAccept();
      }
      // Out of file descriptors and the like: retrying at once would spin on the same error.
      core::Log(core::LogLevel::kWarn, "accept failed: " + ec.message() + "; retrying in 100 ms");
      accept_backoff_.expires_after(std::chrono::milliseconds(100));
      accept_backoff_.async_wait([this](beast::error_code) {
        if (!state_.stopping.load()) DoAccept();
      });
    });
  }

  ServerState state_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer accept_backoff_{acceptor_.get_executor()};
  net::signal_set signals_;
};

HttpServer::HttpServer(HttpServerOptions options, Router& router)
    : impl_(std::make_unique<Impl>(std::move(options), router)) {}
HttpServer::~HttpServer() = default;
core::Result<std::string> HttpServer::Start() { return impl_->Start(); }
void HttpServer::Run() { impl_->Run(); }
void HttpServer::Shutdown() { impl_->Shutdown(); }

}  // namespace tokenledger::server
