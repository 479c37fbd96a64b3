// The C++ client library of Neuroplex (used by neuroplexctl, the integration tests and bench).
//
// A Client talks Cap'n Proto RPC (api/neuroplex.capnp) to one node of a cluster at a time:
//   - finds the leader: a NOT_LEADER reply names it, and the client reconnects there;
//   - retries safely: every write carries a RequestId (random client id, increasing seq), and a
//     retry after a lost reply, a broken connection or UNAVAILABLE reuses it, so the cluster
//     applies the write once. Retries stop at ClientOptions::deadline;
//   - pipelines: the *_async calls may be issued many at a time on the client's event loop.
//
// Errors come back as Status with the stable codes of base/status.h: the node's own answer
// (INVALID_ARGUMENT, NOT_FOUND, TYPE_MISMATCH, TOO_LARGE, ...) at once; UNAVAILABLE (with the last
// error's text) when the deadline passes while retrying; INTERNAL for a server bug. No kj or
// capnp exception leaves the library.
//
// Thread safety: a Client owns a kj event loop (kj::setupAsyncIo) on the thread that created it
// and must only be used from that thread; a thread can hold one Client at a time (kj allows one
// event loop per thread). The synchronous calls run the event loop until their reply, so they must
// not be called from inside a promise continuation or a watch callback. Every promise returned by
// a *_async call must be resolved or dropped before the Client is destroyed.
#pragma once

#include <kj/async.h>
#include <kj/timer.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "replication/crdt/mutation.h"

namespace neuroplex::client {

enum class Consistency { kLinearizable, kLease, kLocal };

struct ClientOptions {
  // HOST:PORT of one or more nodes; the client starts with the first and moves on failure.
  std::vector<std::string> endpoints = {"127.0.0.1:7400"};
  // How long one call keeps retrying (leader changes, reconnects) before it fails UNAVAILABLE.
  std::chrono::milliseconds deadline{10000};
  // Follow NOT_LEADER to the leader (true), or return it to the caller (false).
  bool follow_leader = true;
  // One attempt without a reply for this long counts as a broken connection: the client moves on
  // (a stopped or partitioned node never answers, and may never close the socket either).
  std::chrono::milliseconds attempt_timeout{3000};
  // Sent in the bootstrap calls; reserved for authentication (not checked by servers yet).
  std::string token;
};

struct GetResult {
  bool exists = false;
  nlohmann::json value;  // the plain JSON view; null when !exists
  nlohmann::json types;
  std::uint64_t index = 0;  // the applied index the read was served at
};

struct ListResult {
  std::vector<std::string> keys;
  std::optional<std::string> next;
};

struct MemberInfo {
  std::uint64_t id = 0;
  std::string address;
  std::string role;
  bool voter = true;
  std::uint64_t match = 0;
};

struct StatusResult {
  std::uint64_t node_id = 0;
  std::uint64_t leader = 0;
  std::string leader_address;
  std::uint64_t term = 0;
  std::uint64_t commit = 0;
  std::uint64_t applied = 0;
  std::string role;
  std::uint64_t snapshot_index = 0;
  std::uint64_t first_log_index = 0;
  std::uint64_t last_log_index = 0;
  std::uint64_t cluster_id = 0;
  std::vector<MemberInfo> members;
};

struct WatchEvent {
  std::uint64_t index = 0;
  std::string ns;
  std::string key;
  bool exists = false;
  nlohmann::json value;
  bool resync = false;
  // The last event of a resync (no key, no value): every document of the watch that the resync
  // did not resend no longer exists.
  bool resync_end = false;
};

// ---- Vector memories ----

struct CollectionEntry {
  std::string name;
  std::uint32_t dim = 0;
  std::string metric;  // "cosine", "l2", "ip"
  std::uint64_t count = 0;
};

struct MemoryInput {
  std::string id;  // empty: the client picks one (returned by put_memory)
  std::vector<float> vector;
  std::string text;
  std::string metadata;           // JSON object text of scalars, or empty
  std::uint32_t ttl_seconds = 0;  // 0: never expires
};

struct PutResult {
  std::string id;
  std::uint64_t index = 0;
};

struct MemoryResult {
  bool exists = false;
  std::string id;
  std::vector<float> vector;
  std::string text;
  std::string metadata;  // JSON object text, or empty
  std::uint64_t expires_at_ms = 0;
  std::uint64_t index = 0;
};

struct SearchQuery {
  std::vector<float> vector;
  std::uint32_t k = 10;
  std::string filter;    // JSON object text {field: scalar, ...}, or empty
  std::uint32_t ef = 0;  // 0: the collection's default
  Consistency consistency = Consistency::kLinearizable;
};

struct SearchHit {
  std::string id;
  float score = 0;  // cosine similarity / dot product (higher closer) or L2 distance (lower)
  std::string text;
  std::string metadata;
};

struct SearchResult {
  std::vector<SearchHit> hits;  // closest first
  std::uint64_t index = 0;
};

class ClientCore;  // api/client/client_impl.h

class Client {
 public:
  static Result<std::unique_ptr<Client>> connect(ClientOptions options);
  ~Client();

