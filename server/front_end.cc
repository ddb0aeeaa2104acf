#include "server/front_end.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/log.h"
#include "server/request_parser.h"
#include "server/resp_protocol.h"

namespace tokenledger::server {
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

// Concrete executor types throughout: a connection lives on one io_context, and the type-erased
// any_io_executor costs a copy, move and destroy per asynchronous operation.
using Executor = net::io_context::executor_type;
using Socket = net::basic_stream_socket<tcp, Executor>;
using TlsStream = beast::ssl_stream<Socket>;

// Milliseconds of a monotonic clock read from the vDSO without a syscall, coarse (a few ms) but
// plenty for 1-30 s deadlines.
std::int64_t CoarseNowMs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}
constexpr auto kSweepInterval = std::chrono::milliseconds(250);

// Holds at most one request's header plus a body limit's worth of pipelined bytes.
constexpr size_t kReadBufferLimit = 1024 * 1024;
// A RESP connection's input buffer: one largest request plus room for a pipelined batch. It
// starts at 4 KiB (an idle connection holds no more) and doubles up to that as needed.
constexpr size_t kRespBufferBytes = kRespMaxRequestBytes + 32 * 1024;
constexpr size_t kRespFirstBufferBytes = 4096;

// A connection as the front end manages it. Read and write deadlines are a timestamp the
// connection sets (no timer per operation, which cost more than the validation itself); a
// sweeper checks them every 250 ms and closes the late ones on their own thread.
class Connection {
 public:
  virtual ~Connection() = default;
  // Close once the response in progress, if any, is written.
  virtual void Drain() = 0;
  // Close now if the deadline set on the connection's own thread has passed (any thread).
  void ExpireIfLate(std::int64_t now_ms) {
    if (Late(now_ms)) PostExpire(now_ms);
  }

 protected:
  void SetDeadline(std::chrono::milliseconds timeout) {
    deadline_ms_.store(CoarseNowMs() + timeout.count(), std::memory_order_relaxed);
  }
  void ClearDeadline() { deadline_ms_.store(0, std::memory_order_relaxed); }
  bool Late(std::int64_t now_ms) const {
    std::int64_t deadline = deadline_ms_.load(std::memory_order_relaxed);
    return deadline != 0 && deadline < now_ms;
  }
  virtual void PostExpire(std::int64_t now_ms) = 0;

 private:
  std::atomic<std::int64_t> deadline_ms_{0};
};

// What every connection shares: options, handlers, the shutdown flag and the live connections.
struct SharedState {
  SharedState(FrontEndOptions o, Router& r, const projections::Ledger& l, const AccessControl& a, ServerMetrics& m)
      : options(std::move(o)), router(r), ledger(l), access(a), metrics(m), workers(2) {}
  FrontEndOptions options;
  Router& router;
  const projections::Ledger& ledger;
  const AccessControl& access;
  ServerMetrics& metrics;
  // Produces streamed bodies (RocksDB scans): blocking work kept off the I/O threads.
  net::thread_pool workers;
  std::atomic<bool> stopping{false};
  std::mutex connections_mutex;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections;

  void Register(Connection* d, std::weak_ptr<Connection> w) {
    std::lock_guard lock(connections_mutex);
    connections.emplace(d, std::move(w));
  }
  void Unregister(Connection* d) {
    std::lock_guard lock(connections_mutex);
    connections.erase(d);
  }
  size_t Count() {
    std::lock_guard lock(connections_mutex);
    return connections.size();
  }
  // The connections alive now; holding them keeps them alive while the caller works on them.
  std::vector<std::shared_ptr<Connection>> Live() {
    std::vector<std::shared_ptr<Connection>> live;
    std::lock_guard lock(connections_mutex);
    live.reserve(connections.size());
    for (auto& [ptr, weak] : connections)
      if (auto c = weak.lock()) live.push_back(std::move(c));
    return live;
  }
};

