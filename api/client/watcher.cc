#include "api/client/watcher.h"

#include <kj/debug.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "api/client/wire_codec.h"

namespace neuroplex::client {

bool DeliveryLog::skip_or_record(const WatchEvent& event) {
  if (last_index_.has_value() && !event.resync) {
    if (event.index < *last_index_) return true;  // an attempt resent history the caller has
    if (event.index == *last_index_) {
      auto repeat = std::find(replay_skip_.begin(), replay_skip_.end(), event.key);
      if (repeat != replay_skip_.end()) {
        replay_skip_.erase(repeat);
        return true;
      }
    }
  }
  if (!last_index_.has_value() || event.index > *last_index_) {
    last_index_ = event.index;
    keys_at_last_.clear();
    replay_skip_.clear();
  }
  if (event.index == *last_index_) keys_at_last_.push_back(event.key);
  return false;
}

void WatchState::end(WatchEnd how, Status why) {
  if (ended.get() == nullptr || !ended->isWaiting()) return;
  status = std::move(why);
  ended->fulfill(kj::mv(how));
}

kj::Promise<void> WatcherImpl::event(EventContext context) {
  if (!current()) KJ_FAIL_REQUIRE("this watch has ended");
  Result<WatchEvent> event = read_event(context.getParams().getEvent());
  if (!event.is_ok()) {
    state_->end(WatchEnd::kFailed, event.status());
    KJ_FAIL_REQUIRE("bad watch event", event.status().to_string());
  }
  if (state_->delivered.skip_or_record(*event)) return kj::READY_NOW;
  bool more = false;
  try {
    more = (*state_->on_event)(*event);
  } catch (const std::exception& exception) {
    state_->end(WatchEnd::kFailed,
                internal_error(std::string("watch callback threw: ") + exception.what()));
    KJ_FAIL_REQUIRE("watch callback failed");
  }
  if (!more) state_->end(WatchEnd::kStopped, Status::ok());
  return kj::READY_NOW;
}

kj::Promise<void> WatcherImpl::closed(ClosedContext context) {
  if (current()) {
    auto params = context.getParams();
    bool has_code = params.hasError() && params.getError().getCode().size() > 0;
    Status why =
        has_code ? read_error(params.getError()).status : unavailable("the node closed the watch");
    state_->end(WatchEnd::kClosed, std::move(why));
  }
  return kj::READY_NOW;
}

}  // namespace neuroplex::client
