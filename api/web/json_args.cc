#include "api/web/json_args.h"

#include "replication/client_sessions.h"

namespace neuroplex::web {

Result<replication::RequestId> request_id_of(const Args& args) {
  replication::RequestId id;
  const json* value = args.find("request_id");
  if (value == nullptr) return id;
  if (!value->is_object()) return invalid_argument("field \"request_id\" must be an object");
  Args fields(*value);
  Status status = fields.only({"client", "seq", "acked_below"});
  if (status.is_ok()) status = take(fields.unsigned_integer("client"), id.client);
  if (status.is_ok()) status = take(fields.unsigned_integer("seq"), id.seq);
  if (status.is_ok()) status = take(fields.unsigned_integer("acked_below", false), id.acked_below);
  if (status.is_ok()) status = replication::validate_request_id(id);
  if (!status.is_ok()) return Status(status.code(), "request_id: " + status.message());
  return id;
}

Result<node::Consistency> consistency_of(const Args& args) {
  Result<std::string> name = args.string("consistency", false);
  if (!name.is_ok()) return name.status();
  if (name->empty() || *name == "linearizable") return node::Consistency::kLinearizable;
  if (*name == "lease") return node::Consistency::kLease;
  if (*name == "local") return node::Consistency::kLocal;
  return invalid_argument("consistency must be linearizable, lease or local, not \"" + *name +
                          "\"");
}

}  // namespace neuroplex::web
