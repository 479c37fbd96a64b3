// The Session, Admin and WatchHandle services (see services.h). Rpc thread only.
#pragma once

#include <cstdint>

#include "api/neuroplex.capnp.h"
#include "api/server/services.h"

namespace neuroplex::server {

class SessionService final : public api::wire::Session::Server {
 public:
  // `forwarded`: this session serves writes another node forwarded; it never forwards them.
  SessionService(NodeContext& node, bool forwarded);

  kj::Promise<void> update(UpdateContext context) override;
  kj::Promise<void> get(GetContext context) override;
  kj::Promise<void> delete_(DeleteContext context) override;
  kj::Promise<void> list(ListContext context) override;
  kj::Promise<void> merge(MergeContext context) override;
  kj::Promise<void> watch(WatchContext context) override;
  kj::Promise<void> status(StatusContext context) override;
  // Vector memories (vector_calls.cc).
  kj::Promise<void> collectionCreate(CollectionCreateContext context) override;
  kj::Promise<void> collectionDrop(CollectionDropContext context) override;
  kj::Promise<void> collectionList(CollectionListContext context) override;
  kj::Promise<void> memoryPut(MemoryPutContext context) override;
  kj::Promise<void> memoryGet(MemoryGetContext context) override;
  kj::Promise<void> memoryDelete(MemoryDeleteContext context) override;
  kj::Promise<void> memorySearch(MemorySearchContext context) override;

 private:
  // The calls themselves; the overrides above wrap each in its metrics.
  kj::Promise<void> update_uncounted(UpdateContext context);
  kj::Promise<void> get_uncounted(GetContext context);
  kj::Promise<void> delete_uncounted(DeleteContext context);
  kj::Promise<void> list_uncounted(ListContext context);
  kj::Promise<void> merge_uncounted(MergeContext context);
  kj::Promise<void> watch_uncounted(WatchContext context);
  kj::Promise<void> status_uncounted(StatusContext context);
  kj::Promise<void> collection_create_uncounted(CollectionCreateContext context);
  kj::Promise<void> collection_drop_uncounted(CollectionDropContext context);
  kj::Promise<void> collection_list_uncounted(CollectionListContext context);
  kj::Promise<void> memory_put_uncounted(MemoryPutContext context);
  kj::Promise<void> memory_get_uncounted(MemoryGetContext context);
  kj::Promise<void> memory_delete_uncounted(MemoryDeleteContext context);
  kj::Promise<void> memory_search_uncounted(MemorySearchContext context);

  template <typename Context, typename Forward>
  kj::Promise<void> write(Context context, Result<replication::WriteOp> op,
                          replication::RequestId id, Forward forward);

  NodeContext& node_;
  const bool forwarded_;
};

class AdminService final : public api::wire::Admin::Server {
 public:
  explicit AdminService(NodeContext& node) : node_(node) {}

  kj::Promise<void> status(StatusContext context) override;
  kj::Promise<void> addMember(AddMemberContext context) override;
  kj::Promise<void> removeMember(RemoveMemberContext context) override;
  kj::Promise<void> transferLeader(TransferLeaderContext context) override;
  kj::Promise<void> snapshot(SnapshotContext context) override;

 private:
  NodeContext& node_;
};

// Dropping the handle (or the connection) cancels the watch.
class WatchHandleService final : public api::wire::WatchHandle::Server {
 public:
  WatchHandleService(WatchRegistry& watches, std::uint64_t id) : watches_(watches), id_(id) {}
  ~WatchHandleService() noexcept(false);
  kj::Promise<void> cancel(CancelContext context) override;

 private:
  WatchRegistry& watches_;
  const std::uint64_t id_;
};

}  // namespace neuroplex::server
