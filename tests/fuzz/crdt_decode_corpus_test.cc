// Replays the CRDT decoder fuzz target without libFuzzer, so every compiler and every `ctest -L
// unit` run exercises it:
//   1. writes the seed corpus (valid encodings of small documents) into DIR, if given;
//   2. feeds every file in DIR (seeds, and any crash reproducer someone dropped there);
//   3. feeds seeded random inputs: valid encodings, unchanged or with bytes flipped, nudged,
//      inserted, removed or truncated, two encodings spliced together, and plain random bytes.
// Usage: crdt_decode_corpus_test [--write-seeds-only] [DIR]
// NEUROPLEX_TEST_SEED / NEUROPLEX_TEST_CASES choose the random inputs (tests/support/seed.h); a
// failing random input prints the line that replays it.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "replication/crdt/codec.h"
#include "tests/fuzz/crdt_decode_fuzz.h"
#include "tests/support/seed.h"
#include "tests/unit/crdt/crdt_random.h"

namespace neuroplex::crdt::fuzz {
namespace {

using testing::Shape;

// What is being fed right now, printed if the fuzz target aborts.
char g_current[512] = "nothing yet";

void on_abort(int) {
  std::fprintf(stderr, "crdt_decode_corpus_test: failing input: %s\n", g_current);
  std::signal(SIGABRT, SIG_DFL);
  std::raise(SIGABRT);
}

void feed(const std::string& bytes) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

Mutation make(std::vector<std::string> path, CrdtType type, Mutator mutator) {
  return {std::move(path), type, std::move(mutator)};
}

Document apply_all(ReplicaId replica, const std::vector<Mutation>& mutations) {
  Document document;
  for (const Mutation& mutation : mutations) {
    if (!document.apply(mutation, replica, 1000).is_ok()) std::abort();
  }
  return document;
}

std::vector<std::pair<std::string, std::string>> seed_documents() {
  std::vector<std::pair<std::string, Document>> documents;
  documents.emplace_back("empty", Document{});
  documents.emplace_back("root_counter",
                         apply_all(1, {make({}, CrdtType::kCounter, CounterAdd{-42})}));
  documents.emplace_back(
      "root_set", apply_all(1, {make({}, CrdtType::kSet, SetAdd{{"1", "\"a\"", "null", "2.5"}})}));
  documents.emplace_back(
      "root_register", apply_all(2, {make({}, CrdtType::kRegister, RegisterSet{R"({"k":[1]})"})}));
  Document nested = apply_all(1, {make({"m", "c"}, CrdtType::kCounter, CounterAdd{3}),
                                  make({"m", "s"}, CrdtType::kSet, SetAdd{{"true", "\"x\""}}),
                                  make({"m", "s"}, CrdtType::kSet, SetRemove{{"true"}}),
                                  make({"r"}, CrdtType::kRegister, RegisterSet{"\"v\""}),
                                  make({"gone"}, CrdtType::kCounter, CounterAdd{1}),
                                  make({}, CrdtType::kMap, MapRemove{"gone"})});
  Document other = apply_all(2, {make({"r"}, CrdtType::kMvRegister, RegisterSet{"1"}),
                                 make({"m", "c"}, CrdtType::kCounter, CounterAdd{4})});
  Document conflicts = nested;
  conflicts.join(other);
  documents.emplace_back("nested_map", nested);
  documents.emplace_back("type_conflicts", conflicts);
  // A delta that skips dots of its writer: its context has a cloud.
  Document writer;
  Document late;
  for (int i = 0; i < 4; ++i) {
    Result<Document> delta = writer.apply(make({"n"}, CrdtType::kCounter, CounterAdd{i}), 3, 1000);
    if (i == 3) late = std::move(delta).value();
  }
  late.join(other);
  documents.emplace_back("cloud_context", late);
  std::vector<std::string> deep(kMaxPathDepth, "d");
  documents.emplace_back("deepest_path", apply_all(1, {make(deep, CrdtType::kSet, SetAdd{{"0"}})}));

  std::vector<std::pair<std::string, std::string>> seeds;
  for (const auto& [name, document] : documents) seeds.emplace_back(name, encode(document));
  return seeds;
}

std::string read_file(const std::filesystem::path& path) {
  std::string bytes(std::filesystem::file_size(path), '\0');
  std::ifstream in(path, std::ios::binary);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  return bytes;
}

// A valid encoding, damaged in one of several ways.
std::string random_input(std::uint64_t seed,
                         const std::vector<std::pair<std::string, std::string>>& seeds) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](std::size_t high) {  // [0, high]
    return std::uniform_int_distribution<std::size_t>(0, high)(rng);
  };
  std::string bytes = uniform(3) == 0 ? seeds[uniform(seeds.size() - 1)].second
                                      : encode(testing::random_document(seed, Shape::kMap, 20));
  switch (uniform(7)) {
    case 0:  // flip a few bytes
      for (std::size_t n = 1 + uniform(3); n > 0 && !bytes.empty(); --n) {
        bytes[uniform(bytes.size() - 1)] = static_cast<char>(rng());
      }
      break;
    case 6:  // nudge one byte: often still well-formed, with another dot, counter or name
      if (!bytes.empty()) bytes[uniform(bytes.size() - 1)] += uniform(1) == 0 ? 1 : -1;
      break;
    case 7:  // unchanged: valid documents exercise the join and mutation checks
      break;
    case 1:  // insert random bytes
      bytes.insert(uniform(bytes.size()), std::string(1 + uniform(7), static_cast<char>(rng())));
      break;
    case 2:  // remove a range
      if (!bytes.empty()) bytes.erase(uniform(bytes.size() - 1), 1 + uniform(7));
      break;
    case 3:  // truncate
      bytes.resize(uniform(bytes.size()));
      break;
    case 4: {  // splice with another encoding
      const std::string other = encode(testing::random_document(seed + 1, Shape::kMap, 20));
      bytes = bytes.substr(0, uniform(bytes.size())) + other.substr(uniform(other.size()));
      break;
    }
    default:  // plain random bytes
      bytes.resize(uniform(300));
      for (char& byte : bytes) byte = static_cast<char>(rng());
      break;
  }
  return bytes;
}

