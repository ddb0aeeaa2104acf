#include "server/webhooks.h"

#include <boost/json.hpp>
#include <boost/url.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <queue>
#include <random>
#include <thread>

#include "core/digest.h"
#include "core/http_client.h"
#include "core/log.h"
#include "core/time_format.h"
#include "server/webhook_outbox.h"

namespace tokenledger::server {
namespace json = boost::json;
namespace {

// Days before expiry at which a token "enters" a warning window, largest first.
constexpr std::array<int, 3> kWarningDays = {30, 7, 1};
constexpr size_t kEventsPerPass = 1000;
constexpr size_t kNotificationsPerRead = 64;
constexpr auto kIdleWake = std::chrono::seconds(1);

// An expiry warning due at `at`: token `id` enters its `days`-day window then. One per active
// token is queued (its next), 40 bytes with the id inline.
struct Warning {
  core::Timestamp at = 0;
  int days = 0;
  std::array<char, 24> id_chars{};  // "tok_" + 20 characters (core::IsWellFormedTokenId)
  std::string_view id() const { return {id_chars.data(), id_chars.size()}; }
  bool operator>(const Warning& o) const { return at > o.at; }
};

// The first warning of a token created at created_at and expiring at expires_at that is due
// strictly after `after` (and strictly after its creation: a token born inside a window does
// not "enter" it), if any.
std::optional<Warning> NextWarning(std::string_view id, core::Timestamp created_at, core::Timestamp expires_at,
                                   core::Timestamp after) {
  for (int days : kWarningDays) {
    core::Timestamp at = expires_at - static_cast<core::Timestamp>(days) * 86400;
    if (at > created_at && at > after && id.size() == Warning{}.id_chars.size()) {
      Warning w{at, days, {}};
      std::copy(id.begin(), id.end(), w.id_chars.begin());
      return w;
    }
  }
  return std::nullopt;
}

json::object TokenObject(const projections::TokenRecord& r) {
  return json::object{{"id", r.id}, {"namespace", r.namespace_id}, {"name", r.name},
                      {"expires_at", core::FormatRfc3339(r.expires_at)}};
}

}  // namespace

core::Result<WebhookUrl> ParseWebhookUrl(std::string_view text) {
  auto url = boost::urls::parse_absolute_uri(text);
  auto bad = [&](std::string_view why) {
    return core::Status::InvalidArgument("--webhook-url " + std::string(text) + ": " + std::string(why));
  };
  if (!url) return bad("not an absolute URL");
  if (url->scheme() != "http" && url->scheme() != "https") return bad("the scheme must be http or https");
  if (url->host().empty()) return bad("no host");
  if (url->has_userinfo()) return bad("user info is not supported (the signature authenticates the sender)");
  if (url->has_fragment()) return bad("a fragment is never sent");
  WebhookUrl out;
  out.text = std::string(text);
  out.tls = url->scheme() == "https";
  out.host = url->host_address().empty() ? std::string(url->host()) : std::string(url->host_address());
  out.port = url->has_port() ? std::string(url->port()) : (out.tls ? "443" : "80");
  out.target = std::string(url->encoded_path());
  if (out.target.empty()) out.target = "/";
  if (url->has_query()) out.target += "?" + std::string(url->encoded_query());
  return out;
}

std::string WebhookSignature(std::string_view secret, std::string_view timestamp, std::string_view body) {
  std::string signed_text(timestamp);
  signed_text.push_back('.');
  signed_text.append(body);
  return "sha256=" + core::ToHex(core::HmacSha256(secret, signed_text));
}

class Webhooks::Impl {
 public:
  Impl(projections::Ledger& ledger, ServerMetrics& metrics, WebhookOptions options, std::vector<WebhookUrl> urls)
      : ledger_(ledger), metrics_(metrics), options_(std::move(options)), urls_(std::move(urls)),
        outbox_(ledger.storage()) {}

  ~Impl() { Stop(); }

