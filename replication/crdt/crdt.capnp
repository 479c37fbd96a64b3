# The binary encoding of CRDT states and deltas (a delta is a state). See docs/crdt-encoding.md.
# Messages are written in Cap'n Proto's packed format. Lists are kept in canonical order
# (dots ascending; fields by name, then type; set elements by canonical text) so that equal
# states have byte-identical encodings.
@0xe042ad4b00f170ff;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("neuroplex::crdt::wire");

struct Dot {
  replica @0 :UInt64;
  counter @1 :UInt64;
}

# Every dot (replica, 1..counter) has been seen.
struct Version {
  replica @0 :UInt64;
  counter @1 :UInt64;
}

struct CausalContext {
  versions @0 :List(Version);
  cloud @1 :List(Dot);       # seen dots not contiguous with `versions`
}

struct CounterEntry {
  replica @0 :UInt64;        # the dot, inline
  counter @1 :UInt64;
  value @2 :Int64;           # the replica's whole contribution
}

struct RegisterEntry {
  replica @0 :UInt64;        # the dot, inline
  counter @1 :UInt64;
  timestamp @2 :UInt64;      # hybrid logical clock: ms << 16 | logical
  value @3 :Text;            # canonical JSON
}

struct SetElement {
  value @0 :Text;            # canonical JSON scalar
  dots @1 :List(Dot);
}

struct Field {
  name @0 :Text;             # "" for the document root slot
  union {
    map @1 :List(Field);
    set @2 :List(SetElement);
    counter @3 :List(CounterEntry);
    register @4 :List(RegisterEntry);
    mvRegister @5 :List(RegisterEntry);
  }
}

struct Document {
  formatVersion @0 :UInt8 = 1;
  context @1 :CausalContext;
  slots @2 :List(Field);     # the root: one entry per type held at the root, named ""
}
