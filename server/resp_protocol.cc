#include "server/resp_protocol.h"

#include <boost/beast/core/string.hpp>
#include <charconv>
#include <chrono>

namespace tokenledger::server {
namespace {

void AppendBulk(std::string& out, std::string_view s) {
  char len[24];
  auto [end, ec] = std::to_chars(len, len + sizeof len, s.size());
  out.append("$").append(len, end).append("\r\n").append(s).append("\r\n");
}

void AppendInteger(std::string& out, std::int64_t v) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
  out.append(":").append(digits, end).append("\r\n");
}

// An error message must be one line: anything from a client that is echoed is cut and cleaned.
void AppendEchoed(std::string& out, std::string_view s) {
  for (char c : s.substr(0, 64)) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
}

// Parses the decimal length of a "*N\r\n" or "$N\r\n" header at input[0]. kIncomplete until the
// CRLF arrives (a header is at most 20 bytes).
enum class Header { kOk, kIncomplete, kBad };
Header ParseLength(std::string_view input, long long& value, size_t& header_bytes) {
  size_t crlf = input.find("\r\n");
  if (crlf == std::string_view::npos) return input.size() > 20 ? Header::kBad : Header::kIncomplete;
  auto [p, ec] = std::from_chars(input.data() + 1, input.data() + crlf, value);
  if (ec != std::errc() || p != input.data() + crlf) return Header::kBad;
  header_bytes = crlf + 2;
  return Header::kOk;
}

}  // namespace

RespInterpreter::RespInterpreter(const projections::Ledger& ledger, const AccessControl& access,
                                 ServerMetrics& metrics)
    : ledger_(ledger), access_(access), metrics_(metrics), authenticated_(!access.validator_required()) {}

size_t RespInterpreter::Process(std::string_view input, std::string& out) {
  size_t total = 0;
  std::string error;
  while (!closing_ && total < input.size()) {
    size_t consumed = 0;
    Parse p = ParseOne(input.substr(total), consumed, error);
    if (p == Parse::kIncomplete) break;
    total += consumed;
    if (p == Parse::kError) {
      FlushValidations(out);
      out.append("-ERR Protocol error: ").append(error).append("\r\n");
      closing_ = true;
      break;
    }
    if (argc_ == 0) continue;
    // Pipelined VALIDATEs are looked up together (their arguments view input, which outlives
    // this call); any other command answers after them, so replies stay in order.
    if (authenticated_ && (argc_ == 2 || argc_ == 3) && boost::beast::iequals(args_[0], "validate")) {
      if (batch_size_ == 0) batch_start_ = std::chrono::steady_clock::now();
      auto& item = batch_[batch_size_++];
      item.secret = args_[1];
      item.required_namespace = argc_ == 3 ? std::optional<std::string_view>(args_[2]) : std::nullopt;
      if (batch_size_ == batch_.size()) FlushValidations(out);
      continue;
    }
    FlushValidations(out);
    Execute(out);
  }
  FlushValidations(out);
  return total;
}

void RespInterpreter::FlushValidations(std::string& out) {
  if (batch_size_ == 0) return;
  ledger_.ValidateBatch(batch_.data(), batch_size_);
  for (size_t i = 0; i < batch_size_; ++i) {
    const auto& item = batch_[i];
    if (item.result == projections::Validity::kActive) {
      out.append("*3\r\n");
      AppendBulk(out, item.token.token_id());
      AppendBulk(out, item.token.namespace_id);
      AppendInteger(out, item.token.expires_at);
    } else {
      out.append("$-1\r\n");
    }
  }
  // A batch's validations share its time equally.
  auto per_validation = (std::chrono::steady_clock::now() - batch_start_) / batch_size_;
  for (size_t i = 0; i < batch_size_; ++i) metrics_.CountValidation(Protocol::kResp, batch_[i].result, per_validation);
  batch_size_ = 0;
}

