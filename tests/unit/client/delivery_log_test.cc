#include <gtest/gtest.h>

#include "api/client/watcher.h"

namespace neuroplex::client {
namespace {

WatchEvent event(std::uint64_t index, std::string key, bool resync = false) {
  return WatchEvent{.index = index, .ns = "s", .key = std::move(key), .resync = resync};
}

TEST(DeliveryLog, ResumesAtTheLastIndexDelivered) {
  DeliveryLog log;
  EXPECT_FALSE(log.resume_index().has_value());
  EXPECT_FALSE(log.skip_or_record(event(5, "a")));
  EXPECT_FALSE(log.skip_or_record(event(5, "b")));
  EXPECT_EQ(log.resume_index(), 5u);
  EXPECT_FALSE(log.skip_or_record(event(6, "c")));
  EXPECT_EQ(log.resume_index(), 6u);
}

TEST(DeliveryLog, AResumeSkipsWhatWasDeliveredOfThatIndexAndNothingElse) {
  DeliveryLog log;
  EXPECT_FALSE(log.skip_or_record(event(6, "a")));
  EXPECT_FALSE(log.skip_or_record(event(6, "b")));
  // The connection broke before (6, "c") arrived; the node resends index 6 from the start.
  log.start_replay();
  EXPECT_TRUE(log.skip_or_record(event(6, "a")));
  EXPECT_TRUE(log.skip_or_record(event(6, "b")));
  EXPECT_FALSE(log.skip_or_record(event(6, "c")));
  EXPECT_FALSE(log.skip_or_record(event(7, "a")));
  EXPECT_TRUE(log.skip_or_record(event(6, "a")));  // older than what was delivered
}

TEST(DeliveryLog, RepeatsOfOneKeyInOneIndexAreCounted) {
  DeliveryLog log;
  EXPECT_FALSE(log.skip_or_record(event(3, "k")));
  EXPECT_FALSE(log.skip_or_record(event(3, "k")));  // without a resume, nothing is skipped
  log.start_replay();
  EXPECT_TRUE(log.skip_or_record(event(3, "k")));
  EXPECT_TRUE(log.skip_or_record(event(3, "k")));
  EXPECT_FALSE(log.skip_or_record(event(3, "k")));  // a third one is new
}

TEST(DeliveryLog, ResyncEventsAreAlwaysDelivered) {
  DeliveryLog log;
  EXPECT_FALSE(log.skip_or_record(event(9, "a")));
  log.start_replay();
  EXPECT_FALSE(log.skip_or_record(event(4, "a", /*resync=*/true)));
  EXPECT_FALSE(log.skip_or_record(event(9, "a", /*resync=*/true)));
  EXPECT_EQ(log.resume_index(), 9u);
}

TEST(DeliveryLog, ASecondResumeBeforeNewEventsSkipsTheSameEvents) {
  DeliveryLog log;
  EXPECT_FALSE(log.skip_or_record(event(2, "a")));
  log.start_replay();
  log.start_replay();  // the first resume failed before any event arrived
  EXPECT_TRUE(log.skip_or_record(event(2, "a")));
  EXPECT_FALSE(log.skip_or_record(event(2, "b")));
  log.start_replay();  // broke again after (2, "b")
  EXPECT_TRUE(log.skip_or_record(event(2, "a")));
  EXPECT_TRUE(log.skip_or_record(event(2, "b")));
}

}  // namespace
}  // namespace neuroplex::client