  core::Status Begin() {
    // Where the producer stands, and a snapshot of the active tokens' coming warnings.
    auto loaded = outbox_.LoadProducer();
    if (!loaded.ok()) return loaded.status();
    core::Timestamp now = ledger_.clock().Now();
    bool first = !loaded->has_value();
    if (!first) state_ = **loaded;
    std::uint64_t applied = ledger_.ScanActive([&](const projections::TokenRecord& r) {
      // Warnings due up to warned_until were handled for the tokens the producer had seen; the
      // ones created after its last saved position have had none yet. On the first start,
      // only what comes due from now on.
      core::Timestamp after = first ? std::max(r.created_at, now)
                              : r.created_seq <= state_.ledger_seq ? std::max(r.created_at, state_.warned_until)
                                                                   : r.created_at;
      if (auto next = NextWarning(r.id, r.created_at, r.expires_at, after)) warnings_.push(std::move(*next));
    });
    if (first) state_ = WebhookOutbox::ProducerState{applied, now, 1};
    saved_ = state_;
    snapshot_seq_ = applied;
    if (first) {
      core::Status saved = outbox_.Append({}, state_);
      if (!saved.ok()) return saved;
    }
    for (const WebhookUrl& url : urls_) {
      auto delivered = outbox_.LoadDelivered(url.text);
      if (!delivered.ok()) return delivered.status();
      auto sender = std::make_unique<Sender>();
      sender->url = url;
      // A receiver never seen before starts at the outbox's end: no backlog of older news.
      sender->delivered = delivered->value_or(state_.next - 1);
      if (!delivered->has_value()) {
        core::Status saved = outbox_.SaveDelivered(url.text, sender->delivered);
        if (!saved.ok()) return saved;
      }
      auto client = core::HttpClient::Create(url.tls ? "https://" + HostPort(url) : "http://" + HostPort(url),
                                             options_.timeout, options_.ca_file);
      if (!client.ok()) return client.status();
      sender->client = std::move(client).value();
      senders_.push_back(std::move(sender));
    }
    trimmed_ = MinDelivered();
    producer_ = std::thread([this] { ProduceLoop(); });
    for (auto& sender : senders_) sender->thread = std::thread([this, s = sender.get()] { SendLoop(*s); });
    core::Log(core::LogLevel::kInfo, "webhooks: " + std::to_string(urls_.size()) + " receiver(s), outbox at " +
                                         std::to_string(state_.next - 1) + ", ledger seq " +
                                         std::to_string(state_.ledger_seq));
    return core::Status::Ok();
  }

  void Stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    wake_.notify_all();
    producer_wake_->Set();
    if (producer_.joinable()) producer_.join();
    for (auto& sender : senders_)
      if (sender->thread.joinable()) sender->thread.join();
  }

 private:
  struct Sender {
    WebhookUrl url;
    std::unique_ptr<core::HttpClient> client;
    std::atomic<std::uint64_t> delivered{0};
    std::thread thread;
  };

  static std::string HostPort(const WebhookUrl& url) {
    std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    return host + ":" + url.port;
  }

  std::uint64_t MinDelivered() const {
    std::uint64_t least = state_.next - 1;
    for (const auto& sender : senders_) least = std::min(least, sender->delivered.load());
    return least;
  }

  // Waits until new notifications, a stop or the time passes; true when stopping.
  bool Sleep(std::chrono::steady_clock::duration d) {
    std::unique_lock lock(mutex_);
    std::uint64_t seen = generation_;
    wake_.wait_for(lock, d, [&] { return stopping_ || generation_ != seen; });
    return stopping_;
  }

  bool stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  // ---- producer ----------------------------------------------------------------------------

  std::string Body(std::uint64_t number, std::string_view type, core::Timestamp occurred_at,
                   const projections::TokenRecord& token, json::object extra) {
    json::object o{{"delivery", std::to_string(number)}, {"type", type},
                   {"occurred_at", core::FormatRfc3339(occurred_at)}, {"token", TokenObject(token)}};
    for (auto& kv : extra) o[kv.key()] = std::move(kv.value());
    return json::serialize(o);
  }

  // Turns new ledger events into notifications; schedules the warnings of new tokens.
  core::Status FollowLedger(std::vector<std::string>& bodies) {
    size_t seen = 0;
    core::Status failure = core::Status::Ok();
    core::Status scanned = ledger_.event_store().Scan(state_.ledger_seq + 1, [&](const events::Event& e) {
      const std::string& id = events::TokenIdOf(e.payload);
      if (const auto* created = std::get_if<events::TokenCreated>(&e.payload)) {
        if (e.seq > snapshot_seq_)
          if (auto next = NextWarning(id, e.recorded_at, created->expires_at, e.recorded_at)) warnings_.push(*next);
      } else if (!std::holds_alternative<events::TokenRotated>(e.payload)) {
        // Revoked or expired: the token was created by an earlier append, so the table has it.
        auto token = ledger_.Find(id);
        if (!token) {
          failure = core::Status::Internal("webhooks: event " + std::to_string(e.seq) + " names an unknown token");
          return false;
        }
        std::uint64_t number = state_.next + bodies.size();
        if (const auto* revoked = std::get_if<events::TokenRevoked>(&e.payload)) {
          bodies.push_back(Body(number, "token.revoked", e.recorded_at, *token,
                                json::object{{"seq", e.seq}, {"actor", e.actor}, {"reason", revoked->reason}}));
        } else {
          bodies.push_back(Body(number, "token.expired", token->expires_at, *token, json::object{{"seq", e.seq}}));
        }
      }
      state_.ledger_seq = e.seq;
      return ++seen < kEventsPerPass;
    });
    return scanned.ok() ? failure : scanned;
  }