// Writes status line, headers and body into out (reused across responses).
void Serialize(const HttpResponse& r, unsigned version, bool close, bool head_only, std::string& out) {
  out.clear();
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, r.status);
  out.append(digits, end).append(" ");
  beast::string_view reason = http::obsolete_reason(static_cast<http::status>(r.status));
  out.append(reason.data(), reason.size()).append("\r\nServer: tokenledgerd\r\nContent-Type: ");
  out.append(r.content_type);
  if (r.stream) {
    // HTTP/1.0 has no chunked encoding: the end of the body is the end of the connection.
    if (version != 10) out.append("\r\nTransfer-Encoding: chunked");
  } else {
    out.append("\r\nContent-Length: ");
    auto [end2, ec2] = std::to_chars(digits, digits + sizeof digits, r.body.size());
    out.append(digits, end2);
  }
  out.append("\r\n").append(r.headers);
  if (close) out.append("Connection: close\r\n");
  else if (version == 10) out.append("Connection: keep-alive\r\n");
  out.append("\r\n");
  if (!head_only && !r.stream) out.append(r.body);
}

template <class Stream>
constexpr bool kIsTls = !std::is_same_v<Stream, Socket>;

template <class Stream>
class HttpSession : public Connection, public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  HttpSession(Socket&& socket, SharedState& state, ssl::context* tls)
      : stream_(MakeStream(std::move(socket), tls)), buffer_(kReadBufferLimit), state_(state) {
    beast::error_code ec;
    // Responses are small request/response exchanges: never wait on Nagle's algorithm.
    beast::get_lowest_layer(stream_).set_option(tcp::no_delay(true), ec);
    state_.metrics.ConnectionOpened(Protocol::kHttp);
  }

  ~HttpSession() override {
    state_.Unregister(this);
    state_.metrics.ConnectionClosed(Protocol::kHttp);
  }

  void Start() {
    state_.Register(this, this->weak_from_this());
    // Built once per connection: handing out a deferred responder costs nothing per read.
    defer_ = [this] {
      auto self = this->shared_from_this();
      // The work guard keeps Run() from returning while the ledger's writer holds the reply.
      return Responder([self, work = net::make_work_guard(stream_.get_executor())](HttpResponse r) mutable {
        net::dispatch(self->stream_.get_executor(), [self, r = std::move(r)]() mutable {
          self->response_ = std::move(r);
          self->DoWrite();
        });
      });
    };
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kIsTls<Stream>) {
        self->SetDeadline(self->state_.options.write_timeout);
        self->stream_.async_handshake(ssl::stream_base::server, [self](beast::error_code ec) {
          // A failed handshake (plain HTTP on the TLS port, a bad client) just closes.
          if (ec) return self->CloseSocket();
          self->DoRead();
        });
      } else {
        self->DoRead();
      }
    });
  }

  // An idle connection closes now, a busy one after its response.
  void Drain() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (!self->busy_) self->DoClose();
    });
  }
  void PostExpire(std::int64_t now_ms) override {
    net::post(stream_.get_executor(), [self = this->shared_from_this(), now_ms] {
      // Closing the socket aborts the pending operation; its handler ends the session.
      if (!self->Late(now_ms)) return;
      self->state_.metrics.CountConnectionTimedOut();
      self->CloseSocket();
    });
  }

 private:
  static Stream MakeStream(Socket&& socket, ssl::context* tls) {
    if constexpr (kIsTls<Stream>) return Stream(std::move(socket), *tls);
    else return Stream(std::move(socket));
  }

  void DoRead() {
    if (state_.stopping.load()) return DoClose();
    request_.Clear();
    parser_.emplace(request_, state_.options.body_limit, state_.options.header_limit);
    // One deadline for the whole request, headers and body.
    SetDeadline(state_.options.read_timeout);
    ParseOrRead(Stage::kHeader);
  }

  enum class Stage { kHeader, kMessage };

  // Feeds the buffered bytes to the parser and reads more until the stage is reached, then
  // continues with OnReadHeader or OnRead. Beast's async_read does the same through two layers
  // of composed operations and posts a completion even when everything was buffered; this is
  // one async_read_some per read and a direct call otherwise.
  void ParseOrRead(Stage stage) {
    beast::error_code ec;
    for (;;) {
      // Checked first: bytes after a finished message belong to the next (pipelined) request.
      if (Reached(stage)) return Continue(stage);
      if (buffer_.size() == 0) break;
      size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) break;
      if (ec) return OnRead(ec, 0);
      if (used == 0) break;
    }
    // Reads start at 4 KiB (a validation request is a few hundred bytes) and double with what is
    // buffered, up to 64 KiB: an idle connection holds 4 KiB, not the largest read.
    size_t room = std::min<size_t>(std::clamp<size_t>(buffer_.size(), 4096, 65536), buffer_.max_size() - buffer_.size());
    if (room == 0) return OnRead(http::error::header_limit, 0);
    stream_.async_read_some(buffer_.prepare(room), [self = this->shared_from_this(), stage](beast::error_code e,
                                                                                           std::size_t n) {
      self->buffer_.commit(n);
      if (e == net::error::eof) {
        // As Beast's read: EOF ends a message that needs it, else the request was cut short.
        if (!self->parser_->got_some()) return self->OnRead(http::error::end_of_stream, 0);
        beast::error_code eof;
        self->parser_->put_eof(eof);
        if (eof) return self->OnRead(eof, 0);
        return self->Continue(stage);
      }
      if (e) return self->OnRead(e, 0);
      self->ParseOrRead(stage);
    });
  }

  bool Reached(Stage stage) const {
    return stage == Stage::kHeader ? parser_->is_header_done() : parser_->is_done();
  }
  void Continue(Stage stage) { stage == Stage::kHeader ? OnReadHeader() : OnRead({}, 0); }

  void OnReadHeader() {
    if (!parser_->expects_continue() || parser_->is_done()) return ParseOrRead(Stage::kMessage);
    // curl and others wait (1 s) for this before sending a body over 1 KiB.
    auto content_length = parser_->content_length();
    if (content_length && *content_length > state_.options.body_limit) return OnRead(http::error::body_limit, 0);
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = this->shared_from_this()](beast::error_code e, std::size_t) {
                       if (e) return self->DoClose();
                       self->ParseOrRead(Stage::kMessage);
                     });
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec) {
      if (ec == http::error::body_limit)
        return WriteError(413, "payload_too_large",
                          "request body exceeds " + std::to_string(state_.options.body_limit) + " bytes");
      if (ec == http::error::header_limit) return WriteError(431, "headers_too_large", "request headers are too large");
      // A malformed request (as opposed to a closed, reset or timed-out connection) gets a 400.
      if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message)
        return WriteError(400, "bad_request", "malformed HTTP request: " + ec.message());
      return DoClose();
    }
    keep_alive_ = parser_->keep_alive();
    version_ = parser_->version();
    head_only_ = parser_->is_head();
    busy_ = true;
    ClearDeadline();  // a write may wait for the fsync; the response gets its own deadline
    response_.Reset();
    // Answered now (reads, validation, bad input) or later from the ledger's writer thread
    // through defer_, which queues the write onto this connection's I/O context.
    if (state_.router.Handle(request_, response_, defer_)) DoWrite();
  }

  void WriteError(int status, std::string_view code, const std::string& message) {
    busy_ = true;
    keep_alive_ = false;
    head_only_ = false;
    response_ = ErrorResponse(status, code, message);
    response_.close = true;
    state_.metrics.CountRequest(ServerMetrics::kNoRoute, status);
    DoWrite();
  }

  void DoWrite() {
    bool close = response_.close || !keep_alive_ || state_.stopping.load() ||
                 (response_.stream && version_ == 10);
    Serialize(response_, version_, close, head_only_, out_);
    if (response_.stream && !head_only_) return WriteStreamPiece(close);
    SetDeadline(state_.options.write_timeout);
    net::async_write(stream_, net::buffer(out_), [self = this->shared_from_this(), close](beast::error_code ec, std::size_t) {
      self->OnWrite(ec, close);
    });
  }

  // A streamed body: out_ holds what is not sent yet (the head, at first); the next piece is
  // produced on a worker thread, then framed as a chunk and written with it.
  void WriteStreamPiece(bool close) {
    ClearDeadline();  // producing a piece is our own work, bounded by its size
    // The guard keeps this connection's context running while the worker holds the piece.
    net::post(state_.workers, [self = this->shared_from_this(), close,
                               work = net::make_work_guard(stream_.get_executor())] {
      self->piece_.clear();
      auto more = self->response_.stream->Next(self->piece_);
      net::dispatch(self->stream_.get_executor(), [self, close, more = std::move(more)] {
        if (!more.ok()) {
          core::Log(core::LogLevel::kError, "streamed response aborted: " + more.status().ToString());
          return self->CloseSocket();
        }
        // Shutting down: an export could take minutes; the client sees the body cut short.
        if (*more && self->state_.stopping.load()) return self->CloseSocket();
        // One gathered write: what out_ holds (the head, at first) and the chunk's size line,
        // the piece itself (not copied), the chunk's end and, after the last, the final chunk.
        bool chunked = self->version_ != 10;
        std::string_view tail;
        if (chunked && !self->piece_.empty()) {
          char size[20];
          auto [end, ec] = std::to_chars(size, size + sizeof size, self->piece_.size(), 16);
          self->out_.append(size, end).append("\r\n");
          tail = *more ? "\r\n" : "\r\n0\r\n\r\n";
        } else if (chunked && !*more) {
          tail = "0\r\n\r\n";
        }
        std::array<net::const_buffer, 3> buffers = {net::buffer(self->out_), net::buffer(self->piece_),
                                                    net::buffer(tail.data(), tail.size())};
        self->SetDeadline(self->state_.options.write_timeout);
        net::async_write(self->stream_, buffers,
                         [self, close, last = !*more](beast::error_code ec, std::size_t) {
                           self->out_.clear();
                           if (ec) return self->DoClose();
                           if (last) return self->OnWrite(ec, close);
                           self->WriteStreamPiece(close);
                         });
      });
    });
  }

  void OnWrite(beast::error_code ec, bool close) {
    busy_ = false;
    if (ec || close) return DoClose();
    DoRead();
  }

  void DoClose() {
    if (closed_) return;
    closed_ = true;
    if constexpr (kIsTls<Stream>) {
      // close_notify, bounded by the write timeout; the socket closes either way.
      SetDeadline(state_.options.write_timeout);
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->CloseSocket(); });
    } else {
      CloseSocket();
    }
  }

  void CloseSocket() {
    beast::error_code ec;
    ClearDeadline();
    auto& socket = beast::get_lowest_layer(stream_);
    socket.shutdown(tcp::socket::shutdown_send, ec);
    socket.close(ec);
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  SharedState& state_;
  HttpRequest request_;
  HttpResponse response_;
  std::string out_;
  std::string piece_;  // a streamed body's next piece, filled on a worker thread, written as is
  std::optional<RequestParser> parser_;
  DeferFn defer_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  bool head_only_ = false;
  bool busy_ = false;
  bool closed_ = false;
};

