// Child process of snapshot_crash_test: receives and installs snapshots into a state root, one
// after another, as fast as it can, until it is killed. Each install is a full transfer: the
// prepared snapshot directory is streamed chunk by chunk through SnapshotReader into a
// SnapshotReceiver staging in the root, then installed; the store of the current state is open
// during the transfer (as in a node) and closed before the install.
//
//   snapshot_crash_worker <state-root> <snapshots-dir> <snapshot-count> <seed>
//
// Generation g (g >= 2) installs <snapshots-dir>/snap-<(g + seed) % count>; the test computes the
// same. Reports, one line each, written straight to stdout (a pipe) before the step they name:
//   start | open <g> | receive <g> | install <g> | installed <g> (after install() returned)
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "storage/snapshot/reader.h"
#include "storage/snapshot/receiver.h"
#include "storage/snapshot/state_root.h"
#include "storage/state/rocks_kv_store.h"

namespace {

using namespace neuroplex;  // NOLINT(google-build-using-namespace)

constexpr std::size_t kChunkSizeBytes = 16 << 10;

void report(const std::string& line) {
  std::string text = line + "\n";
  // One write(2) per line: the parent sees every report the child made before it was killed.
  if (::write(STDOUT_FILENO, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    std::_Exit(3);
  }
}

[[noreturn]] void die(const std::string& what, const Status& status) {
  std::fprintf(stderr, "snapshot_crash_worker: %s: %s\n", what.c_str(), status.to_string().c_str());
  std::_Exit(1);
}

void transfer(const std::string& source, const std::string& staging) {
  auto reader = snapshot::SnapshotReader::open(source, kChunkSizeBytes);
  if (!reader.is_ok()) die("open " + source, reader.status());
  auto receiver = snapshot::SnapshotReceiver::start(staging, (*reader)->manifest().meta);
  if (!receiver.is_ok()) die("start receiver", receiver.status());
  for (;;) {
    auto chunk = (*reader)->next();
    if (!chunk.is_ok()) die("read chunk", chunk.status());
    if (!chunk->has_value()) break;
    Status accepted = (*receiver)->accept(**chunk);
    if (!accepted.is_ok()) die("accept chunk", accepted);
  }
  auto finished = (*receiver)->finish();
  if (!finished.is_ok()) die("finish", finished.status());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s <state-root> <snapshots-dir> <snapshot-count> <seed>\n",
                 argv[0]);
    return 2;
  }
  const std::string root = argv[1];
  const std::string snapshots = argv[2];
  const std::uint64_t count = std::strtoull(argv[3], nullptr, 10);
  const std::uint64_t seed = std::strtoull(argv[4], nullptr, 10);
  if (count == 0) return 2;
  report("start");
  auto state = snapshot::open_current(root);  // removes the leftovers of the previous kill
  if (!state.is_ok()) die("open_current", state.status());
  std::uint64_t generation = state->generation;
  std::string path = state->path;
  for (;;) {
    const std::uint64_t next = generation + 1;
    std::string staging = snapshot::staging_path(root, std::to_string(next));
    {  // the current store stays open during the transfer and is closed before the install
      report("open " + std::to_string(generation));
      auto store = storage::RocksKvStore::open(
          path, {.block_cache_size_bytes = 1 << 20, .write_buffer_size_bytes = 64 << 10});
      if (!store.is_ok()) die("open store " + path, store.status());
      report("receive " + std::to_string(next));
      transfer(snapshots + "/snap-" + std::to_string((next + seed) % count), staging);
    }
    report("install " + std::to_string(next));
    auto installed = snapshot::install(root, staging);
    if (!installed.is_ok()) die("install", installed.status());
    if (installed->generation != next) return 4;
    report("installed " + std::to_string(next));
    generation = installed->generation;
    path = installed->path;
  }
}
