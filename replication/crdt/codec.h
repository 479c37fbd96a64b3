// Binary encoding of Documents (states and deltas alike) as packed Cap'n Proto messages.
// The format is specified in docs/crdt-encoding.md; the schema is replication/crdt/crdt.capnp.
//
// encode() is canonical: equal documents give byte-identical output.
// decode() has two modes:
//   - kTrusted: bytes this process family wrote (the state store, protected by RocksDB's
//     checksums). Structure is assumed canonical; only Cap'n Proto's own bounds checks run.
//   - kUntrusted: bytes from a client or another cluster (`merge`). Everything is checked and
//     canonicalized: lists sorted, JSON canonicalized, names valid, every dot in the context and
//     used once, nesting bounded, no trailing bytes. Violations are INVALID_ARGUMENT; the
//     decoder never crashes or allocates without bound on hostile input.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "replication/crdt/document.h"

namespace neuroplex::crdt {

enum class Trust { kTrusted, kUntrusted };

std::string encode(const Document& document);
Result<Document> decode(std::string_view bytes, Trust trust);

}  // namespace neuroplex::crdt
