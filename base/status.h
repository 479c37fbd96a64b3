// Status and Result<T>: how every fallible Neuroplex call reports an expected failure.
//
// ErrorCode maps one-to-one onto the wire error codes of DESIGN.md ("INVALID_ARGUMENT", ...), so
// an API codec only ever renders a Status, it never translates one. Broken invariants are not
// Statuses: they assert (asserts stay on in every build type).
//
// Thread safety: value types; no shared state.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace neuroplex {

enum class ErrorCode : unsigned char {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kTypeMismatch,
  kTooLarge,
  kNotLeader,
  kUnavailable,
  kUnauthenticated,
  kPermissionDenied,
  kRateLimited,
  kInternal,
};

// The stable wire name of a code, e.g. "TYPE_MISMATCH".
std::string_view error_code_name(ErrorCode code);
// The inverse for error codes: "NOT_LEADER" -> kNotLeader; nullopt for unknown names and for
// "OK", which is never an error's code. Clients use it to read replies.
std::optional<ErrorCode> error_code_from_name(std::string_view name);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }

  bool is_ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "TYPE_MISMATCH: field 'a' is a counter, not a set"
  std::string to_string() const;

  friend bool operator==(const Status&, const Status&) = default;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string message) {
  return {ErrorCode::kInvalidArgument, std::move(message)};
}
inline Status not_found(std::string message) { return {ErrorCode::kNotFound, std::move(message)}; }
inline Status type_mismatch(std::string message) {
  return {ErrorCode::kTypeMismatch, std::move(message)};
}
inline Status too_large(std::string message) { return {ErrorCode::kTooLarge, std::move(message)}; }
inline Status unavailable(std::string message) {
  return {ErrorCode::kUnavailable, std::move(message)};
}
inline Status internal_error(std::string message) {
  return {ErrorCode::kInternal, std::move(message)};
}

// A value or the Status that explains why there is none. Never holds an OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : state_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(state_).is_ok() && "a Result without a value needs an error");
  }

  bool is_ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(state_);
  }
  T& value() & {
    assert(is_ok());
    return std::get<T>(state_);
  }
  const T& value() const& {
    assert(is_ok());
    return std::get<T>(state_);
  }
  T&& value() && {
    assert(is_ok());
    return std::get<T>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace neuroplex

// Returns early from the enclosing function when `expr` yields a non-OK Status.
#define NPX_RETURN_IF_ERROR(expr)                 \
  do {                                            \
    ::neuroplex::Status npx_status_ = (expr);     \
    if (!npx_status_.is_ok()) return npx_status_; \
  } while (false)
