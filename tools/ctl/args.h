// neuroplexctl's command line: the grammar of every verb, parsed into one Invocation.
//
//   neuroplexctl [--endpoint HOST:PORT[,HOST:PORT...]] [--json] [--timeout MS] VERB ARGS...
//
// Global options may appear anywhere before a "--" (after it every word is positional, so a set
// member or key may start with "--"). The endpoint defaults to $NEUROPLEX_ENDPOINT, then
// 127.0.0.1:7400. Parsing talks to nothing: a failure here is a usage error (exit status 2).
//
// Thread safety: pure functions.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/client/client.h"
#include "base/status.h"

namespace neuroplex::ctl {

inline constexpr std::string_view kDefaultEndpoint = "127.0.0.1:7400";

enum class Verb {
  kHelp,
  kStatus,
  kMembersAdd,
  kMembersRemove,
  kTransferLeader,
  kSnapshot,
  kGet,
  kUpdate,
  kCounterAdd,
  kRegisterSet,
  kSetAdd,
  kSetRemove,
  kDelete,
  kList,
  kWatch,
  kBench,
  kCollectionCreate,
  kCollectionList,
  kCollectionDrop,
  kMemoryPut,
  kMemoryGet,
  kMemoryDelete,
  kMemorySearch,
};

// The arguments of the collection and memory verbs.
struct VectorArgs {
  std::string collection;  // the collection (create/drop: its name)
  std::string id;          // memory get/delete/put
  std::uint32_t dim = 0;   // collection create
  std::string metric = "cosine";
  std::string vector_source;  // --vector: JSON array, @FILE or - (stdin); read by the verb
  std::string text;
  std::string metadata;  // JSON object text
  std::uint32_t ttl_seconds = 0;
  std::uint32_t k = 10;
  std::string filter;  // JSON object text
  std::uint32_t ef = 0;
};

struct BenchArgs {
  std::size_t clients = 16;
  std::uint64_t ops = 10000;
  std::size_t value_size = 256;
  std::string op = "register";  // counter | register | set
  double seconds = 0;           // > 0: run for this long instead of --ops
  double warmup_seconds = 0;
  std::size_t keys = 1000;
  std::string ns = "bench";
};

struct Invocation {
  Verb verb = Verb::kHelp;
  // Global options.
  std::vector<std::string> endpoints;  // normalized HOST:PORT, never empty after parsing
  bool json = false;
  std::chrono::milliseconds timeout{10000};  // ClientOptions::deadline

  // Verb arguments; which ones are set depends on the verb.
  std::string ns;
  std::string key;
  std::uint64_t node_id = 0;  // members add/remove, transfer-leader
  std::string address;        // members add
  bool learner = false;       // members add
  client::Consistency consistency = client::Consistency::kLinearizable;  // get, list
  nlohmann::json ops;            // update: the OPS_JSON array, parsed
  std::int64_t amount = 0;       // counter add
  nlohmann::json value;          // register set
  nlohmann::json members;        // set add/remove: an array of scalars
  std::string prefix;            // list, watch
  std::string after;             // list
  std::uint32_t limit = 100;     // list
  std::uint64_t from_index = 0;  // watch
  BenchArgs bench;
  VectorArgs vec;
};

// Parses argv[1..]. `env_endpoint`: the value of NEUROPLEX_ENDPOINT, if set.
// INVALID_ARGUMENT with a one-line reason on any usage error.
Result<Invocation> parse_args(const std::vector<std::string>& args,
                              std::optional<std::string_view> env_endpoint);

// A set member from the command line: the JSON scalar it spells ("42", "true", "\"x\"", "null"),
// otherwise the word itself as a string (x, [1], {"a":1}).
nlohmann::json parse_member(std::string_view word);

// The usage text printed by --help (and, after a usage error, a pointer to it).
std::string_view usage_text();

}  // namespace neuroplex::ctl
