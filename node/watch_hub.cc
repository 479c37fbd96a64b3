#include "node/watch_hub.h"

#include <map>
#include <utility>

namespace neuroplex::node {

bool WatchHub::matches(const WatchSpec& spec, const std::string& ns, const std::string& key) {
  return ns == spec.ns && key.compare(0, spec.prefix.size(), spec.prefix) == 0;
}

void WatchHub::add(std::uint64_t id, WatchSpec spec, std::unique_ptr<WatchSink> sink,
                   std::uint64_t applied_index, const DocumentReader& read, const KeyLister& list) {
  std::vector<WatchEvent> catch_up;
  if (spec.from_index > 0 && spec.from_index <= applied_index) {
    catch_up = spec.from_index > history_floor_ ? replay_events(spec, read)
                                                : resync_events(spec, applied_index, read, list);
  }
  auto [it, inserted] = watches_.emplace(id, Watch{std::move(spec), std::move(sink)});
  if (!inserted) return;
  if (!catch_up.empty()) deliver(id, it->second, std::move(catch_up));
}

void WatchHub::remove(std::uint64_t id) { watches_.erase(id); }

std::vector<WatchEvent> WatchHub::replay_events(const WatchSpec& spec,
                                                const DocumentReader& read) const {
  // Each key once, at the index of its latest change, in index order.
  std::map<std::pair<std::string, std::string>, std::uint64_t> latest;
  for (const HistoryEntry& entry : history_) {
    if (entry.index < spec.from_index || !matches(spec, entry.ns, entry.key)) continue;
    latest[{entry.ns, entry.key}] = entry.index;
  }
  std::multimap<std::uint64_t, std::pair<std::string, std::string>> ordered;
  for (const auto& [doc, index] : latest) ordered.emplace(index, doc);
  std::vector<WatchEvent> events;
  for (const auto& [index, doc] : ordered) {
    WatchEvent event{.index = index, .ns = doc.first, .key = doc.second};
    event.exists = read(doc.first, doc.second, event.value);
    events.push_back(std::move(event));
  }
  return events;
}

std::vector<WatchEvent> WatchHub::resync_events(const WatchSpec& spec, std::uint64_t applied_index,
                                                const DocumentReader& read,
                                                const KeyLister& list) const {
  std::vector<WatchEvent> events;
  for (std::string& key : list(spec.ns, spec.prefix)) {
    WatchEvent event{.index = applied_index, .ns = spec.ns, .key = std::move(key)};
    event.exists = read(event.ns, event.key, event.value);
    event.resync = true;
    if (event.exists) events.push_back(std::move(event));
  }
  events.push_back(
      WatchEvent{.index = applied_index, .ns = spec.ns, .resync = true, .resync_end = true});
  return events;
}

void WatchHub::changed(std::uint64_t index, const std::vector<replication::Change>& changes,
                       const DocumentReader& read) {
  for (const replication::Change& change : changes) {
    history_.push_back(HistoryEntry{index, change.ns, change.key});
  }
  while (history_.size() > kHistoryEntries) {
    history_floor_ = history_.front().index;
    history_.pop_front();
  }
  if (watches_.empty()) return;
  // One delivery per watch per entry (an entry may carry thousands of changes), each document
  // read once however many watches match it.
  std::map<std::uint64_t, std::vector<WatchEvent>> batches;
  for (const replication::Change& change : changes) {
    bool read_done = false;
    WatchEvent event{.index = index, .ns = change.ns, .key = change.key};
    for (auto& [id, watch] : watches_) {
      if (!matches(watch.spec, change.ns, change.key)) continue;
      if (!read_done) {
        event.exists = read(change.ns, change.key, event.value);
        read_done = true;
      }
      batches[id].push_back(event);
    }
  }
  for (auto& [id, events] : batches) {
    auto it = watches_.find(id);
    if (it != watches_.end()) deliver(id, it->second, std::move(events));
  }
}

void WatchHub::reset(std::uint64_t applied_index, const DocumentReader& read,
                     const KeyLister& list) {
  history_.clear();
  history_floor_ = applied_index;
  for (auto it = watches_.begin(); it != watches_.end();) {
    auto& [id, watch] = *it++;
    deliver(id, watch, resync_events(watch.spec, applied_index, read, list));
  }
}

void WatchHub::deliver(std::uint64_t id, Watch& watch, std::vector<WatchEvent> events) {
  if (events.empty()) return;
  if (!watch.sink->deliver(std::move(events))) watches_.erase(id);
}

void WatchHub::close_all(const Status& why) {
  for (auto& [id, watch] : watches_) watch.sink->close(why);
  watches_.clear();
}

}  // namespace neuroplex::node
