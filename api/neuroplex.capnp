# Neuroplex wire contract v1 over Cap'n Proto RPC (docs/protocol.md).
#
# One port serves clients, operators and peers. The bootstrap capability is `Neuroplex`; a client
# asks it for a `Session` (the operation table of DESIGN.md), an operator for an `Admin`, and
# another node of the same cluster for a `RaftPeer`.
#
# Errors: every response carries `error`. When it is set (has an `error`), the other result
# fields are meaningless. `code` is one of the stable codes of DESIGN.md (INVALID_ARGUMENT,
# NOT_FOUND, TYPE_MISMATCH, TOO_LARGE, NOT_LEADER, UNAVAILABLE, ..., INTERNAL); NOT_LEADER carries
# the leader's id and address when the node knows them. Cap'n Proto exceptions mean a broken
# connection or a server bug, never a refused request.
@0xd4c1a8f2b7e3c905;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("neuroplex::api::wire");

struct Error {
  code @0 :Text;
  message @1 :Text;
  leaderId @2 :UInt64;       # NOT_LEADER: the leader's node id, 0 when unknown
  leaderAddress @3 :Text;    # NOT_LEADER: the leader's HOST:PORT, empty when unknown
}

enum Consistency {
  linearizable @0;           # ReadIndex: sees every write acknowledged before the read began
  lease @1;                  # the leader's lease: no quorum round trip, bounded clock drift
  local @2;                  # this node's applied state: fast, may be stale
}

# Makes a write idempotent. A client picks a random nonzero `client` per process and numbers its
# writes with `seq` from 1. A write retried with the same (client, seq) is applied at most once;
# the retry gets the first attempt's result. `client` 0: not deduplicated. `ackedBelow`: every
# seq below it has its reply, so the server may forget them.
struct RequestId {
  client @0 :UInt64;
  seq @1 :UInt64;
  ackedBelow @2 :UInt64;
}

# One typed CRDT mutation (DESIGN.md "update"): path [] is the document root.
#   type "counter" mutator "add" args N (int64)
#   type "register" mutator "set" args any JSON value
#   type "set" mutator "add" | "remove" args [scalar, ...]
#   type "map" mutator "remove" args "field"
struct Mutation {
  path @0 :List(Text);
  type @1 :Text;
  mutator @2 :Text;
  args @3 :Text;             # JSON text
}

struct WatchEvent {
  index @0 :UInt64;          # the log index of the change (resume a watch from index + 1)
  ns @1 :Text;
  key @2 :Text;
  exists @3 :Bool;           # false: deleted
  value @4 :Text;            # JSON text of the document's plain view when it exists
  resync @5 :Bool;           # part of a full resend: the watch started before the node's history
  resyncEnd @6 :Bool;        # the last event of a resync (no key, no value): every document of
                             # the watch it did not resend no longer exists
}

interface Watcher {
  # Called once per event, in index order. The server waits for each call's flow control before
  # sending more, so a slow watcher slows only itself. Throwing ends the watch.
  event @0 (event :WatchEvent) -> stream;
  # The watch ended on the server side (shutdown, or the watcher fell too far behind).
  closed @1 (error :Error) -> ();
}

interface WatchHandle {
  # Dropping the handle also cancels the watch.
  cancel @0 () -> ();
}

struct Member {
  id @0 :UInt64;
  address @1 :Text;
  role @2 :Text;             # "leader", "follower", "candidate", "learner", "unknown"
  voter @3 :Bool;
  match @4 :UInt64;          # known on the leader only; 0 elsewhere
}

struct ClusterStatus {
  nodeId @0 :UInt64;         # the node that answered
  leader @1 :UInt64;         # 0 when unknown
  leaderAddress @2 :Text;
  term @3 :UInt64;
  commit @4 :UInt64;
  applied @5 :UInt64;
  members @6 :List(Member);
  role @7 :Text;             # the answering node's role
  snapshotIndex @8 :UInt64;
  firstLogIndex @9 :UInt64;
  lastLogIndex @10 :UInt64;
  clusterId @11 :UInt64;
}

interface Session {
  update @0 (requestId :RequestId, ns :Text, key :Text, ops :List(Mutation))
      -> (error :Error, index :UInt64);
  get @1 (ns :Text, key :Text, consistency :Consistency)
      -> (error :Error, exists :Bool, value :Text, types :Text, index :UInt64);
  delete @2 (requestId :RequestId, ns :Text, key :Text) -> (error :Error, index :UInt64);
  list @3 (ns :Text, prefix :Text, after :Text, limit :UInt32, consistency :Consistency)
      -> (error :Error, keys :List(Text), next :Text, hasNext :Bool);
  merge @4 (requestId :RequestId, ns :Text, key :Text, delta :Data)
      -> (error :Error, index :UInt64);
  # Events for keys of `ns` starting with `prefix`, from log index `fromIndex` on (0: from now).
  watch @5 (ns :Text, prefix :Text, fromIndex :UInt64, watcher :Watcher)
      -> (error :Error, handle :WatchHandle, startIndex :UInt64);
  status @6 () -> (error :Error, status :ClusterStatus);

