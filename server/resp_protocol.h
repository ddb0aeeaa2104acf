// The Redis-protocol (RESP2) validation port's protocol, apart from the network: parses
// requests with limits and answers them, so any Redis client (redis-cli, redis-benchmark, a
// client library in any language) can validate tokens.
//
// Commands (case-insensitive): PING [msg]; VALIDATE <token> [<namespace>] -> array
// [token_id, namespace, expires_at as integer Unix seconds] or a null bulk string when the
// token is not active (malformed, unknown, revoked, expired, or of another namespace); AUTH
// [user] <validator token> when --validator-token-file is set (every other command but QUIT
// answers -NOAUTH until then); QUIT; and the two probes redis-benchmark sends at start
// (CONFIG GET save|appendonly) and COMMAND (empty answers). Anything else: -ERR unknown command.
//
// Requests are RESP arrays of bulk strings, or inline commands (a line of words, as telnet and
// redis-cli in some modes send). Limits: 8 arguments, 4 KiB per argument and per inline line; a
// request beyond them, or bytes that are not RESP, get "-ERR Protocol error: ..." and the
// connection is closed (as Redis does). Never decodes with cereal; never allocates per request
// once the output buffer has grown.
#pragma once

#include <array>
#include <chrono>
#include <string>
#include <string_view>

#include "projections/ledger.h"
#include "server/access_control.h"
#include "server/metrics.h"

namespace tokenledger::server {

inline constexpr size_t kRespMaxArgs = 8;
inline constexpr size_t kRespMaxArgBytes = 4096;
// The most bytes one complete request can take (array header, bulk headers, arguments).
inline constexpr size_t kRespMaxRequestBytes = 16 + kRespMaxArgs * (kRespMaxArgBytes + 16);

// One connection's protocol state. Not thread-safe; the ledger, access and metrics it refers to
// must outlive it.
class RespInterpreter {
 public:
  RespInterpreter(const projections::Ledger& ledger, const AccessControl& access, ServerMetrics& metrics);

  // Parses and answers every complete request at the start of input, appending the replies to
  // out. Returns the bytes consumed; the rest is the start of an incomplete request (feed it
  // again with more bytes). Stops early once closing().
  size_t Process(std::string_view input, std::string& out);

  // After QUIT or a protocol error: send what is in out, then close the connection.
  bool closing() const { return closing_; }

 private:
  enum class Parse { kComplete, kIncomplete, kError };
  Parse ParseOne(std::string_view input, size_t& consumed, std::string& error);
  void Execute(std::string& out);
  // Answers the batched VALIDATEs, in order.
  void FlushValidations(std::string& out);

  const projections::Ledger& ledger_;
  const AccessControl& access_;
  ServerMetrics& metrics_;
  bool authenticated_;
  // Pipelined VALIDATEs waiting to be looked up together (ActiveTokenIndex::ValidateBatch).
  std::array<projections::ActiveTokenIndex::BatchItem, 32> batch_;
  size_t batch_size_ = 0;
  std::chrono::steady_clock::time_point batch_start_;
  bool closing_ = false;
  std::array<std::string_view, kRespMaxArgs> args_;  // view into the input being processed
  size_t argc_ = 0;
};

}  // namespace tokenledger::server
