// Membership queries, single-server changes, the binary encoding, and bootstrap.
#include <algorithm>
#include <cstring>

#include "base/little_endian.h"
#include "raft/types.h"

namespace neuroplex::raft {

const Member* Membership::find(NodeId id) const {
  auto it = std::lower_bound(members.begin(), members.end(), id,
                             [](const Member& member, NodeId key) { return member.id < key; });
  return it != members.end() && it->id == id ? &*it : nullptr;
}

bool Membership::is_voter(NodeId id) const {
  const Member* member = find(id);
  return member != nullptr && member->voter;
}

std::vector<NodeId> Membership::voters() const {
  std::vector<NodeId> ids;
  for (const Member& member : members) {
    if (member.voter) ids.push_back(member.id);
  }
  return ids;
}

std::size_t Membership::voter_count() const {
  return static_cast<std::size_t>(
      std::count_if(members.begin(), members.end(), [](const Member& m) { return m.voter; }));
}

std::vector<NodeId> Membership::ids() const {
  std::vector<NodeId> out;
  out.reserve(members.size());
  for (const Member& member : members) out.push_back(member.id);
  return out;
}

Result<Membership> apply_change(const Membership& current, const MembershipChange& change) {
  if (change.node == kNoNode) return invalid_argument("membership change: node id 0 is reserved");
  Membership next = current;
  auto it = std::find_if(next.members.begin(), next.members.end(),
                         [&](const Member& member) { return member.id == change.node; });
  if (change.type == ChangeType::kRemove) {
    if (it == next.members.end()) return invalid_argument("membership change: not a member");
    next.members.erase(it);
  } else {
    const bool voter = change.type == ChangeType::kAddVoter;
    if (it != next.members.end()) {
      if (it->voter == voter && (change.address.empty() || change.address == it->address)) {
        return invalid_argument("membership change: changes nothing");
      }
      it->voter = voter;
      if (!change.address.empty()) it->address = change.address;
    } else {
      next.members.push_back(Member{change.node, voter, change.address});
      std::sort(next.members.begin(), next.members.end(),
                [](const Member& a, const Member& b) { return a.id < b.id; });
    }
  }
  if (next.voter_count() == 0) return invalid_argument("membership change: would leave no voter");
  return next;
}

namespace {

constexpr std::uint8_t kMembershipFormat = 1;

}  // namespace

// Layout: [format u8][count u64] then per member [id u64][voter u8][address length u64][bytes].
// Little-endian. Members in id order.
std::string encode_membership(const Membership& membership) {
  std::string out;
  out.push_back(static_cast<char>(kMembershipFormat));
  put_le<std::uint64_t>(out, membership.members.size());
  for (const Member& member : membership.members) {
    put_le<std::uint64_t>(out, member.id);
    out.push_back(member.voter ? 1 : 0);
    put_le<std::uint64_t>(out, member.address.size());
    out += member.address;
  }
  return out;
}

Result<Membership> decode_membership(std::string_view in) {
  if (in.empty() || static_cast<std::uint8_t>(in[0]) != kMembershipFormat) {
    return invalid_argument("membership: unknown format");
  }
  in.remove_prefix(1);
  std::uint64_t count = 0;
  if (!take_le(in, count) || count > in.size() / 17) {
    return invalid_argument("membership: bad member count");
  }
  Membership membership;
  for (std::uint64_t i = 0; i < count; ++i) {
    Member member;
    std::uint64_t length = 0;
    if (!take_le(in, member.id) || in.empty()) return invalid_argument("membership: truncated");
    const auto voter = static_cast<std::uint8_t>(in[0]);
    in.remove_prefix(1);
    if (voter > 1 || !take_le(in, length) || length > in.size()) {
      return invalid_argument("membership: truncated member");
    }
    member.voter = voter == 1;
    member.address.assign(in.substr(0, length));
    in.remove_prefix(length);
    if (member.id == kNoNode ||
        (!membership.members.empty() && membership.members.back().id >= member.id)) {
      return invalid_argument("membership: ids must be >= 1 and increasing");
    }
    membership.members.push_back(std::move(member));
  }
  if (!in.empty()) return invalid_argument("membership: trailing bytes");
  return membership;
}

DurableState bootstrap(const Membership& founders) {
  DurableState state;
  state.hard_state = HardState{.term = 1, .vote = kNoNode, .commit = 1};
  state.entries.push_back(Entry{
      .index = 1, .term = 1, .type = EntryType::kMembership, .data = encode_membership(founders)});
  return state;
}

}  // namespace neuroplex::raft