int run(int argc, char** argv) {
  bool seeds_only = false;
  std::filesystem::path dir;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--write-seeds-only") == 0) {
      seeds_only = true;
    } else {
      dir = argv[i];
    }
  }
  std::signal(SIGABRT, on_abort);
  const auto seeds = seed_documents();

  std::size_t files = 0;
  if (!dir.empty()) {
    std::filesystem::create_directories(dir);
    for (const auto& [name, bytes] : seeds) {
      std::ofstream(dir / ("seed_" + name), std::ios::binary) << bytes;
    }
    if (seeds_only) return 0;
    std::vector<std::filesystem::path> paths;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.is_regular_file()) paths.push_back(entry.path());
    }
    std::sort(paths.begin(), paths.end());
    for (const auto& path : paths) {
      std::snprintf(g_current, sizeof g_current, "corpus file %s", path.c_str());
      feed(read_file(path));
      ++files;
    }
  } else {
    for (const auto& [name, bytes] : seeds) {
      std::snprintf(g_current, sizeof g_current, "seed %s", name.c_str());
      feed(bytes);
    }
  }

  const std::uint64_t seed0 = neuroplex::testing::base_seed(1);
  const std::uint64_t cases = neuroplex::testing::case_count(3000);
  std::size_t accepted = 0;
  for (std::uint64_t i = 0; i < cases; ++i) {
    const std::uint64_t seed = seed0 + i;
    std::snprintf(g_current, sizeof g_current, "%s",
                  neuroplex::testing::replay_hint(argv[0], "(not gtest)", seed).c_str());
    const std::string bytes = random_input(seed, seeds);
    feed(bytes);
    accepted += decode(bytes, Trust::kUntrusted).is_ok() ? 1 : 0;
  }
  std::printf(
      "crdt_decode_corpus_test: %zu corpus files and %llu random inputs (%zu decodable) passed\n",
      files, static_cast<unsigned long long>(cases), accepted);
  return 0;
}

}  // namespace
}  // namespace neuroplex::crdt::fuzz

int main(int argc, char** argv) { return neuroplex::crdt::fuzz::run(argc, argv); }
