#include "storage/snapshot/state_root.h"

#include <cassert>
#include <charconv>
#include <filesystem>
#include <optional>
#include <system_error>
#include <vector>

#include "base/file_util.h"
#include "storage/snapshot/manifest.h"
#include "storage/snapshot/snapshot_dir.h"

namespace neuroplex::snapshot {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kCurrent = "CURRENT";
constexpr std::string_view kCurrentTmp = "CURRENT.tmp";
constexpr std::string_view kStatePrefix = "state-";
constexpr std::string_view kIncomingPrefix = "incoming-";

std::string join(const std::string& root, std::string_view name) {
  return (fs::path(root) / name).string();
}

std::string state_name(std::uint64_t generation) {
  return std::string(kStatePrefix) + std::to_string(generation);
}

// The generation of a "state-<n>" name (n >= 1, decimal, no leading zero), else nullopt.
std::optional<std::uint64_t> parse_state_name(std::string_view name) {
  if (!name.starts_with(kStatePrefix)) return std::nullopt;
  std::string_view digits = name.substr(kStatePrefix.size());
  if (digits.empty() || digits[0] == '0') return std::nullopt;
  std::uint64_t generation = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), generation);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return generation;
}

Result<std::vector<std::string>> list_names(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  if (ec) return internal_error("cannot list '" + dir + "': " + ec.message());
  return names;
}

Result<std::uint64_t> read_current(const std::string& root) {
  std::string path = join(root, kCurrent);
  Result<std::string> text = read_file(path, 64);
  if (!text.is_ok()) return text.status();
  std::optional<std::uint64_t> generation;
  if (text->ends_with('\n')) generation = parse_state_name(text->substr(0, text->size() - 1));
  if (!generation) return internal_error("corrupt '" + path + "': '" + *text + "'");
  std::error_code ec;
  if (!fs::is_directory(join(root, state_name(*generation)), ec)) {
    return internal_error("'" + path + "' names " + state_name(*generation) +
                          ", which is not a directory");
  }
  return *generation;
}

bool is_leftover_name(std::string_view name) {
  return name == kCurrentTmp || name.starts_with(kIncomingPrefix) || parse_state_name(name);
}

// First use: nothing but leftovers of an interrupted first use may be here. A state directory
// with content means CURRENT was lost, and guessing which state is current could lose data.
Result<StateDir> initialize(const std::string& root) {
  Result<std::vector<std::string>> names = list_names(root);
  if (!names.is_ok()) return names.status();
  for (const std::string& name : *names) {
    if (!is_leftover_name(name)) {
      return invalid_argument("'" + root + "' is not a state root: it has no CURRENT and holds '" +
                              name + "'");
    }
    std::error_code ec;
    if (parse_state_name(name) && !fs::is_empty(join(root, name), ec)) {
      return internal_error("state root '" + root + "' has no CURRENT but holds a non-empty '" +
                            name + "'; refusing to guess the current state");
    }
  }
  for (const std::string& name : *names) NPX_RETURN_IF_ERROR(remove_tree(join(root, name)));
  StateDir state{join(root, state_name(1)), 1};
  NPX_RETURN_IF_ERROR(create_dir_durably(state.path));
  NPX_RETURN_IF_ERROR(replace_file_durably(join(root, kCurrent), state_name(1) + "\n"));
  return state;
}

}  // namespace

Result<StateDir> open_current(const std::string& state_root) {
  if (state_root.empty()) return invalid_argument("state root is empty");
  std::error_code ec;
  if (!fs::exists(state_root, ec)) {
    fs::create_directories(state_root, ec);
    if (ec) return internal_error("cannot create '" + state_root + "': " + ec.message());
    NPX_RETURN_IF_ERROR(sync_parent_dir(fs::absolute(state_root).lexically_normal().string()));
  } else if (!fs::is_directory(state_root, ec)) {
    return invalid_argument("state root '" + state_root + "' is not a directory");
  }
  Result<bool> has_current = path_exists(join(state_root, kCurrent));
  if (!has_current.is_ok()) return has_current.status();
  if (!*has_current) return initialize(state_root);

  Result<std::uint64_t> generation = read_current(state_root);
  if (!generation.is_ok()) return generation.status();
  StateDir state{join(state_root, state_name(*generation)), *generation};
  Result<std::vector<std::string>> names = list_names(state_root);
  if (!names.is_ok()) return names.status();
  bool removed = false;
  for (const std::string& name : *names) {
    if (name == state_name(*generation) || !is_leftover_name(name)) continue;
    NPX_RETURN_IF_ERROR(remove_tree(join(state_root, name)));
    removed = true;
  }
  if (removed) NPX_RETURN_IF_ERROR(sync_dir(state_root));
  return state;
}

Result<StateDir> install(const std::string& state_root, const std::string& snapshot_dir) {
  Result<std::uint64_t> generation = read_current(state_root);
  if (!generation.is_ok()) return generation.status();
  Result<Manifest> manifest = verify_snapshot_dir(snapshot_dir, SyncFiles::kYes);
  if (!manifest.is_ok()) return manifest.status();

  std::string old_path = join(state_root, state_name(*generation));
  StateDir next{join(state_root, state_name(*generation + 1)), *generation + 1};
  NPX_RETURN_IF_ERROR(remove_tree(next.path));  // the leftover of a crashed install
  NPX_RETURN_IF_ERROR(rename_durably(snapshot_dir, next.path));
  // The commit point: once the new CURRENT is durable, the new state is the state.
  Status flipped =
      replace_file_durably(join(state_root, kCurrent), state_name(next.generation) + "\n");
  if (!flipped.is_ok()) {
    // CURRENT still names the old state unless the rename happened and only the directory fsync
    // failed; in that case neither moving the snapshot back nor keeping it is safe to assume.
    Result<std::uint64_t> now = read_current(state_root);
    if (now.is_ok() && *now == *generation) (void)rename_durably(next.path, snapshot_dir);
    return flipped;
  }
  // Past the commit point: failing to delete the old state only leaves a leftover that the next
  // open_current() removes, so it is not an install failure.
  (void)remove_tree(old_path);
  (void)sync_dir(state_root);
  return next;
}

std::string staging_path(const std::string& state_root, std::string_view tag) {
  assert(check_file_name(tag).is_ok() && "staging tag must be a plain name");
  return join(state_root, std::string(kIncomingPrefix) + std::string(tag));
}

}  // namespace neuroplex::snapshot
