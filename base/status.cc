#include "base/status.h"

namespace neuroplex {

std::optional<ErrorCode> error_code_from_name(std::string_view name) {
  for (auto value = static_cast<unsigned char>(ErrorCode::kInvalidArgument);
       value <= static_cast<unsigned char>(ErrorCode::kInternal); ++value) {
    const auto code = static_cast<ErrorCode>(value);
    if (error_code_name(code) == name) return code;
  }
  return std::nullopt;
}

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "OK";
    case ErrorCode::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case ErrorCode::kNotFound:
      return "NOT_FOUND";
    case ErrorCode::kTypeMismatch:
      return "TYPE_MISMATCH";
    case ErrorCode::kTooLarge:
      return "TOO_LARGE";
    case ErrorCode::kNotLeader:
      return "NOT_LEADER";
    case ErrorCode::kUnavailable:
      return "UNAVAILABLE";
    case ErrorCode::kUnauthenticated:
      return "UNAUTHENTICATED";
    case ErrorCode::kPermissionDenied:
      return "PERMISSION_DENIED";
    case ErrorCode::kRateLimited:
      return "RATE_LIMITED";
    case ErrorCode::kInternal:
      return "INTERNAL";
  }
  return "INTERNAL";
}

std::string Status::to_string() const {
  if (is_ok()) return "OK";
  std::string text(error_code_name(code_));
  text += ": ";
  text += message_;
  return text;
}

}  // namespace neuroplex
