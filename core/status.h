// Status and Result<T>: the one error type that crosses module boundaries.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tokenledger::core {

enum class StatusCode {
  kOk,
  kInvalidArgument,   // the caller's input is wrong; maps to 400
  kOutOfRange,        // well-formed but outside what is allowed (an expiry too late); 400
  kNotFound,          // maps to 404
  kConflict,          // the state forbids it (already revoked); maps to 409
  kUnauthenticated,   // maps to 401
  kUnavailable,       // the service refuses for now (failed store, shutting down); 503
  kResourceExhausted, // too much work queued: retry shortly; 503 with Retry-After
  kIoError,           // the disk or the OS failed
  kCorruption,        // stored bytes are not what was written
  kInternal,          // a bug or an impossible state
};

// Names the code in snake_case ("invalid_argument"); used in error bodies and logs.
std::string_view StatusCodeName(StatusCode code);

// Prints the snake_case name (for test diagnostics and logs).
std::ostream& operator<<(std::ostream& out, StatusCode code);

// The outcome of an operation: ok, or a code with a human-readable message.
// A value type, cheap to move; safe to share between threads once built.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_argument: name must not be empty", or "ok".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a T or a non-ok Status. Accessing value() of an error is a bug (checked by assert).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : data_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T& value() & { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  // The error; Status::Ok() when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(data_); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace tokenledger::core
