#include "node/watch_hub.h"

#include <gtest/gtest.h>

#include <map>

namespace neuroplex::node {
namespace {

// Records what the hub delivers.
class RecordingSink final : public WatchSink {
 public:
  explicit RecordingSink(std::vector<WatchEvent>& events, bool* closed = nullptr)
      : events_(events), closed_(closed) {}
  bool deliver(std::vector<WatchEvent> events) override {
    for (WatchEvent& event : events) events_.push_back(std::move(event));
    return true;
  }
  void close(Status) override {
    if (closed_ != nullptr) *closed_ = true;
  }

 private:
  std::vector<WatchEvent>& events_;
  bool* closed_;
};

// A tiny document world standing in for the state store: ns/key -> value.
struct World {
  std::map<std::pair<std::string, std::string>, nlohmann::json> documents;

  DocumentReader reader() {
    return [this](const std::string& ns, const std::string& key, nlohmann::json& value) {
      auto it = documents.find({ns, key});
      if (it == documents.end()) return false;
      value = it->second;
      return true;
    };
  }
  KeyLister lister() {
    return [this](const std::string& ns, const std::string& prefix) {
      std::vector<std::string> keys;
      for (const auto& [doc, value] : documents) {
        if (doc.first == ns && doc.second.rfind(prefix, 0) == 0) keys.push_back(doc.second);
      }
      return keys;
    };
  }
  void set(std::uint64_t index, WatchHub& hub, const std::string& ns, const std::string& key,
           std::optional<int> value) {
    if (value) {
      documents[{ns, key}] = *value;
    } else {
      documents.erase({ns, key});
    }
    hub.changed(index, {replication::Change{ns, key, value.has_value()}}, reader());
  }
};

TEST(WatchHub, DeliversMatchingChangesWithTheirValues) {
  World world;
  WatchHub hub;
  hub.reset(0, world.reader(), world.lister());
  std::vector<WatchEvent> events;
  hub.add(1, WatchSpec{.ns = "s", .prefix = "a"}, std::make_unique<RecordingSink>(events), 0,
          world.reader(), world.lister());
  world.set(1, hub, "s", "apple", 1);
  world.set(2, hub, "s", "banana", 2);   // other prefix
  world.set(3, hub, "t", "avocado", 3);  // other namespace
  world.set(4, hub, "s", "apple", std::nullopt);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].index, 1u);
  EXPECT_EQ(events[0].key, "apple");
  EXPECT_TRUE(events[0].exists);
  EXPECT_EQ(events[0].value, 1);
  EXPECT_EQ(events[1].index, 4u);
  EXPECT_FALSE(events[1].exists);
}

TEST(WatchHub, ResumeWithinHistoryReplaysEachChangedKeyOnceInIndexOrder) {
  World world;
  WatchHub hub;
  hub.reset(0, world.reader(), world.lister());
  world.set(1, hub, "s", "a", 1);
  world.set(2, hub, "s", "b", 2);
  world.set(3, hub, "s", "a", 3);
  std::vector<WatchEvent> events;
  hub.add(1, WatchSpec{.ns = "s", .prefix = "", .from_index = 2},
          std::make_unique<RecordingSink>(events), 3, world.reader(), world.lister());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].key, "b");
  EXPECT_EQ(events[0].index, 2u);
  EXPECT_EQ(events[1].key, "a");
  EXPECT_EQ(events[1].index, 3u);
  EXPECT_EQ(events[1].value, 3);
  EXPECT_FALSE(events[1].resync);
}

TEST(WatchHub, ResumeBeforeHistoryGetsAResyncOfEveryLiveDocument) {
  World world;
  world.documents[{"s", "x"}] = 10;
  world.documents[{"s", "y"}] = 20;
  WatchHub hub;
  hub.reset(50, world.reader(), world.lister());  // a restart at applied index 50
  std::vector<WatchEvent> events;
  hub.add(1, WatchSpec{.ns = "s", .prefix = "", .from_index = 7},
          std::make_unique<RecordingSink>(events), 50, world.reader(), world.lister());
  ASSERT_EQ(events.size(), 3u);
  for (const WatchEvent& event : events) {
    EXPECT_TRUE(event.resync);
    EXPECT_EQ(event.index, 50u);
  }
  EXPECT_EQ(events[0].value, 10);
  EXPECT_EQ(events[1].value, 20);
  // The marker: whatever the resync did not resend is gone.
  EXPECT_FALSE(events[0].resync_end);
  EXPECT_TRUE(events[2].resync_end);
  EXPECT_TRUE(events[2].key.empty());
}

TEST(WatchHub, AResyncOfAnEmptyNamespaceIsTheMarkerAlone) {
  // A watcher that resumes after every document it knew was deleted must still hear of it.
  World world;
  WatchHub hub;
  hub.reset(50, world.reader(), world.lister());
  std::vector<WatchEvent> events;
  hub.add(1, WatchSpec{.ns = "s", .prefix = "", .from_index = 7},
          std::make_unique<RecordingSink>(events), 50, world.reader(), world.lister());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].resync_end);
  EXPECT_EQ(events[0].ns, "s");
  EXPECT_EQ(events[0].index, 50u);
}

TEST(WatchHub, RemovedAndClosedWatchesGetNothingMore) {
  World world;
  WatchHub hub;
  hub.reset(0, world.reader(), world.lister());
  std::vector<WatchEvent> first;
  std::vector<WatchEvent> second;
  bool closed = false;
  hub.add(1, WatchSpec{.ns = "s"}, std::make_unique<RecordingSink>(first), 0, world.reader(),
          world.lister());
  hub.add(2, WatchSpec{.ns = "s"}, std::make_unique<RecordingSink>(second, &closed), 0,
          world.reader(), world.lister());
  hub.remove(1);
  world.set(1, hub, "s", "k", 1);
  EXPECT_TRUE(first.empty());
  EXPECT_EQ(second.size(), 1u);
  hub.close_all(unavailable("stopping"));
  EXPECT_TRUE(closed);
  EXPECT_EQ(hub.size(), 0u);
}

}  // namespace
}  // namespace neuroplex::node
