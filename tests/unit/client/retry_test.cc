#include "api/client/retry.h"

#include <gtest/gtest.h>

#include <random>

namespace neuroplex::client {
namespace {

using std::chrono::milliseconds;

TEST(ClassifyReply, NotLeaderIsFollowedOnlyWithAnAddressAndWhenAllowed) {
  EXPECT_EQ(classify_reply(ErrorCode::kNotLeader, true, true), RetryAction::kFollowLeader);
  EXPECT_EQ(classify_reply(ErrorCode::kNotLeader, false, true), RetryAction::kRetryElsewhere);
  EXPECT_EQ(classify_reply(ErrorCode::kNotLeader, true, false), RetryAction::kReturn);
  EXPECT_EQ(classify_reply(ErrorCode::kNotLeader, false, false), RetryAction::kReturn);
}

TEST(ClassifyReply, UnavailableAndRateLimitedAreRetried) {
  EXPECT_EQ(classify_reply(ErrorCode::kUnavailable, false, true), RetryAction::kRetryElsewhere);
  EXPECT_EQ(classify_reply(ErrorCode::kUnavailable, false, false), RetryAction::kRetryElsewhere);
  EXPECT_EQ(classify_reply(ErrorCode::kRateLimited, false, true), RetryAction::kRetrySame);
}

TEST(ClassifyReply, AnswersAboutTheRequestAreReturnedAtOnce) {
  for (ErrorCode code :
       {ErrorCode::kInvalidArgument, ErrorCode::kNotFound, ErrorCode::kTypeMismatch,
        ErrorCode::kTooLarge, ErrorCode::kUnauthenticated, ErrorCode::kPermissionDenied,
        ErrorCode::kInternal}) {
    EXPECT_EQ(classify_reply(code, true, true), RetryAction::kReturn) << error_code_name(code);
  }
}

TEST(ClassifyTransport, BrokenConnectionsAreRetriedServerBugsAreNot) {
  EXPECT_EQ(classify_transport(TransportFailure::kConnect), RetryAction::kRetryElsewhere);
  EXPECT_EQ(classify_transport(TransportFailure::kDisconnected), RetryAction::kRetryElsewhere);
  EXPECT_EQ(classify_transport(TransportFailure::kOverloaded), RetryAction::kRetryElsewhere);
  EXPECT_EQ(classify_transport(TransportFailure::kFailed), RetryAction::kReturn);
  EXPECT_EQ(transport_error_code(TransportFailure::kFailed), ErrorCode::kInternal);
  EXPECT_EQ(transport_error_code(TransportFailure::kConnect), ErrorCode::kUnavailable);
  EXPECT_EQ(transport_error_code(TransportFailure::kDisconnected), ErrorCode::kUnavailable);
}

TEST(Backoff, DelaysDoubleWithinJitterBoundsUpToTheCap) {
  // With random 0 each delay is the low end (d/2); with all ones it is the high end (d).
  Backoff low(milliseconds(20), milliseconds(500));
  Backoff high(milliseconds(20), milliseconds(500));
  const std::int64_t ceilings[] = {20, 40, 80, 160, 320, 500, 500, 500};
  for (std::int64_t ceiling : ceilings) {
    EXPECT_EQ(low.next(0).count(), ceiling / 2);
    EXPECT_EQ(high.next(static_cast<std::uint64_t>(ceiling - ceiling / 2)).count(), ceiling);
  }
}

TEST(Backoff, RandomDelaysStayInsideTheJitterWindow) {
  std::mt19937_64 random(42);
  Backoff backoff(milliseconds(20), milliseconds(500));
  std::int64_t ceiling = 20;
  for (int i = 0; i < 1000; ++i) {
    std::int64_t delay = backoff.next(random()).count();
    EXPECT_GE(delay, ceiling / 2);
    EXPECT_LE(delay, ceiling);
    ceiling = std::min<std::int64_t>(ceiling * 2, 500);
  }
}

TEST(Backoff, ResetStartsOverFromTheInitialDelay) {
  Backoff backoff(milliseconds(20), milliseconds(500));
  for (int i = 0; i < 10; ++i) (void)backoff.next(0);
  EXPECT_EQ(backoff.next(0).count(), 250);
  backoff.reset();
  EXPECT_EQ(backoff.next(0).count(), 10);
}

TEST(Backoff, DegenerateBoundsAreClamped) {
  Backoff zero(milliseconds(0), milliseconds(0));
  EXPECT_GE(zero.next(0).count(), 0);
  EXPECT_LE(zero.next(~std::uint64_t{0}).count(), 1);
  Backoff inverted(milliseconds(100), milliseconds(10));  // max below initial: max = initial
  EXPECT_EQ(inverted.next(0).count(), 50);
  EXPECT_EQ(inverted.next(0).count(), 50);
}

}  // namespace
}  // namespace neuroplex::client
