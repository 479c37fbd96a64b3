# The payload of a Raft log entry: a batch of write operations. See docs/state-store.md.
@0xbcf3254626a7d9b7;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("neuroplex::replication::wire");

enum CrdtType {
  unknown @0;
  map @1;
  set @2;
  counter @3;
  register @4;
  mvRegister @5;
}

struct Mutation {
  path @0 :List(Text);
  type @1 :CrdtType;
  union {
    counterAdd @2 :Int64;
    registerSet @3 :Text;        # canonical JSON
    setAdd @4 :List(Text);       # canonical JSON scalars
    setRemove @5 :List(Text);
    mapRemove @6 :Text;          # field name
  }
}

struct Operation {
  ns @0 :Text;
  key @1 :Text;
  union {
    update @2 :List(Mutation);
    delete @3 :Void;
    merge @4 :Data;              # encoded CRDT delta (replication/crdt/crdt.capnp)
    collectionCreate @6 :CollectionCreate;
    collectionDrop @7 :Text;     # collection name
    memoryPut @8 :MemoryPut;
    memoryDelete @9 :MemoryKey;
    expire @10 :Void;            # leader-proposed: remove memories due by timestampMs
  }
  requestId @5 :RequestId;       # absent (older entries too): client 0, not deduplicated
}

# Vector memories (replication/operation.h). ns and key stay empty for these operations.
struct CollectionCreate {
  name @0 :Text;
  dim @1 :UInt32;
  metric @2 :UInt8;              # vec::Metric: 0 cosine, 1 l2, 2 ip
}

struct MemoryPut {
  collection @0 :Text;
  id @1 :Text;
  vector @2 :List(Float32);
  text @3 :Text;
  metadata @4 :Text;             # canonical JSON object, or empty
  ttlSeconds @5 :UInt32;
}

struct MemoryKey {
  collection @0 :Text;
  id @1 :Text;
}

# Who sent the operation (replication/operation.h RequestId, replication/client_sessions.h).
struct RequestId {
  client @0 :UInt64;
  seq @1 :UInt64;
  ackedBelow @2 :UInt64;
}

struct Batch {
  timestampMs @0 :UInt64;        # the leader's wall clock when it formed the batch
  operations @1 :List(Operation);
}