class RespSession : public Connection, public std::enable_shared_from_this<RespSession> {
 public:
  RespSession(Socket&& socket, SharedState& state)
      : stream_(std::move(socket)),
        in_(kRespFirstBufferBytes),
        interpreter_(state.ledger, state.access, state.metrics),
        state_(state) {
    beast::error_code ec;
    stream_.set_option(tcp::no_delay(true), ec);
    state_.metrics.ConnectionOpened(Protocol::kResp);
  }
  ~RespSession() override {
    state_.Unregister(this);
    state_.metrics.ConnectionClosed(Protocol::kResp);
  }

  void Start() {
    state_.Register(this, weak_from_this());
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&RespSession::DoRead, shared_from_this()));
  }

  void Drain() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->writing_) self->DoClose();
    });
  }

 private:
  void DoRead() {
    if (state_.stopping.load()) return DoClose();
    SetDeadline(state_.options.read_timeout);
    // The buffer grows (doubling) only when a pipelined batch or a large request fills it.
    if (in_size_ == in_.size() && in_.size() < kRespBufferBytes)
      in_.resize(std::min(in_.size() * 2, kRespBufferBytes));
    stream_.async_read_some(net::buffer(in_.data() + in_size_, in_.size() - in_size_),
                            beast::bind_front_handler(&RespSession::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t n) {
    if (ec) return DoClose();
    in_size_ += n;
    out_.clear();
    size_t used = interpreter_.Process(std::string_view(in_.data(), in_size_), out_);
    std::memmove(in_.data(), in_.data() + used, in_size_ - used);
    in_size_ -= used;
    if (out_.empty()) return interpreter_.closing() ? DoClose() : DoRead();
    writing_ = true;
    SetDeadline(state_.options.write_timeout);
    net::async_write(stream_, net::buffer(out_), [self = shared_from_this()](beast::error_code e, std::size_t) {
      self->writing_ = false;
      if (e || self->interpreter_.closing()) return self->DoClose();
      self->DoRead();
    });
  }

  void DoClose() {
    ClearDeadline();
    beast::error_code ec;
    stream_.shutdown(tcp::socket::shutdown_send, ec);
    stream_.close(ec);
  }

  void PostExpire(std::int64_t now_ms) override {
    net::post(stream_.get_executor(), [self = shared_from_this(), now_ms] {
      if (!self->Late(now_ms)) return;
      self->state_.metrics.CountConnectionTimedOut();
      self->DoClose();
    });
  }

  Socket stream_;
  std::vector<char> in_;
  size_t in_size_ = 0;
  std::string out_;
  RespInterpreter interpreter_;
  SharedState& state_;
  bool writing_ = false;
};

// Accepts connections on one endpoint and starts a session of the given kind for each, on the
// I/O context next_context() picks.
class Listener {
 public:
  using StartSession = std::function<void(Socket&&)>;
  using PickContext = std::function<net::io_context&()>;
  Listener(net::io_context& ioc, SharedState& state, PickContext next_context, StartSession start)
      : ioc_(ioc), acceptor_(ioc), backoff_(ioc), state_(state), next_context_(std::move(next_context)),
        start_(std::move(start)) {}

  // Binds host:port; returns "HOST:PORT" with the real port.
  core::Result<std::string> Bind(const std::string& host, std::uint16_t port) {
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty())
      return core::Status::InvalidArgument("cannot resolve listen host " + host + ": " + ec.message());
    tcp::endpoint endpoint = results.begin()->endpoint();
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return core::Status::IoError("cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
    tcp::endpoint bound = acceptor_.local_endpoint(ec);
    std::string bound_host = bound.address().to_string();
    if (bound.address().is_v6()) bound_host = "[" + bound_host + "]";
    return bound_host + ":" + std::to_string(bound.port());
  }

  void Accept() {
    acceptor_.async_accept(next_context_(), [this](beast::error_code ec, Socket socket) {
      if (state_.stopping.load() || !acceptor_.is_open()) return;
      if (!ec) {
        if (state_.Count() >= state_.options.max_connections) {
          // Over the limit: closed at once (the client sees a reset or EOF), nothing allocated.
          state_.metrics.CountConnectionRefused();
          beast::error_code ignored;
          socket.close(ignored);
        } else {
          start_(std::move(socket));
        }
        return Accept();
      }
      // Out of file descriptors and the like: retrying at once would spin on the same error.
      core::Log(core::LogLevel::kWarn, "accept failed: " + ec.message() + "; retrying in 100 ms");
      backoff_.expires_after(std::chrono::milliseconds(100));
      backoff_.async_wait([this](beast::error_code) {
        if (!state_.stopping.load()) Accept();
      });
    });
  }

  void Close() {
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      backoff_.cancel();
    });
  }

 private:
  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer backoff_;
  SharedState& state_;
  PickContext next_context_;
  StartSession start_;
};

}  // namespace