RespInterpreter::Parse RespInterpreter::ParseOne(std::string_view input, size_t& consumed, std::string& error) {
  argc_ = 0;
  if (input[0] != '*') {
    // Inline command: words separated by spaces up to LF (CR optional).
    size_t lf = input.find('\n');
    if (lf == std::string_view::npos) {
      if (input.size() > kRespMaxArgBytes) {
        error = "too big inline request";
        return Parse::kError;
      }
      return Parse::kIncomplete;
    }
    if (lf > kRespMaxArgBytes) {
      error = "too big inline request";
      return Parse::kError;
    }
    std::string_view line = input.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    consumed = lf + 1;
    while (!line.empty()) {
      size_t start = line.find_first_not_of(" \t");
      if (start == std::string_view::npos) break;
      line.remove_prefix(start);
      size_t end = std::min(line.find_first_of(" \t"), line.size());
      if (argc_ == kRespMaxArgs) {
        error = "too many arguments";
        return Parse::kError;
      }
      args_[argc_++] = line.substr(0, end);
      line.remove_prefix(end);
    }
    return Parse::kComplete;  // an empty line is skipped, as Redis does
  }
  long long count = 0;
  size_t pos = 0;
  switch (ParseLength(input, count, pos)) {
    case Header::kIncomplete: return Parse::kIncomplete;
    case Header::kBad: error = "invalid multibulk length"; return Parse::kError;
    case Header::kOk: break;
  }
  if (count > static_cast<long long>(kRespMaxArgs)) {
    error = "too many arguments (at most 8)";
    return Parse::kError;
  }
  for (long long i = 0; i < count; ++i) {
    if (pos >= input.size()) return Parse::kIncomplete;
    if (input[pos] != '$') {
      error = "expected '$', got '";
      AppendEchoed(error, input.substr(pos, 1));
      error += "'";
      return Parse::kError;
    }
    long long length = 0;
    size_t header = 0;
    switch (ParseLength(input.substr(pos), length, header)) {
      case Header::kIncomplete: return Parse::kIncomplete;
      case Header::kBad: error = "invalid bulk length"; return Parse::kError;
      case Header::kOk: break;
    }
    if (length < 0 || length > static_cast<long long>(kRespMaxArgBytes)) {
      error = "invalid bulk length (at most 4096 bytes)";
      return Parse::kError;
    }
    pos += header;
    auto n = static_cast<size_t>(length);
    if (input.size() < pos + n + 2) return Parse::kIncomplete;
    if (input.substr(pos + n, 2) != "\r\n") {
      error = "bulk string not terminated by CRLF";
      return Parse::kError;
    }
    args_[argc_++] = input.substr(pos, n);
    pos += n + 2;
  }
  consumed = pos;  // "*0" and "*-1" are complete requests with no command, ignored
  return Parse::kComplete;
}

void RespInterpreter::Execute(std::string& out) {
  std::string_view command = args_[0];
  if (boost::beast::iequals(command, "quit")) {
    out.append("+OK\r\n");
    closing_ = true;
    return;
  }
  if (boost::beast::iequals(command, "auth")) {
    if (argc_ != 2 && argc_ != 3) {
      out.append("-ERR wrong number of arguments for 'auth' command\r\n");
    } else if (!access_.validator_required()) {
      out.append("-ERR AUTH called without a validator token configured (--validator-token-file)\r\n");
    } else if (access_.MayValidate(args_[argc_ - 1])) {
      authenticated_ = true;
      out.append("+OK\r\n");
    } else {
      out.append("-WRONGPASS invalid validator token\r\n");
    }
    return;
  }
  if (!authenticated_) {
    out.append("-NOAUTH Authentication required.\r\n");
    return;
  }
  if (boost::beast::iequals(command, "validate")) {
    // Well-formed VALIDATEs never get here: Process batches them.
    out.append("-ERR wrong number of arguments for 'validate' command\r\n");
    return;
  }
  if (boost::beast::iequals(command, "ping")) {
    if (argc_ == 1) out.append("+PONG\r\n");
    else if (argc_ == 2) AppendBulk(out, args_[1]);
    else out.append("-ERR wrong number of arguments for 'ping' command\r\n");
    return;
  }
  if (boost::beast::iequals(command, "config") && argc_ == 3 && boost::beast::iequals(args_[1], "get")) {
    // redis-benchmark reads "save" and "appendonly" at start; nothing here is configurable.
    if (boost::beast::iequals(args_[2], "save") || boost::beast::iequals(args_[2], "appendonly")) {
      out.append("*2\r\n");
      AppendBulk(out, args_[2]);
      AppendBulk(out, "");
    } else {
      out.append("*0\r\n");
    }
    return;
  }
  if (boost::beast::iequals(command, "command")) {
    out.append("*0\r\n");  // redis-cli asks for command docs; it works without them
    return;
  }
  out.append("-ERR unknown command '");
  AppendEchoed(out, command);
  out.append("', this port answers PING, VALIDATE, AUTH and QUIT\r\n");
}

}  // namespace tokenledger::server
