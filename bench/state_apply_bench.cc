// Apply throughput of the replicated state machine on a real RocksDB store in a temp dir:
// entries of 256 operations (the shape the leader's batching produces), counter, set and map
// workloads, on one thread. Then the encoded size of a set after 1M add/remove operations.
// Every operation rewrites its whole document, so cost grows with document size: "counter",
// "set" (a ~10-member tag set) and "map" (a small agent-state document) are the common shapes;
// "set-large" (~170 members) and "map-large" (48 leaves) show the scaling.
//
//   state_apply_bench [--entries N] [--ops-per-entry 256] [--keys 10000] [--workload
//   all|counter|set|map|set-large|map-large|churn]
//                     [--churn-ops 1000000] [--write-buffer-mb 16]
//
// Target (issue 2): >= 250,000 operations/s applied on one core of the 2-core dev machine.
#include <random>
#include <string>

#include "bench/bench_util.h"
#include "replication/crdt/codec.h"
#include "replication/state_layout.h"
#include "replication/state_machine.h"
#include "storage/state/rocks_kv_store.h"

namespace neuroplex::bench {
namespace {

using replication::Batch;
using replication::UpdateOp;

struct Workload {
  std::string name;
  crdt::Mutation (*mutation)(std::mt19937_64& rng);
};

crdt::Mutation counter_op(std::mt19937_64& rng) {
  return {
      {}, crdt::CrdtType::kCounter, crdt::CounterAdd{static_cast<std::int64_t>(rng() % 10) + 1}};
}

crdt::Mutation set_op_over(std::mt19937_64& rng, std::uint64_t universe,
                           std::vector<std::string> path) {
  std::string member = "\"m" + std::to_string(rng() % universe) + "\"";
  if (rng() % 3 == 0) return {std::move(path), crdt::CrdtType::kSet, crdt::SetRemove{{member}}};
  return {std::move(path), crdt::CrdtType::kSet, crdt::SetAdd{{member}}};
}

// A tag set: about 10 live members of 16.
crdt::Mutation set_op(std::mt19937_64& rng) { return set_op_over(rng, 16, {}); }
// A large set: about 170 live members of 256.
crdt::Mutation set_large_op(std::mt19937_64& rng) { return set_op_over(rng, 256, {}); }

// An agent's state document: {"status": register, "steps": counter, "tags": set,
// "profile": {"city": register}}.
crdt::Mutation map_op(std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0:
      return {{"status"},
              crdt::CrdtType::kRegister,
              crdt::RegisterSet{"{\"phase\":" + std::to_string(rng() % 100) + "}"}};
    case 1:
      return {{"steps"}, crdt::CrdtType::kCounter, crdt::CounterAdd{1}};
    case 2:
      return set_op_over(rng, 8, {"tags"});
    default:
      return {{"profile", "city"},
              crdt::CrdtType::kRegister,
              crdt::RegisterSet{"\"city-" + std::to_string(rng() % 50) + "\""}};
  }
}

// A wide document: 16 sub-maps of {counter, register, set} — 48 leaves.
crdt::Mutation map_large_op(std::mt19937_64& rng) {
  std::string field = std::to_string(rng() % 16);
  field.insert(0, 1, 'f');  // not "f" + ...: GCC 12 warns falsely on that (-Wrestrict, PR 105651)
  switch (rng() % 3) {
    case 0:
      return {{field, "n"}, crdt::CrdtType::kCounter, crdt::CounterAdd{1}};
    case 1:
      return {{field, "v"},
              crdt::CrdtType::kRegister,
              crdt::RegisterSet{"{\"score\":" + std::to_string(rng() % 1000) + "}"}};
    default:
      return {{field, "tags"}, crdt::CrdtType::kSet, crdt::SetAdd{{"\"t\""}}};
  }
}

// The mean stored record size over up to 1000 keys.
double mean_record_bytes(const storage::KvStore& store) {
  std::size_t records = 0;
  std::size_t bytes = 0;
  (void)store.scan(storage::Column::kKv, "", "", [&](std::string_view, std::string_view value) {
    bytes += value.size();
    return ++records < 1000;
  });
  return records == 0 ? 0 : static_cast<double>(bytes) / static_cast<double>(records);
}

std::size_t g_write_buffer_bytes = storage::RocksKvOptions{}.write_buffer_size_bytes;

void run_apply(const Workload& workload, std::uint64_t entries, std::uint64_t ops_per_entry,
               std::uint64_t keys) {
  TempDir dir("apply-" + workload.name);
  auto store =
      storage::RocksKvStore::open(dir.string(), {.write_buffer_size_bytes = g_write_buffer_bytes});
  if (!store.is_ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().to_string().c_str());
    std::exit(1);
  }
  auto machine = replication::StateMachine::open(**store, {});
  std::mt19937_64 rng(42);
  // Batches are built before timing: the benchmark measures apply, not workload generation.
  std::vector<Batch> batches(entries);
  for (std::uint64_t i = 0; i < entries; ++i) {
    batches[i].timestamp_ms = 1'700'000'000'000ULL + i;
    for (std::uint64_t op = 0; op < ops_per_entry; ++op) {
      batches[i].operations.push_back(
          UpdateOp{"bench", "key-" + std::to_string(rng() % keys), {workload.mutation(rng)}});
    }
  }
  Latencies latencies;
  std::uint64_t failed = 0;
  auto start = Clock::now();
  for (std::uint64_t i = 0; i < entries; ++i) {
    auto entry_start = Clock::now();
    auto result = (*machine)->apply(i + 1, batches[i]);
    latencies.add(Clock::now() - entry_start);
    if (!result.is_ok()) {
      std::fprintf(stderr, "apply: %s\n", result.status().to_string().c_str());
      std::exit(1);
    }
    for (const Status& status : result->results) failed += status.is_ok() ? 0 : 1;
  }
  double elapsed = seconds_since(start);
  double ops = static_cast<double>(entries * ops_per_entry);
  std::printf(
      "apply %-9s: ops=%.0f ops_per_sec=%.0f entries_per_sec=%.0f entry_p50_us=%.0f "
      "entry_p99_us=%.0f failed_ops=%llu keys=%llu ops_per_entry=%llu doc_bytes_mean=%.0f\n",
      workload.name.c_str(), ops, ops / elapsed, static_cast<double>(entries) / elapsed,
      latencies.percentile(0.50), latencies.percentile(0.99),
      static_cast<unsigned long long>(failed), static_cast<unsigned long long>(keys),
      static_cast<unsigned long long>(ops_per_entry), mean_record_bytes(**store));
}