  // Emits the warnings due by now whose token is still active.
  void DueWarnings(core::Timestamp now, std::vector<std::string>& bodies) {
    while (!warnings_.empty() && warnings_.top().at <= now) {
      Warning w = warnings_.top();
      warnings_.pop();
      auto token = ledger_.Find(w.id());
      // Only about a token still active: one revoked or expired meanwhile (the server was down
      // past its expiry, say) has had its own notification instead.
      if (!token || projections::StatusAt(*token, now) != events::TokenStatus::kActive) continue;
      bodies.push_back(Body(state_.next + bodies.size(), "token.expiring", w.at, *token,
                            json::object{{"days_left", w.days}}));
      if (auto next = NextWarning(w.id(), token->created_at, token->expires_at, w.at)) warnings_.push(*next);
    }
  }

  void ProduceLoop() {
    while (!stopping()) {
      std::vector<std::string> bodies;
      core::Status followed = FollowLedger(bodies);
      if (!followed.ok()) core::Log(core::LogLevel::kError, followed.ToString() + "; retrying in a second");
      core::Timestamp now = ledger_.clock().Now();
      DueWarnings(now, bodies);
      std::uint64_t saved_seq = saved_.ledger_seq;
      bool moved = state_.ledger_seq != saved_seq || now >= saved_.warned_until + 60;
      if (!bodies.empty() || moved) {
        // Warnings due up to now were all emitted: tokens created by unread events get theirs
        // from their creation (FollowLedger), so nothing due by now can be missed.
        state_.warned_until = std::max(state_.warned_until, now);
        core::Status appended = outbox_.Append(bodies, state_);
        if (!appended.ok()) {
          core::Log(core::LogLevel::kError, "webhooks: " + appended.ToString() + "; retrying");
          Sleep(kIdleWake);
          continue;  // the same notifications are made again from the unchanged position
        }
        saved_ = state_;
        if (!bodies.empty()) {
          {
            std::lock_guard lock(mutex_);
            ++generation_;
          }
          wake_.notify_all();
        }
      }
      std::uint64_t least = MinDelivered();
      metrics_.SetWebhookBacklog(state_.next - 1 - least);
      if (least > trimmed_) {
        if (outbox_.Trim(least).ok()) trimmed_ = least;
      }
      if (!followed.ok()) {
        producer_wake_->WaitUntil(std::chrono::steady_clock::now() + kIdleWake);
        continue;
      }
      if (state_.ledger_seq < ledger_.head_seq()) continue;  // more events already waiting
      // Sleep until the next event (the ledger calls back), the next warning or a second.
      auto deadline = std::chrono::steady_clock::now() + kIdleWake;
      if (!warnings_.empty()) {
        auto until = std::chrono::seconds(std::max<core::Timestamp>(0, warnings_.top().at - now));
        deadline = std::min(deadline, std::chrono::steady_clock::now() + until);
      }
      ledger_.WaitForEvents(state_.ledger_seq, std::nullopt, deadline, [wake = producer_wake_](bool) { wake->Set(); });
      producer_wake_->WaitUntil(deadline);
    }
  }

  // The producer's alarm: set by the ledger's waiter callback (which may run after this object
  // is gone, hence shared) or by Stop.
  struct ProducerWake {
    std::mutex mutex;
    std::condition_variable cv;
    bool set = false;
    void Set() {
      {
        std::lock_guard lock(mutex);
        set = true;
      }
      cv.notify_all();
    }
    void WaitUntil(std::chrono::steady_clock::time_point deadline) {
      std::unique_lock lock(mutex);
      cv.wait_until(lock, deadline, [&] { return set; });
      set = false;
    }
  };

  // ---- senders -----------------------------------------------------------------------------

