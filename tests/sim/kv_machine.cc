#include "tests/sim/kv_machine.h"

#include <cassert>

#include "tests/sim/sim_runtime.h"

namespace neuroplex::sim {
namespace {

// Little-endian fixed-width integers and length-prefixed strings.
class Writer {
 public:
  void u8(std::uint8_t value) { out_.push_back(static_cast<char>(value)); }
  void u64(std::uint64_t value) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>(value >> (8 * i)));
  }
  void str(std::string_view text) {
    u64(text.size());
    out_.append(text);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view bytes) : in_(bytes) {}

  bool u8(std::uint8_t& value) {
    if (in_.size() < 1) return false;
    value = static_cast<std::uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool u64(std::uint64_t& value) {
    if (in_.size() < 8) return false;
    value = 0;
    for (int i = 0; i < 8; ++i) {
      value |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[i])) << (8 * i);
    }
    in_.remove_prefix(8);
    return true;
  }
  bool str(std::string& text) {
    std::uint64_t size = 0;
    if (!u64(size) || size > in_.size()) return false;
    text.assign(in_.substr(0, size));
    in_.remove_prefix(size);
    return true;
  }
  [[nodiscard]] bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace

std::string encode_command(const KvCommand& command) {
  Writer out;
  out.u8(static_cast<std::uint8_t>(command.kind));
  out.u64(command.client);
  out.u64(command.op);
  out.str(command.key);
  out.str(command.value);
  out.str(command.expected);
  return out.take();
}

std::optional<KvCommand> decode_command(std::string_view bytes) {
  Reader in(bytes);
  KvCommand command;
  std::uint8_t kind = 0;
  if (!in.u8(kind) || !in.u64(command.client) || !in.u64(command.op) || !in.str(command.key) ||
      !in.str(command.value) || !in.str(command.expected) || !in.done()) {
    return std::nullopt;
  }
  if (kind != static_cast<std::uint8_t>(KvCommandKind::kPut) &&
      kind != static_cast<std::uint8_t>(KvCommandKind::kCas)) {
    return std::nullopt;
  }
  command.kind = static_cast<KvCommandKind>(kind);
  return command;
}

void KvMachine::apply(const raft::Entry& entry) {
  assert(entry.index == applied_ + 1);
  applied_ = entry.index;
  if (entry.type != raft::EntryType::kNormal || entry.data.empty()) return;
  std::optional<KvCommand> command = decode_command(entry.data);
  assert(command.has_value() && "every normal entry the simulator proposes is a command");
  SessionRecord record{.op = command->op, .succeeded = true, .index = entry.index};
  if (command->kind == KvCommandKind::kPut) {
    data_[command->key] = command->value;
  } else {
    auto it = data_.find(command->key);
    record.succeeded = it != data_.end() && it->second == command->expected;
    if (record.succeeded) it->second = command->value;
  }
  SessionRecord& session = sessions_[command->client];
  assert(command->op > session.op && "a client's ops are applied in the order it issued them");
  session = record;
}

std::optional<std::string> KvMachine::get(const std::string& key) const {
  auto it = data_.find(key);
  if (it == data_.end()) return std::nullopt;
  return it->second;
}

const SessionRecord* KvMachine::session(std::uint64_t client) const {
  auto it = sessions_.find(client);
  return it == sessions_.end() ? nullptr : &it->second;
}

std::string KvMachine::serialize() const {
  Writer out;
  out.u64(applied_);
  out.u64(data_.size());
  for (const auto& [key, value] : data_) {
    out.str(key);
    out.str(value);
  }
  out.u64(sessions_.size());
  for (const auto& [client, record] : sessions_) {
    out.u64(client);
    out.u64(record.op);
    out.u8(record.succeeded ? 1 : 0);
    out.u64(record.index);
  }
  return out.take();
}

bool KvMachine::restore(std::string_view bytes) {
  Reader in(bytes);
  KvMachine next;
  std::uint64_t count = 0;
  if (!in.u64(next.applied_) || !in.u64(count)) return false;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string key;
    std::string value;
    if (!in.str(key) || !in.str(value)) return false;
    next.data_.emplace(std::move(key), std::move(value));
  }
  if (!in.u64(count)) return false;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t client = 0;
    SessionRecord record;
    std::uint8_t succeeded = 0;
    if (!in.u64(client) || !in.u64(record.op) || !in.u8(succeeded) || !in.u64(record.index)) {
      return false;
    }
    record.succeeded = succeeded != 0;
    next.sessions_.emplace(client, record);
  }
  if (!in.done()) return false;
  *this = std::move(next);
  return true;
}

std::uint64_t KvMachine::state_hash() const {
  Hasher hasher;
  hasher.add(applied_);
  for (const auto& [key, value] : data_) hasher.add(key).add(value);
  for (const auto& [client, record] : sessions_) {
    hasher.add(client).add(record.op).add(record.succeeded ? 1 : 0).add(record.index);
  }
  return hasher.value();
}

}  // namespace neuroplex::sim
