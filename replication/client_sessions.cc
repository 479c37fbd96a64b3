#include "replication/client_sessions.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "replication/state_layout.h"

namespace neuroplex::replication {
namespace {

using storage::Column;

constexpr char kSessionFormat = 1;
constexpr std::size_t kSessionHeaderBytes = 17;  // format, floor, last_used_ms
constexpr std::size_t kOutcomeHeaderBytes = 9;   // index, code
// Remembered messages are cut here (at a UTF-8 boundary): they are ours and short, but a record
// must not grow with whatever a future error message quotes.
constexpr std::size_t kMaxRememberedMessageBytes = 512;
constexpr std::uint64_t kNoSessions = std::numeric_limits<std::uint64_t>::max();

// Remembered outcomes persist ErrorCode's numeric values: they must never change.
static_assert(static_cast<int>(ErrorCode::kOk) == 0 &&
              static_cast<int>(ErrorCode::kInvalidArgument) == 1 &&
              static_cast<int>(ErrorCode::kNotFound) == 2 &&
              static_cast<int>(ErrorCode::kTypeMismatch) == 3 &&
              static_cast<int>(ErrorCode::kTooLarge) == 4 &&
              static_cast<int>(ErrorCode::kNotLeader) == 5 &&
              static_cast<int>(ErrorCode::kUnavailable) == 6 &&
              static_cast<int>(ErrorCode::kUnauthenticated) == 7 &&
              static_cast<int>(ErrorCode::kPermissionDenied) == 8 &&
              static_cast<int>(ErrorCode::kRateLimited) == 9 &&
              static_cast<int>(ErrorCode::kInternal) == 10);
constexpr int kMaxErrorCode = static_cast<int>(ErrorCode::kInternal);

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  ++end.back();  // every session prefix ends in '/'
  return end;
}

Status corrupt(std::string_view what, std::uint64_t client) {
  return internal_error("session record of client " + std::to_string(client) +
                        " is corrupt: " + std::string(what));
}

std::string truncated(const std::string& message) {
  if (message.size() <= kMaxRememberedMessageBytes) return message;
  std::size_t end = kMaxRememberedMessageBytes;
  while (end > 0 && (static_cast<unsigned char>(message[end]) & 0xc0) == 0x80) --end;
  return message.substr(0, end);
}

std::string encode_outcome(const Outcome& outcome) {
  std::string bytes = encode_u64(outcome.index);
  bytes.push_back(static_cast<char>(outcome.status.code()));
  bytes += outcome.status.message();
  return bytes;
}

std::optional<Outcome> decode_outcome(std::string_view bytes) {
  if (bytes.size() < kOutcomeHeaderBytes) return std::nullopt;
  int code = static_cast<unsigned char>(bytes[8]);
  if (code > kMaxErrorCode) return std::nullopt;
  std::string message(bytes.substr(kOutcomeHeaderBytes));
  if (code == 0 && !message.empty()) return std::nullopt;
  return Outcome{*decode_u64(bytes.substr(0, 8)),
                 Status(static_cast<ErrorCode>(code), std::move(message))};
}

}  // namespace

Status validate_request_id(const RequestId& id) {
  if (id.client == 0) return Status::ok();
  if (id.seq == 0) return invalid_argument("request id: seq must be at least 1");
  if (id.acked_below > id.seq) {
    return invalid_argument("request id: acked_below (" + std::to_string(id.acked_below) +
                            ") must not exceed seq (" + std::to_string(id.seq) +
                            "): the reply to seq is still awaited");
  }
  return Status::ok();
}

ClientSessions::ClientSessions(const storage::KvStore& store, const SessionLimits& limits)
    : store_(store), limits_(limits) {
  assert(limits.idle_expiry_ms > 0 && limits.max_remembered > 0);
}

bool ClientSessions::expired(std::uint64_t last_used_ms) const {
  return now_ms_ >= limits_.idle_expiry_ms && last_used_ms <= now_ms_ - limits_.idle_expiry_ms;
}

Status ClientSessions::begin_entry(std::uint64_t index, std::uint64_t timestamp_ms,
                                   std::size_t ops_with_ids) {
  assert(working_.empty() && "the previous entry was committed or aborted");
  index_ = index;
  now_ms_ = timestamp_ms;
  if (oldest_last_used_ms_ && !expired(*oldest_last_used_ms_)) return Status::ok();
  return expire_sessions(limits_.expire_per_entry + ops_with_ids);
}