// 1M add/remove operations on one set through the state machine: the encoded state must stay
// proportional to the live members, not to the history.
void run_churn(std::uint64_t total_ops) {
  TempDir dir("churn");
  auto store = storage::RocksKvStore::open(dir.string());
  auto machine = replication::StateMachine::open(**store, {});
  std::mt19937_64 rng(7);
  constexpr std::uint64_t kOpsPerEntry = 256;
  std::uint64_t index = 0;
  auto start = Clock::now();
  for (std::uint64_t done = 0; done < total_ops; done += kOpsPerEntry) {
    Batch batch{1'700'000'000'000ULL + index, {}};
    for (std::uint64_t op = 0; op < kOpsPerEntry; ++op) {
      std::string member = "\"member-" + std::to_string(rng() % 1000) + "\"";
      crdt::Mutation mutation{{}, crdt::CrdtType::kSet, crdt::SetAdd{{member}}};
      if (rng() % 2 == 0) mutation.mutator = crdt::SetRemove{{member}};
      batch.operations.push_back(UpdateOp{"bench", "churn", {std::move(mutation)}});
    }
    (void)(*machine)->apply(++index, batch);
  }
  double elapsed = seconds_since(start);
  auto record = (*store)->get(storage::Column::kKv, replication::storage_key("bench", "churn"));
  auto document = replication::decode_record(**record);
  std::size_t live_members = document->view().size();
  std::size_t live_bytes = 0;
  for (const auto& member : document->view()) live_bytes += member.dump().size();
  std::size_t encoded = crdt::encode(*document).size();
  std::printf(
      "churn set : ops=%llu ops_per_sec=%.0f live_members=%zu live_member_bytes=%zu "
      "encoded_state_bytes=%zu bytes_per_live_member=%.1f context_entries=%zu cloud_dots=%zu\n",
      static_cast<unsigned long long>(index * kOpsPerEntry),
      static_cast<double>(index * kOpsPerEntry) / elapsed, live_members, live_bytes, encoded,
      static_cast<double>(encoded) / static_cast<double>(std::max<std::size_t>(live_members, 1)),
      document->context().versions().size(), document->context().cloud().size());
}

}  // namespace
}  // namespace neuroplex::bench

int main(int argc, char** argv) {
  using namespace neuroplex::bench;          // NOLINT(google-build-using-namespace)
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // results survive a crash or a pipe
  std::uint64_t entries = flag(argc, argv, "entries", 2000);
  std::uint64_t ops_per_entry = flag(argc, argv, "ops-per-entry", 256);
  std::uint64_t keys = flag(argc, argv, "keys", 10000);
  std::string which = flag_text(argc, argv, "workload", "all");
  g_write_buffer_bytes = flag(argc, argv, "write-buffer-mb", g_write_buffer_bytes >> 20) << 20;
  const Workload workloads[] = {{"counter", counter_op},
                                {"set", set_op},
                                {"map", map_op},
                                {"set-large", set_large_op},
                                {"map-large", map_large_op}};
  for (const Workload& workload : workloads) {
    if (which == "all" || which == workload.name) run_apply(workload, entries, ops_per_entry, keys);
  }
  std::uint64_t churn_ops = flag(argc, argv, "churn-ops", 1'000'000);
  if ((which == "all" || which == "churn") && churn_ops > 0) run_churn(churn_ops);
  return 0;
}
