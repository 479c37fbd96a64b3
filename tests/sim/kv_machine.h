// The replicated state machine the simulator runs on every node: a string -> string map with put
// and compare-and-set, plus a session table that tells a client whether (and how) its operation
// was applied.
//
// Commands travel in raft::Entry::data of normal entries; an empty normal entry is the leader's
// no-op and membership entries are not for this machine: both only advance applied(). Every
// command carries (client id, op id). A client has at most one operation outstanding and its op
// ids increase, so the session table (client -> the newest op applied, with its result) answers
// "was my op applied?" on any node, also after the state arrived in a snapshot.
//
// Value type; single-threaded like the node that owns it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "raft/types.h"

namespace neuroplex::sim {

enum class KvCommandKind : std::uint8_t { kPut = 1, kCas = 2 };

struct KvCommand {
  KvCommandKind kind = KvCommandKind::kPut;
  std::uint64_t client = 0;
  std::uint64_t op = 0;
  std::string key;
  std::string value;     // put: the value; cas: the new value
  std::string expected;  // cas: the value it must replace

  friend bool operator==(const KvCommand&, const KvCommand&) = default;
};

[[nodiscard]] std::string encode_command(const KvCommand& command);
// nullopt on malformed bytes.
[[nodiscard]] std::optional<KvCommand> decode_command(std::string_view bytes);

struct SessionRecord {
  std::uint64_t op = 0;   // the newest op of this client applied
  bool succeeded = true;  // cas: whether it swapped; put: always true
  raft::Index index = 0;  // where it was applied

  friend bool operator==(const SessionRecord&, const SessionRecord&) = default;
};

class KvMachine {
 public:
  // Applies the committed entry at applied() + 1. Precondition: entry.index == applied() + 1 and
  // a normal entry's data is empty or a valid command.
  void apply(const raft::Entry& entry);

  [[nodiscard]] raft::Index applied() const { return applied_; }
  [[nodiscard]] std::optional<std::string> get(const std::string& key) const;
  [[nodiscard]] const SessionRecord* session(std::uint64_t client) const;
  [[nodiscard]] std::size_t size() const { return data_.size(); }

  // The whole state at applied(), for snapshots. restore() is its inverse and returns false on
  // malformed input (leaving the machine unchanged).
  [[nodiscard]] std::string serialize() const;
  [[nodiscard]] bool restore(std::string_view bytes);

  // A fingerprint of the whole state (applied index, data and sessions).
  [[nodiscard]] std::uint64_t state_hash() const;

 private:
  // Invariant: applied_ is the index of the last entry applied (or restored from a snapshot).
  raft::Index applied_ = 0;
  std::map<std::string, std::string> data_;
  std::map<std::uint64_t, SessionRecord> sessions_;
};

}  // namespace neuroplex::sim
