// Internal to api/web: the WebSocket readers of the vector memory operations
// (docs/protocol-websocket.md "Vector memories"), listed in json_protocol.cc's operation table.
#pragma once

#include "api/web/json_args.h"
#include "api/web/json_protocol.h"

namespace neuroplex::web {

Result<Call> collection_create_call(const Args& args, const replication::Limits& limits);
Result<Call> collection_drop_call(const Args& args, const replication::Limits& limits);
Result<Call> collection_list_call(const Args& args, const replication::Limits& limits);
Result<Call> memory_put_call(const Args& args, const replication::Limits& limits);
Result<Call> memory_get_call(const Args& args, const replication::Limits& limits);
Result<Call> memory_delete_call(const Args& args, const replication::Limits& limits);
Result<Call> memory_search_call(const Args& args, const replication::Limits& limits);

}  // namespace neuroplex::web
