// WatchHub: live watches over the applied state (DESIGN.md `watch`), owned by the core thread.
//
// A watch names a namespace and a key prefix. After each applied entry the core reports the
// documents it changed; the hub sends each matching watch an event with the document's value
// at that point (read by the caller-supplied reader).
//
// Resuming (`from_index` > 0): the hub remembers the last kHistoryEntries changes. A watch that
// starts within that history gets every later change again (each key once, with its current
// value, in index order); one that starts before it gets a resync instead — every live matching
// document with its current value, flagged `resync`, then a `resync_end` marker (whatever the
// resync did not resend is gone) — so a watcher always converges to the current state, deletes
// included, and never silently misses a change.
//
// Thread safety: core thread only. Sinks are called on the core thread and must not block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "replication/state_machine.h"

namespace neuroplex::node {

struct WatchSpec {
  std::string ns;
  std::string prefix;
  std::uint64_t from_index = 0;  // 0: from now
};

struct WatchEvent {
  std::uint64_t index = 0;
  std::string ns;
  std::string key;
  bool exists = false;
  nlohmann::json value;
  bool resync = false;
  // The last event of a resync, with no key or value: every document of the watch that the
  // resync did not resend no longer exists (so a resuming watcher learns of deletes it missed).
  bool resync_end = false;
};

class WatchSink {
 public:
  virtual ~WatchSink() = default;
  // Events in index order. Returns false when the watcher is gone (the hub then drops it).
  virtual bool deliver(std::vector<WatchEvent> events) = 0;
  // The hub ends the watch (e.g. the node is stopping).
  virtual void close(Status why) = 0;
};

// Reads one document's current state: exists + plain JSON value.
using DocumentReader =
    std::function<bool(const std::string& ns, const std::string& key, nlohmann::json& value)>;
// Lists every live key of ns that starts with prefix, in order.
using KeyLister =
    std::function<std::vector<std::string>(const std::string& ns, const std::string& prefix)>;

class WatchHub {
 public:
  static constexpr std::size_t kHistoryEntries = 100000;

  // Registers a watch and sends its catch-up events (history replay or resync) at once.
  void add(std::uint64_t id, WatchSpec spec, std::unique_ptr<WatchSink> sink,
           std::uint64_t applied_index, const DocumentReader& read, const KeyLister& list);
  void remove(std::uint64_t id);
  // The documents entry `index` changed.
  void changed(std::uint64_t index, const std::vector<replication::Change>& changes,
               const DocumentReader& read);
  // The state jumped (snapshot installed): history no longer describes it; every watch gets a
  // resync at `applied_index`.
  void reset(std::uint64_t applied_index, const DocumentReader& read, const KeyLister& list);
  void close_all(const Status& why);
  std::size_t size() const { return watches_.size(); }

 private:
  struct Watch {
    WatchSpec spec;
    std::unique_ptr<WatchSink> sink;
  };
  struct HistoryEntry {
    std::uint64_t index;
    std::string ns;
    std::string key;
  };
  static bool matches(const WatchSpec& spec, const std::string& ns, const std::string& key);
  std::vector<WatchEvent> resync_events(const WatchSpec& spec, std::uint64_t applied_index,
                                        const DocumentReader& read, const KeyLister& list) const;
  std::vector<WatchEvent> replay_events(const WatchSpec& spec, const DocumentReader& read) const;
  void deliver(std::uint64_t id, Watch& watch, std::vector<WatchEvent> events);

  std::map<std::uint64_t, Watch> watches_;
  std::deque<HistoryEntry> history_;  // ascending index, at most kHistoryEntries
  std::uint64_t history_floor_ = 0;   // every change after this index is in history_
};

}  // namespace neuroplex::node
