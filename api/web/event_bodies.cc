#include "api/web/event_bodies.h"

#include "api/web/json_protocol.h"

namespace neuroplex::web {

const std::string& EventBodies::body(const node::WatchEvent& event) {
  scratch_.clear();
  scratch_ += std::to_string(event.index);
  scratch_ += event.resync ? 'r' : 'l';
  scratch_ += event.ns;
  scratch_ += '\0';  // namespaces hold no NUL, so (ns, key) splits unambiguously
  scratch_ += event.key;
  auto found = bodies_.find(scratch_);
  if (found != bodies_.end()) return found->second;
  if (bodies_.size() >= kMaxEntries) bodies_.clear();
  return bodies_.emplace(scratch_, encode_event_body(event)).first->second;
}

}  // namespace neuroplex::web