  // Writes: the log index the write was applied at.
  Result<std::uint64_t> update(const std::string& ns, const std::string& key,
                               const std::vector<crdt::Mutation>& mutations);
  Result<std::uint64_t> remove(const std::string& ns, const std::string& key);  // `delete`
  Result<std::uint64_t> merge(const std::string& ns, const std::string& key,
                              const std::string& delta);

  Result<GetResult> get(const std::string& ns, const std::string& key,
                        Consistency consistency = Consistency::kLinearizable);
  Result<ListResult> list(const std::string& ns, const std::string& prefix = "",
                          const std::string& after = "", std::uint32_t limit = 100,
                          Consistency consistency = Consistency::kLinearizable);

  // Calls on_event for each event until on_event returns false, the deadline (if any) passes, or
  // the watch fails. Runs the event loop meanwhile. from_index 0: from now. A lost connection or
  // a node closing the watch (UNAVAILABLE) is survived: the watch resumes, on another endpoint if
  // need be, where the caller's events stopped, without repeating or losing any (a node whose
  // history no longer reaches back sends `resync` events instead). OK when on_event said stop or
  // the deadline passed; UNAVAILABLE when no node took the watch back within options.deadline.
  Status watch(const std::string& ns, const std::string& prefix, std::uint64_t from_index,
               const std::function<bool(const WatchEvent&)>& on_event,
               std::optional<std::chrono::milliseconds> deadline = std::nullopt);

  Result<StatusResult> status();
  Result<std::uint64_t> add_member(std::uint64_t id, const std::string& address,
                                   bool learner = false);
  Result<std::uint64_t> remove_member(std::uint64_t id);
  Status transfer_leader(std::uint64_t id);
  Result<std::uint64_t> snapshot();  // the index of the snapshot taken

  // Vector memories (client_vectors.cc). metric: "cosine", "l2" or "ip".
  Result<std::uint64_t> create_collection(const std::string& name, std::uint32_t dim,
                                          const std::string& metric);
  Result<std::uint64_t> drop_collection(const std::string& name);
  Result<std::vector<CollectionEntry>> list_collections(
      Consistency consistency = Consistency::kLinearizable);
  Result<PutResult> put_memory(const std::string& collection, const MemoryInput& memory);
  Result<MemoryResult> get_memory(const std::string& collection, const std::string& id,
                                  Consistency consistency = Consistency::kLinearizable);
  Result<std::uint64_t> delete_memory(const std::string& collection, const std::string& id);
  Result<SearchResult> search(const std::string& collection, const SearchQuery& query);

  // The endpoint the client currently talks to (or connects to next).
  const std::string& endpoint() const;
  // This client's nonzero RequestId.client, random per Client.
  std::uint64_t client_id() const;

  // ---- Asynchronous forms, for pipelining. ----
  // Any number may be in flight at once; each retries on its own exactly as the synchronous call
  // does (a write keeps its RequestId across retries). The promises never reject: every failure
  // is in the Result. Wait with `promise.wait(client.wait_scope())`, or chain them.
  kj::Promise<Result<std::uint64_t>> update_async(const std::string& ns, const std::string& key,
                                                  const std::vector<crdt::Mutation>& mutations);
  kj::Promise<Result<std::uint64_t>> remove_async(const std::string& ns, const std::string& key);
  kj::Promise<Result<std::uint64_t>> merge_async(const std::string& ns, const std::string& key,
                                                 const std::string& delta);
  kj::Promise<Result<GetResult>> get_async(const std::string& ns, const std::string& key,
                                           Consistency consistency = Consistency::kLinearizable);
  kj::Promise<Result<ListResult>> list_async(const std::string& ns, const std::string& prefix,
                                             const std::string& after, std::uint32_t limit,
                                             Consistency consistency);
  kj::Promise<Result<StatusResult>> status_async();
  kj::Promise<Result<PutResult>> put_memory_async(const std::string& collection,
                                                  const MemoryInput& memory);
  kj::Promise<Result<SearchResult>> search_async(const std::string& collection,
                                                 const SearchQuery& query);

  // The client's event loop, for waiting on the *_async promises and for timers.
  kj::WaitScope& wait_scope();
  kj::Timer& timer();

 private:
  explicit Client(std::unique_ptr<ClientCore> core);
  std::unique_ptr<ClientCore> core_;  // never null
};

}  // namespace neuroplex::client
