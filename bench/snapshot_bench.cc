// State snapshot throughput on a real RocksDB store in a temp dir: create (checkpoint + file
// CRCs + fsyncs), stream (SnapshotReader -> SnapshotReceiver in one process: read, CRC, write,
// fsync; no network), and install (verify every file's CRC, fsync, rename, flip CURRENT). Values
// are random bytes, so the store's size on disk is about --mb. Files are in the page cache when
// they are read again: the numbers are CPU (CRC-32C) and fsync bound, not disk-read bound.
//
//   snapshot_bench [--mb 256] [--value-bytes 4096] [--chunk-kb 1024]
//
// Prints one line per step with bytes, MB/s and, for the stream, p50/p99 per-chunk latency
// (reader.next() + receiver.accept()).
#include <cstring>
#include <random>
#include <string>

#include "bench/bench_util.h"
#include "storage/snapshot/create.h"
#include "storage/snapshot/reader.h"
#include "storage/snapshot/receiver.h"
#include "storage/snapshot/state_root.h"
#include "storage/state/rocks_kv_store.h"

namespace neuroplex::bench {
namespace {

[[noreturn]] void die(const char* what, const Status& status) {
  std::fprintf(stderr, "%s: %s\n", what, status.to_string().c_str());
  std::exit(1);
}

void check(const char* what, const Status& status) {
  if (!status.is_ok()) die(what, status);
}

double mb_per_s(std::uint64_t bytes, double seconds) {
  return static_cast<double>(bytes) / (1 << 20) / seconds;
}

void fill(storage::RocksKvStore& store, std::uint64_t total_bytes, std::uint64_t value_bytes) {
  std::mt19937_64 rng(42);
  std::string value(value_bytes, '\0');
  storage::WriteBatch batch;
  auto start = Clock::now();
  std::uint64_t keys = total_bytes / value_bytes;
  for (std::uint64_t i = 0; i < keys; ++i) {
    for (std::size_t at = 0; at + 8 <= value.size(); at += 8) {
      std::uint64_t word = rng();
      std::memcpy(value.data() + at, &word, 8);
    }
    batch.put(storage::Column::kKv, "key-" + std::to_string(i), value);
    if (batch.operations().size() == 256 || i + 1 == keys) {
      check("write", store.write(batch));
      batch.clear();
    }
  }
  check("sync_wal", store.sync_wal());
  std::printf("fill    : keys=%llu value_bytes=%llu seconds=%.2f\n",
              static_cast<unsigned long long>(keys), static_cast<unsigned long long>(value_bytes),
              seconds_since(start));
}

void run(std::uint64_t mb, std::uint64_t value_bytes, std::uint64_t chunk_bytes) {
  TempDir dir("snapshot");
  auto opened_source = storage::RocksKvStore::open(dir.string() + "/source");
  if (!opened_source.is_ok()) die("open", opened_source.status());
  std::unique_ptr<storage::RocksKvStore> source = std::move(opened_source).value();
  fill(*source, mb << 20, value_bytes);

  raft::SnapshotMeta meta{1000, 3, {{{1, true, "a"}, {2, true, "b"}, {3, true, "c"}}}};
  auto start = Clock::now();
  auto manifest = snapshot::create_snapshot(*source, meta, dir.string() + "/snap");
  double create_s = seconds_since(start);
  if (!manifest.is_ok()) die("create", manifest.status());
  std::uint64_t bytes = manifest->total_bytes();
  std::printf("create  : bytes=%llu files=%zu seconds=%.3f mb_per_s=%.0f\n",
              static_cast<unsigned long long>(bytes), manifest->files.size(), create_s,
              mb_per_s(bytes, create_s));

  source.reset();  // closing waits for background compactions, which would skew what follows
  std::string root = dir.string() + "/root";
  auto current = snapshot::open_current(root);
  if (!current.is_ok()) die("open_current", current.status());
  auto reader = snapshot::SnapshotReader::open(dir.string() + "/snap", chunk_bytes);
  if (!reader.is_ok()) die("reader", reader.status());
  auto receiver = snapshot::SnapshotReceiver::start(snapshot::staging_path(root, "1000-3"), meta);
  if (!receiver.is_ok()) die("receiver", receiver.status());
  Latencies latencies;
  Latencies read_latencies;
  Latencies accept_latencies;
  std::uint64_t chunks = 0;
  start = Clock::now();
  for (;;) {
    auto chunk_start = Clock::now();
    auto chunk = (*reader)->next();
    if (!chunk.is_ok()) die("next", chunk.status());
    if (!chunk->has_value()) break;
    auto read_end = Clock::now();
    check("accept", (*receiver)->accept(**chunk));
    auto chunk_end = Clock::now();
    latencies.add(chunk_end - chunk_start);
    read_latencies.add(read_end - chunk_start);
    accept_latencies.add(chunk_end - read_end);
    ++chunks;
  }
  auto finished = (*receiver)->finish();
  double stream_s = seconds_since(start);
  if (!finished.is_ok()) die("finish", finished.status());
  std::printf(
      "stream  : bytes=%llu chunks=%llu chunk_bytes=%llu seconds=%.3f mb_per_s=%.0f "
      "chunk_p50_us=%.0f chunk_p99_us=%.0f read_p50_us=%.0f accept_p50_us=%.0f "
      "accept_p99_us=%.0f\n",
      static_cast<unsigned long long>((*reader)->stream_bytes()),
      static_cast<unsigned long long>(chunks), static_cast<unsigned long long>(chunk_bytes),
      stream_s, mb_per_s((*reader)->stream_bytes(), stream_s), latencies.percentile(0.50),
      latencies.percentile(0.99), read_latencies.percentile(0.50),
      accept_latencies.percentile(0.50), accept_latencies.percentile(0.99));

  start = Clock::now();
  auto installed = snapshot::install(root, (*receiver)->dir());
  double install_s = seconds_since(start);
  if (!installed.is_ok()) die("install", installed.status());
  std::printf("install : bytes=%llu seconds=%.3f mb_per_s=%.0f\n",
              static_cast<unsigned long long>(bytes), install_s, mb_per_s(bytes, install_s));

  start = Clock::now();
  auto opened = storage::RocksKvStore::open(installed->path);
  if (!opened.is_ok()) die("open installed", opened.status());
  std::uint64_t keys = 0;
  check("scan", (*opened)->scan(storage::Column::kKv, "", "", [&](auto, auto) {
    ++keys;
    return true;
  }));
  std::printf("reopen  : keys=%llu open_and_scan_seconds=%.3f\n",
              static_cast<unsigned long long>(keys), seconds_since(start));
}

}  // namespace
}  // namespace neuroplex::bench

int main(int argc, char** argv) {
  using namespace neuroplex::bench;          // NOLINT(google-build-using-namespace)
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // results survive a crash or a pipe
  std::uint64_t mb = flag(argc, argv, "mb", 256);
  std::uint64_t value_bytes = flag(argc, argv, "value-bytes", 4096);
  std::uint64_t chunk_kb = flag(argc, argv, "chunk-kb", 1024);
  if (mb == 0 || value_bytes < 8 || chunk_kb == 0) {
    std::fprintf(stderr, "usage: %s [--mb 256] [--value-bytes 4096] [--chunk-kb 1024]\n", argv[0]);
    return 2;
  }
  run(mb, value_bytes, chunk_kb << 10);
  return 0;
}
