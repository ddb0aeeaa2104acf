// Outgoing webhooks (--webhook-url, several allowed): a signed JSON POST to every URL when a
// token is revoked or expires, and when it enters 30, 7 and 1 day(s) before its expiry.
//
// One producer thread follows the ledger (its events, and the expiry times of active tokens)
// and writes numbered notifications to the outbox (server/webhook_outbox.h); one sender thread
// per URL posts them in order, retrying each with exponential backoff until the receiver
// answers 2xx, and records how far it got. A restart resumes from the recorded positions, so a
// delivered notification is not sent again and an undelivered one is sent after the restart:
// each is delivered at least once (twice only if the process dies between a receiver's 2xx and
// saving its position). Receivers dedupe by the delivery id.
//
// Each request: Content-Type application/json, X-Tokenledger-Event (the type),
// X-Tokenledger-Delivery (the notification's number, the same on every retry),
// X-Tokenledger-Timestamp (Unix seconds of this attempt) and X-Tokenledger-Signature:
// "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body). docs/webhooks.md has the bodies.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "projections/ledger.h"
#include "server/metrics.h"

namespace tokenledger::server {

struct WebhookOptions {
  std::vector<std::string> urls;   // http:// or https:// URLs
  std::string secret;              // the HMAC key
  std::string ca_file;             // extra CA certificates (PEM) for https receivers; empty: the system's
  std::chrono::milliseconds timeout{10000};      // per attempt: connect, send, answer
  std::chrono::milliseconds first_retry{1000};   // doubles after each failed attempt ...
  std::chrono::milliseconds max_retry{300000};   // ... up to this
};

// A receiver's address, split for the client.
struct WebhookUrl {
  std::string text;    // as given
  bool tls = false;    // https
  std::string host;    // without brackets for IPv6
  std::string port;    // explicit or the scheme's default
  std::string target;  // path and query, at least "/"
};

// InvalidArgument unless text is an absolute http or https URL with a host and no user info or
// fragment.
core::Result<WebhookUrl> ParseWebhookUrl(std::string_view text);

// "sha256=" + lowercase hex of HMAC-SHA256(secret, timestamp + "." + body).
std::string WebhookSignature(std::string_view secret, std::string_view timestamp, std::string_view body);

class Webhooks {
 public:
  // Checks the URLs and the CA file, loads the outbox positions and starts the threads. On the
  // first start on a data dir, notifications begin with what happens from now on (no backlog
  // of the ledger's past), and a URL never seen before starts at the outbox's end.
  static core::Result<std::unique_ptr<Webhooks>> Start(projections::Ledger& ledger, ServerMetrics& metrics,
                                                       WebhookOptions options);
  ~Webhooks();  // Stop()s
  Webhooks(const Webhooks&) = delete;
  Webhooks& operator=(const Webhooks&) = delete;

  // Stops the threads: an attempt in flight finishes or times out; what is not delivered stays
  // in the outbox for the next start. Idempotent.
  void Stop();

 private:
  class Impl;
  explicit Webhooks(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tokenledger::server