// Deletes the `budget` oldest expired sessions, walking the expiry index in key order.
Status ClientSessions::expire_sessions(std::size_t budget) {
  std::string begin = oldest_last_used_ms_ ? session_expiry_key(*oldest_last_used_ms_, 0)
                                           : std::string(kMetaSessionExpiryPrefix);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> victims;  // (last_used_ms, client)
  std::uint64_t oldest = kNoSessions;
  Status bad_key;
  auto visit = [&](std::string_view key, std::string_view) {
    auto entry = parse_session_key_pair(key, kMetaSessionExpiryPrefix);
    if (!entry) {
      bad_key = internal_error("a session expiry key is corrupt");
      return false;
    }
    if (!expired(entry->first) || victims.size() == budget) {
      oldest = entry->first;
      return false;
    }
    victims.push_back(*entry);
    return true;
  };
  Status scanned = store_.scan(Column::kMeta, begin, prefix_end(kMetaSessionExpiryPrefix), visit);
  NPX_RETURN_IF_ERROR(scanned);
  NPX_RETURN_IF_ERROR(bad_key);
  for (auto [last_used_ms, client] : victims) {
    Result<Working*> working = load(client);
    if (!working.is_ok()) return working.status();
    if (!(*working)->stored || (*working)->session->last_used_ms != last_used_ms) {
      return corrupt("its expiry key does not match its record", client);
    }
    forget_all(**working);
  }
  oldest_last_used_ms_ = oldest;
  return Status::ok();
}

Result<std::optional<ClientSessions::Session>> ClientSessions::read_session(
    std::uint64_t client) const {
  Result<std::optional<std::string>> header = store_.get(Column::kMeta, session_key(client));
  if (!header.is_ok()) return header.status();
  if (!header->has_value()) return std::optional<Session>();
  const std::string& bytes = **header;
  if (bytes.size() != kSessionHeaderBytes || bytes[0] != kSessionFormat) {
    return corrupt("unknown header format", client);
  }
  Session session;
  session.floor = *decode_u64(std::string_view(bytes).substr(1, 8));
  session.last_used_ms = *decode_u64(std::string_view(bytes).substr(9, 8));
  Status bad;
  std::string end = client == kNoSessions ? prefix_end(kMetaSessionOutcomePrefix)
                                          : session_outcome_key(client + 1);
  Status scanned = store_.scan(
      Column::kMeta, session_outcome_key(client), end,
      [&](std::string_view key, std::string_view value) {
        auto seq = parse_session_key_pair(key, kMetaSessionOutcomePrefix);
        std::optional<Outcome> outcome = decode_outcome(value);
        if (!seq || !outcome || seq->second < session.floor) {
          bad = corrupt("a remembered outcome is malformed or below the floor", client);
          return false;
        }
        session.remembered.emplace_hint(session.remembered.end(), seq->second, std::move(*outcome));
        return true;
      });
  NPX_RETURN_IF_ERROR(scanned);
  NPX_RETURN_IF_ERROR(bad);
  return std::optional<Session>(std::move(session));
}

Result<ClientSessions::Working*> ClientSessions::load(std::uint64_t client) {
  if (auto it = working_.find(client); it != working_.end()) return &it->second;
  auto cached = cache_.find(client);
  bool stored = cached != cache_.end();
  if (!stored) {
    Result<std::optional<Session>> read = read_session(client);
    if (!read.is_ok()) return read.status();
    stored = read->has_value();
    cached = cache_.emplace(client, stored ? std::move(**read) : Session{}).first;
    cached_outcomes_ += cached->second.remembered.size();
  }
  Session& session = cached->second;
  Working working{&session, stored, session.last_used_ms, stored, {}, {}};
  return &working_.emplace(client, std::move(working)).first->second;
}

void ClientSessions::forget_all(Working& working) {
  Session& session = *working.session;
  for (const auto& [seq, outcome] : session.remembered) {
    if (working.puts.erase(seq) == 0) working.erases.insert(seq);
  }
  cached_outcomes_ -= session.remembered.size();
  session = Session{};
  working.live = false;
}

