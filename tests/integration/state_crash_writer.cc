// Child process of state_crash_test: applies the deterministic workload to a real RocksDB state
// store as fast as it can, resuming after the store's applied index, until it is killed.
//
//   state_crash_writer <dir> <seed>     (prints "ready" once it starts applying)
#include <cstdio>
#include <cstdlib>
#include <string>

#include "replication/state_machine.h"
#include "storage/state/rocks_kv_store.h"
#include "tests/support/workload.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <dir> <seed>\n", argv[0]);
    return 2;
  }
  using namespace neuroplex;  // NOLINT(google-build-using-namespace)
  // A tiny memtable makes flushes and compactions frequent, so kills land inside them too.
  auto store = storage::RocksKvStore::open(
      argv[1], {.block_cache_size_bytes = 1 << 20, .write_buffer_size_bytes = 64 << 10});
  if (!store.is_ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().to_string().c_str());
    return 1;
  }
  auto machine = replication::StateMachine::open(**store, {});
  if (!machine.is_ok()) {
    std::fprintf(stderr, "state machine: %s\n", machine.status().to_string().c_str());
    return 1;
  }
  // Tell the parent the stream is starting, so it can aim its kill at the writes.
  std::fputs("ready\n", stdout);
  std::fflush(stdout);
  testing::RandomWorkload workload(std::strtoull(argv[2], nullptr, 10));
  for (std::uint64_t index = (*machine)->applied_index() + 1;; ++index) {
    auto result = (*machine)->apply(index, workload.batch(index));
    if (!result.is_ok()) {
      std::fprintf(stderr, "apply %llu: %s\n", static_cast<unsigned long long>(index),
                   result.status().to_string().c_str());
      return 1;
    }
  }
}
