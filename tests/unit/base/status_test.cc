#include "base/status.h"

#include <gtest/gtest.h>

namespace neuroplex {
namespace {

TEST(ErrorCodeFromName, EveryStableNameRoundTrips) {
  for (ErrorCode code :
       {ErrorCode::kInvalidArgument, ErrorCode::kNotFound, ErrorCode::kTypeMismatch,
        ErrorCode::kTooLarge, ErrorCode::kNotLeader, ErrorCode::kUnavailable,
        ErrorCode::kUnauthenticated, ErrorCode::kPermissionDenied, ErrorCode::kRateLimited,
        ErrorCode::kInternal}) {
    std::optional<ErrorCode> parsed = error_code_from_name(error_code_name(code));
    ASSERT_TRUE(parsed.has_value()) << error_code_name(code);
    EXPECT_EQ(*parsed, code);
  }
  EXPECT_FALSE(error_code_from_name("OK").has_value());  // never an error's code
  EXPECT_FALSE(error_code_from_name("not_found").has_value());
  EXPECT_FALSE(error_code_from_name("").has_value());
}

}  // namespace
}  // namespace neuroplex