  void SendLoop(Sender& sender) {
    std::mt19937_64 jitter(std::random_device{}());
    while (!stopping()) {
      auto batch = outbox_.Read(sender.delivered.load(), kNotificationsPerRead);
      if (!batch.ok()) {
        core::Log(core::LogLevel::kError, "webhooks: " + batch.status().ToString());
        if (Sleep(kIdleWake)) return;
        continue;
      }
      if (batch->empty()) {
        if (Sleep(kIdleWake)) return;
        continue;
      }
      for (const auto& [number, body] : *batch) {
        if (!Deliver(sender, number, body, jitter)) return;  // stopping
        sender.delivered.store(number);
        core::Status saved = outbox_.SaveDelivered(sender.url.text, number);
        if (!saved.ok()) core::Log(core::LogLevel::kWarn, "webhooks: " + saved.ToString());
      }
    }
  }

  // Posts until the receiver answers 2xx; false when stopping first.
  bool Deliver(Sender& sender, std::uint64_t number, const std::string& body, std::mt19937_64& jitter) {
    auto backoff = options_.first_retry;
    std::string type = json::parse(body).as_object().at("type").as_string().c_str();
    for (int attempt = 1;; ++attempt) {
      std::string timestamp = std::to_string(ledger_.clock().Now());
      auto response = sender.client->Request(
          "POST", sender.url.target, body,
          {{"Content-Type", "application/json"},
           {"User-Agent", "tokenledger-webhooks"},
           {"X-Tokenledger-Event", type},
           {"X-Tokenledger-Delivery", std::to_string(number)},
           {"X-Tokenledger-Timestamp", timestamp},
           {"X-Tokenledger-Signature", WebhookSignature(options_.secret, timestamp, body)}});
      if (response.ok() && response->status >= 200 && response->status < 300) {
        metrics_.CountWebhook(true);
        return true;
      }
      metrics_.CountWebhook(false);
      std::string why = response.ok() ? "answered " + std::to_string(response->status) : response.status().message();
      core::Log(core::LogLevel::kWarn, "webhooks: delivery " + std::to_string(number) + " to " + sender.url.text +
                                           " failed (" + why + "), attempt " + std::to_string(attempt) + "; retrying in " +
                                           std::to_string(backoff.count()) + " ms");
      // Up to a fifth less, so receivers coming back are not hit by every sender at once.
      auto wait = backoff - std::chrono::milliseconds(jitter() % (backoff.count() / 5 + 1));
      {
        std::unique_lock lock(mutex_);
        if (wake_.wait_for(lock, wait, [&] { return stopping_; })) return false;
      }
      backoff = std::min(backoff * 2, options_.max_retry);
    }
  }

  projections::Ledger& ledger_;
  ServerMetrics& metrics_;
  WebhookOptions options_;
  std::vector<WebhookUrl> urls_;
  WebhookOutbox outbox_;
  // Producer thread only (and Begin, before it starts).
  WebhookOutbox::ProducerState state_, saved_;
  std::uint64_t snapshot_seq_ = 0;
  std::uint64_t trimmed_ = 0;
  std::priority_queue<Warning, std::vector<Warning>, std::greater<>> warnings_;

  std::vector<std::unique_ptr<Sender>> senders_;
  std::thread producer_;
  std::shared_ptr<ProducerWake> producer_wake_ = std::make_shared<ProducerWake>();
  std::mutex mutex_;
  std::condition_variable wake_;  // senders: new notifications (generation_), or stop
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
};

Webhooks::Webhooks(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Webhooks::~Webhooks() { Stop(); }
void Webhooks::Stop() {
  if (impl_) impl_->Stop();
}

core::Result<std::unique_ptr<Webhooks>> Webhooks::Start(projections::Ledger& ledger, ServerMetrics& metrics,
                                                        WebhookOptions options) {
  if (options.secret.empty()) return core::Status::InvalidArgument("the webhook secret is empty");
  std::vector<WebhookUrl> urls;
  for (const std::string& text : options.urls) {
    auto url = ParseWebhookUrl(text);
    if (!url.ok()) return url.status();
    if (std::any_of(urls.begin(), urls.end(), [&](const WebhookUrl& u) { return u.text == url->text; }))
      return core::Status::InvalidArgument("--webhook-url " + text + " is given twice");
    urls.push_back(std::move(url).value());
  }
  auto impl = std::make_unique<Impl>(ledger, metrics, std::move(options), std::move(urls));
  core::Status begun = impl->Begin();
  if (!begun.ok()) return begun;
  return std::unique_ptr<Webhooks>(new Webhooks(std::move(impl)));
}

}  // namespace tokenledger::server