void ClientSessions::drop(Working& working, std::map<std::uint64_t, Outcome>::iterator it) {
  Session& session = *working.session;
  session.floor = std::max(session.floor, it->first + 1);
  // A seq put this entry over a stored one is in both sets: the erase stays.
  if (working.puts.erase(it->first) == 0) working.erases.insert(it->first);
  session.remembered.erase(it);
  --cached_outcomes_;
}

Result<std::optional<Outcome>> ClientSessions::find(const RequestId& id) {
  assert(id.client != 0 && validate_request_id(id).is_ok());
  Result<Working*> loaded = load(id.client);
  if (!loaded.is_ok()) return loaded.status();
  Working& working = **loaded;
  Session& session = *working.session;
  if (working.live && expired(session.last_used_ms)) forget_all(working);
  working.live = true;
  session.last_used_ms = std::max(session.last_used_ms, now_ms_);
  if (id.seq < session.floor) {
    return std::optional<Outcome>(
        Outcome{0, unavailable("request expired: seq " + std::to_string(id.seq) + " of client " +
                               std::to_string(id.client) +
                               " is older than the cluster remembers, so whether it was applied is "
                               "unknown; it was not applied again")});
  }
  auto it = session.remembered.find(id.seq);
  if (it == session.remembered.end()) return std::optional<Outcome>();
  return std::optional<Outcome>(it->second);
}

void ClientSessions::remember(const RequestId& id, const Status& status) {
  Working& working = working_.at(id.client);
  Session& session = *working.session;
  assert(id.seq >= session.floor && !session.remembered.contains(id.seq));
  session.remembered.emplace(id.seq,
                             Outcome{index_, Status(status.code(), truncated(status.message()))});
  working.puts.insert(id.seq);
  ++cached_outcomes_;
  while (session.remembered.size() > limits_.max_remembered) {
    drop(working, session.remembered.begin());
  }
}

void ClientSessions::acknowledge(const RequestId& id) {
  Working& working = working_.at(id.client);
  Session& session = *working.session;
  session.floor = std::max(session.floor, id.acked_below);
  while (!session.remembered.empty() && session.remembered.begin()->first < session.floor) {
    drop(working, session.remembered.begin());
  }
}

void ClientSessions::flush(storage::WriteBatch& batch) {
  std::map<std::string, std::optional<std::string>> writes;  // key order; nullopt = erase
  for (auto& [client, working] : working_) {
    const Session& session = *working.session;
    if (working.live) {
      std::string header(1, kSessionFormat);
      header += encode_u64(session.floor);
      header += encode_u64(session.last_used_ms);
      writes[session_key(client)] = std::move(header);
    } else if (working.stored) {
      writes[session_key(client)] = std::nullopt;
    }
    for (std::uint64_t seq : working.erases) {
      writes[session_outcome_key(client, seq)] = std::nullopt;
    }
    for (std::uint64_t seq : working.puts) {  // after the erases: a put wins
      writes[session_outcome_key(client, seq)] = encode_outcome(session.remembered.at(seq));
    }
    bool moved = working.stored_last_used_ms != session.last_used_ms;
    if (working.stored && (!working.live || moved)) {
      writes[session_expiry_key(working.stored_last_used_ms, client)] = std::nullopt;
    }
    if (working.live && (!working.stored || moved)) {
      writes[session_expiry_key(session.last_used_ms, client)] = std::string();
      if (oldest_last_used_ms_) {
        oldest_last_used_ms_ = std::min(*oldest_last_used_ms_, session.last_used_ms);
      }
    }
  }
  for (auto& [key, value] : writes) {
    if (value) {
      batch.put(Column::kMeta, key, std::move(*value));
    } else {
      batch.erase(Column::kMeta, key);
    }
  }
}

void ClientSessions::commit() {
  for (auto& [client, working] : working_) {
    if (!working.live) cache_.erase(client);  // forget_all left it without outcomes
  }
  working_.clear();
  if (cache_.size() + cached_outcomes_ > limits_.cache_entries) {
    cache_.clear();
    cached_outcomes_ = 0;
  }
}

void ClientSessions::abort() {
  working_.clear();
  cache_.clear();
  cached_outcomes_ = 0;
  oldest_last_used_ms_.reset();
}

}  // namespace neuroplex::replication
