// EventBodies: encodes each watch event once for every watch that receives it. The core hands
// each matching watch its own copy of an event; fanned out to a thousand subscribers, encoding
// the JSON once instead of a thousand times is most of the web thread's work saved.
//
// An event is identified by (index, namespace, key, resync): two copies with the same identity
// carry the same value (a live event's value is the document after that index; a replay or
// resync event's index is where its current value was written or read). The cache holds the
// recent identities and is cleared when it grows past kMaxEntries.
//
// Thread safety: web thread only.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

#include "node/watch_hub.h"

namespace neuroplex::web {

class EventBodies {
 public:
  static constexpr std::size_t kMaxEntries = 4096;

  const std::string& body(const node::WatchEvent& event);

 private:
  std::string scratch_;  // the lookup key, reused
  std::unordered_map<std::string, std::string> bodies_;
};

}  // namespace neuroplex::web