// One io_context per I/O thread, each run by that thread alone: a connection lives on one
// context, so its handlers never need a strand and the threads share no scheduler lock.
class FrontEnd::Impl {
 public:
  Impl(FrontEndOptions options, Router& router, const projections::Ledger& ledger, const AccessControl& access,
       ServerMetrics& metrics)
      : state_(std::move(options), router, ledger, access, metrics) {
    for (int i = 0; i < std::max(1, state_.options.threads); ++i) {
      contexts_.push_back(std::make_unique<net::io_context>(1));
      // Keeps each context running while it has no connection, until Shutdown().
      guards_.push_back(net::make_work_guard(*contexts_.back()));
    }
    signals_ = std::make_unique<net::signal_set>(*contexts_[0], SIGINT, SIGTERM);
    sweeper_ = std::make_unique<net::steady_timer>(*contexts_[0]);
    // Answers that read RocksDB or sign run on the worker pool, as streamed bodies do.
    state_.router.SetOffload([this](std::function<void()> task) { net::post(state_.workers, std::move(task)); });
  }
  ~Impl() { state_.router.SetOffload(nullptr); }

  core::Result<FrontEndAddresses> Start() {
    bool tls = !state_.options.tls_cert_file.empty() || !state_.options.tls_key_file.empty();
    if (tls) {
      core::Status s = LoadTls();
      if (!s.ok()) return s;
    }
    auto next_context = [this]() -> net::io_context& {
      return *contexts_[next_context_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
    };
    http_ = std::make_unique<Listener>(*contexts_[0], state_, next_context, [this](Socket&& socket) {
      if (tls_) std::make_shared<HttpSession<TlsStream>>(std::move(socket), state_, tls_.get())->Start();
      else std::make_shared<HttpSession<Socket>>(std::move(socket), state_, nullptr)->Start();
    });
    auto http_address = http_->Bind(state_.options.host, state_.options.port);
    if (!http_address.ok()) return http_address.status();
    FrontEndAddresses addresses;
    addresses.http_url = (tls_ ? "https://" : "http://") + *http_address;
    if (state_.options.resp_host) {
      resp_ = std::make_unique<Listener>(*contexts_[0], state_, next_context, [this](Socket&& socket) {
        std::make_shared<RespSession>(std::move(socket), state_)->Start();
      });
      auto resp_address = resp_->Bind(*state_.options.resp_host, state_.options.resp_port);
      if (!resp_address.ok()) return resp_address.status();
      addresses.resp_address = *resp_address;
    }
    signals_->async_wait([this](beast::error_code e, int signal) {
      if (e) return;
      core::Log(core::LogLevel::kInfo, "signal " + std::to_string(signal) + " received; draining");
      Shutdown();
    });
    http_->Accept();
    if (resp_) resp_->Accept();
    Sweep();
    return addresses;
  }

  void Run() {
    std::vector<std::thread> threads;
    for (size_t i = 1; i < contexts_.size(); ++i) threads.emplace_back([this, i] { contexts_[i]->run(); });
    contexts_[0]->run();
    for (auto& t : threads) t.join();
    state_.workers.join();
  }

  // Every 250 ms: closes connections past their read or write deadline. Stops once shutting
  // down with no connection left, so run() can return.
  void Sweep() {
    sweeper_->expires_after(kSweepInterval);
    sweeper_->async_wait([this](beast::error_code ec) {
      if (ec) return;
      auto live = state_.Live();
      std::int64_t now = CoarseNowMs();
      for (auto& c : live) c->ExpireIfLate(now);
      if (state_.stopping.load() && live.empty()) return;
      Sweep();
    });
  }

  void Shutdown() {
    if (state_.stopping.exchange(true)) return;
    state_.router.SetDraining();
    if (http_) http_->Close();
    if (resp_) resp_->Close();
    net::post(*contexts_[0], [this] {
      beast::error_code ec;
      signals_->cancel(ec);
    });
    for (auto& c : state_.Live()) c->Drain();
    // Each context now returns from run() once its connections have finished.
    for (auto& guard : guards_) guard.reset();
  }

 private:
  core::Status LoadTls() {
    const auto& o = state_.options;
    if (o.tls_cert_file.empty() || o.tls_key_file.empty())
      return core::Status::InvalidArgument("--tls-cert and --tls-key must be given together");
    tls_ = std::make_unique<ssl::context>(ssl::context::tls_server);
    // TLS 1.2 and 1.3 only.
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    beast::error_code ec;
    tls_->use_certificate_chain_file(o.tls_cert_file, ec);
    if (ec) return core::Status::InvalidArgument("cannot load TLS certificate " + o.tls_cert_file + ": " + ec.message());
    tls_->use_private_key_file(o.tls_key_file, ssl::context::pem, ec);
    if (ec) return core::Status::InvalidArgument("cannot load TLS key " + o.tls_key_file + ": " + ec.message());
    if (SSL_CTX_check_private_key(tls_->native_handle()) != 1)
      return core::Status::InvalidArgument("TLS key " + o.tls_key_file + " does not match certificate " + o.tls_cert_file);
    return core::Status::Ok();
  }

  SharedState state_;
  std::vector<std::unique_ptr<net::io_context>> contexts_;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards_;
  std::atomic<size_t> next_context_{0};
  std::unique_ptr<ssl::context> tls_;
  std::unique_ptr<Listener> http_;
  std::unique_ptr<Listener> resp_;
  std::unique_ptr<net::signal_set> signals_;
  std::unique_ptr<net::steady_timer> sweeper_;
};

FrontEnd::FrontEnd(FrontEndOptions options, Router& router, const projections::Ledger& ledger,
                   const AccessControl& access, ServerMetrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), router, ledger, access, metrics)) {}
FrontEnd::~FrontEnd() = default;
core::Result<FrontEndAddresses> FrontEnd::Start() { return impl_->Start(); }
void FrontEnd::Run() { impl_->Run(); }
void FrontEnd::Shutdown() { impl_->Shutdown(); }

}  // namespace tokenledger::server
