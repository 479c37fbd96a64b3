// The log as the Raft core's durable half: every Ready is persisted through wal::Log before
// on_persisted(), the node compacts through a snapshot record, and a node restarted from
// Log::durable_state() re-applies exactly the committed entries it had, then keeps going.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "raft/raft.h"
#include "storage/log/log.h"

namespace neuroplex::wal {
namespace {

using raft::Index;

struct Node {
  std::unique_ptr<Log> log;
  std::unique_ptr<raft::Raft> raft;
  std::map<Index, std::string> applied;  // index -> data of applied normal entries
  Index applied_index = 0;

  // Persists and applies everything the core has to give.
  void drain() {
    while (raft->has_ready()) {
      raft::Ready ready = raft->ready();
      if (ready.persist_id != 0) {
        Status status = log->append_and_wait(
            {ready.entries, ready.hard_state, ready.snapshot, ready.must_sync});
        ASSERT_TRUE(status.is_ok()) << status.to_string();
        raft->on_persisted(ready.persist_id);
      }
      for (const raft::Entry& entry : ready.committed) {
        ASSERT_EQ(entry.index, applied_index + 1);
        applied_index = entry.index;
        if (entry.type == raft::EntryType::kNormal && !entry.data.empty()) {
          applied[entry.index] = entry.data;
        }
      }
    }
  }

  void become_leader() {
    for (int tick = 0; tick < 100 && raft->status().role != raft::Role::kLeader; ++tick) {
      raft->tick();
      drain();
    }
    ASSERT_EQ(raft->status().role, raft::Role::kLeader);
  }

  void propose(int count, int first_number) {
    for (int i = 0; i < count; ++i) {
      ASSERT_TRUE(
          raft->propose("op-" + std::to_string(first_number + i) + std::string(400, '.')).is_ok());
      if (i % 7 == 0) drain();
    }
    drain();
  }
};

raft::Config config() {
  raft::Config config;
  config.id = 1;
  config.random_seed = 42;
  return config;
}

class LogRaftRestart : public ::testing::TestWithParam<IoEngineKind> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("npx-log-raft-" + std::to_string(::getpid()) + "-" +
            std::string(io_engine_name(GetParam())));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Log> open_log() {
    LogOptions options;
    options.dir = dir_.string();
    options.segment_bytes = 64 * 1024;
    options.engine = GetParam();
    auto log = Log::open(options);
    EXPECT_TRUE(log.is_ok()) << log.status().to_string();
    return log.is_ok() ? std::move(log).value() : nullptr;
  }

  std::filesystem::path dir_;
};

TEST_P(LogRaftRestart, RestartedNodeReappliesExactlyWhatWasCommittedAndContinues) {
  Node first;
  first.log = open_log();
  ASSERT_NE(first.log, nullptr);
  raft::Membership membership{{raft::Member{1, true, "127.0.0.1:7400"}}};
  // A founder writes its bootstrap state before starting the core (the core never emits it).
  raft::DurableState founder = raft::bootstrap(membership);
  ASSERT_TRUE(first.log->append_and_wait({founder.entries, founder.hard_state, std::nullopt, true})
                  .is_ok());
  first.raft = std::make_unique<raft::Raft>(config(), std::move(founder));
  first.become_leader();
  first.propose(300, 0);

  // Compact through a snapshot record at the applied index, as the node does after a state
  // snapshot, then write more so the log spans segments on both sides of it.
  const Index snapshot_index = first.applied_index - 50;
  auto entry = first.log->entries(snapshot_index, snapshot_index + 1);
  ASSERT_TRUE(entry.is_ok()) << entry.status().to_string();
  raft::SnapshotMeta meta{snapshot_index, entry->front().term, membership};
  ASSERT_TRUE(first.log->append_and_wait({{}, std::nullopt, meta, true}).is_ok());
  first.raft->on_snapshot(snapshot_index, 0);
  first.propose(200, 300);
  const raft::RaftStatus before = first.raft->status();
  EXPECT_GT(first.log->stats().segments_deleted, 0u);
  first.raft.reset();
  first.log.reset();

  // Restart: the state machine had applied up to the snapshot (its own durable applied index).
  Node second;
  second.log = open_log();
  ASSERT_NE(second.log, nullptr);
  raft::DurableState state = second.log->durable_state();
  EXPECT_EQ(state.snapshot, meta);
  EXPECT_EQ(state.hard_state.term, before.term);
  EXPECT_EQ(state.hard_state.commit, before.commit);
  EXPECT_EQ(state.entries.back().index, before.last_index);
  state.applied = snapshot_index;
  second.applied_index = snapshot_index;
  second.raft = std::make_unique<raft::Raft>(config(), std::move(state));
  second.become_leader();

  // Everything after the snapshot that was applied before is applied again, identically.
  for (const auto& [index, data] : first.applied) {
    if (index > snapshot_index) {
      EXPECT_EQ(second.applied.at(index), data) << index;
    }
  }
  second.propose(100, 500);
  EXPECT_EQ(second.raft->status().last_index, second.applied_index);
  EXPECT_GT(second.raft->status().term, before.term);
  EXPECT_TRUE(second.log->health().is_ok());
}

INSTANTIATE_TEST_SUITE_P(Engines, LogRaftRestart,
                         ::testing::Values(IoEngineKind::kUring, IoEngineKind::kSync),
                         [](const auto& test) { return std::string(io_engine_name(test.param)); });

}  // namespace
}  // namespace neuroplex::wal
