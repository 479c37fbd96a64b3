// dump_all: a canonical byte image of a KvStore's contents, used by tests and the simulator to
// check that two stores (of either implementation) hold exactly the same data.
//
// Format: for each column in Column order, for each (key, value) in key order, one record
//   u8 column | u64 LE key length | key bytes | u64 LE value length | value bytes
// Every record is self-delimiting, so two stores have equal dumps iff they hold the same pairs in
// the same columns. The format is for comparison only; it is never persisted.
//
// Thread safety: as the store's scan().
#pragma once

#include <string>

#include "base/status.h"
#include "storage/state/kv_store.h"

namespace neuroplex::storage {

Result<std::string> dump_all(const KvStore& store);

}  // namespace neuroplex::storage