  # Vector memories (docs/protocol.md "Vector memories"). metric: "cosine" | "l2" | "ip".
  collectionCreate @7 (requestId :RequestId, name :Text, dim :UInt32, metric :Text)
      -> (error :Error, index :UInt64);
  collectionDrop @8 (requestId :RequestId, name :Text) -> (error :Error, index :UInt64);
  collectionList @9 (consistency :Consistency)
      -> (error :Error, collections :List(Collection), index :UInt64);
  # An empty id asks the server for one (derived from requestId when it has a client, so a
  # retry lands on the same memory). metadata: a JSON object of scalars, or empty.
  # ttlSeconds 0: never expires.
  memoryPut @10 (requestId :RequestId, collection :Text, id :Text, vector :List(Float32),
                 text :Text, metadata :Text, ttlSeconds :UInt32)
      -> (error :Error, id :Text, index :UInt64);
  memoryGet @11 (collection :Text, id :Text, consistency :Consistency)
      -> (error :Error, exists :Bool, memory :Memory, index :UInt64);
  memoryDelete @12 (requestId :RequestId, collection :Text, id :Text)
      -> (error :Error, index :UInt64);
  # filter: a JSON object {field: scalar, ...} every hit's metadata must equal (AND), or empty.
  # k: 1..1000. ef: 0 for the collection's default, else at most 10000.
  memorySearch @13 (collection :Text, vector :List(Float32), k :UInt32, filter :Text, ef :UInt32,
                    consistency :Consistency)
      -> (error :Error, hits :List(SearchHit), index :UInt64);
}

struct Collection {
  name @0 :Text;
  dim @1 :UInt32;
  metric @2 :Text;
  count @3 :UInt64;          # memories in the collection (expired ones not yet removed included)
}

struct Memory {
  id @0 :Text;
  vector @1 :List(Float32);
  text @2 :Text;
  metadata @3 :Text;         # JSON object text, or empty
  expiresAtMs @4 :UInt64;    # 0: never (the cluster's replicated clock, ms since the epoch)
}

struct SearchHit {
  id @0 :Text;
  score @1 :Float32;         # cosine similarity / dot product (higher is closer) or Euclidean
                             # distance (lower is closer), closest first
  text @2 :Text;
  metadata @3 :Text;
}

interface Admin {
  status @0 () -> (error :Error, status :ClusterStatus);
  addMember @1 (id :UInt64, address :Text, learner :Bool) -> (error :Error, index :UInt64);
  removeMember @2 (id :UInt64) -> (error :Error, index :UInt64);
  transferLeader @3 (id :UInt64) -> (error :Error);
  snapshot @4 () -> (error :Error, index :UInt64);
}

# ---- Internal: node to node ----

struct RaftEntry {
  index @0 :UInt64;
  term @1 :UInt64;
  type @2 :UInt8;            # raft::EntryType
  data @3 :Data;
}

struct RaftMember {
  id @0 :UInt64;
  voter @1 :Bool;
  address @2 :Text;
}

struct SnapshotMeta {
  index @0 :UInt64;
  term @1 :UInt64;
  members @2 :List(RaftMember);
}

# raft::Message, field for field.
struct RaftMessage {
  type @0 :UInt8;            # raft::MessageType
  from @1 :UInt64;
  to @2 :UInt64;
  term @3 :UInt64;
  logIndex @4 :UInt64;
  logTerm @5 :UInt64;
  commit @6 :UInt64;
  entries @7 :List(RaftEntry);
  reject @8 :Bool;
  hintIndex @9 :UInt64;
  hintTerm @10 :UInt64;
  transfer @11 :Bool;
  readSeq @12 :UInt64;
  requestId @13 :UInt64;
  snapshot @14 :SnapshotMeta;
}

struct SnapshotChunk {
  fileIndex @0 :UInt32;
  fileSize @1 :UInt64;
  offset @2 :UInt64;
  data @3 :Data;
  last @4 :Bool;
  crc32c @5 :UInt32;
}

interface SnapshotSink {
  chunk @0 (chunk :SnapshotChunk) -> stream;
  # After the last chunk: the receiver verified and staged the snapshot and delivered `message`
  # (the leader's kSnapshot) to its core.
  finish @1 (message :RaftMessage) -> (error :Error);
}

interface RaftPeer {
  # Messages from the node named in the hello, in send order.
  send @0 (messages :List(RaftMessage)) -> stream;
  # Streams the snapshot `meta` into the receiver's staging area.
  installSnapshot @1 (meta :SnapshotMeta) -> (error :Error, sink :SnapshotSink);
}

struct PeerHello {
  clusterId @0 :UInt64;      # a node refuses (and logs) a hello from another cluster
  from @1 :UInt64;
  fromAddress @2 :Text;
  to @3 :UInt64;
}

interface Neuroplex {
  # `token` is reserved for authentication (not checked yet).
  session @0 (token :Text) -> (session :Session);
  admin @1 (token :Text) -> (admin :Admin);
  raftPeer @2 (hello :PeerHello) -> (error :Error, peer :RaftPeer);
  # Internal: a follower forwards a client's write here when this node is the leader. Writes on
  # this session are never forwarded again (no loops while views of the leader disagree).
  forwardSession @3 () -> (session :Session);
}
