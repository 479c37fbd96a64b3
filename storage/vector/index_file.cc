// The index file (docs/vector-index.md): HnswIndex::save writes the whole graph, vectors, ids,
// terms and generator state, so load() resumes exactly where save() stopped, with no rebuild.
//
// Layout, little-endian, every count checked on load before it sizes anything:
//   "NPXHNSW1" u32 version | options | u64 rng_state u64 consolidations
//   u32 used u32 entry u32 max_level+1 | u32 terms, each (u32 len, bytes)
//   per slot in [0, used): u32 state; unless free: u32 id len, id, u32 level,
//     u32 n, n term ids, per level 0..level (u32 count, count links), dim float32
//   u32 free count, free slots | u32 crc32c of every byte before it
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "base/crc32c.h"
#include "base/file_util.h"
#include "base/little_endian.h"
#include "storage/vector/search_level.h"

namespace neuroplex::vec {

static_assert(std::endian::native == std::endian::little, "index files store floats as they lie");

namespace {

constexpr std::string_view kMagic = "NPXHNSW1";
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kBufferBytes = 1 << 20;
constexpr std::uint32_t kMaxIdBytes = 1 << 16;
constexpr std::uint32_t kMaxTermBytes = 1 << 20;
constexpr std::uint32_t kMaxSlots = 1u << 30;

class FileWriter {
 public:
  explicit FileWriter(File& file) : file_(file) {}
  void u32(std::uint32_t v) { put_le(buffer_, v); }
  void u64(std::uint64_t v) { put_le(buffer_, v); }
  void bytes(std::string_view b) { buffer_.append(b); }
  void string(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    bytes(s);
  }
  Status maybe_flush() { return buffer_.size() >= kBufferBytes ? flush() : Status::ok(); }
  Status flush() {
    crc_ = crc32c_extend(crc_, buffer_.data(), buffer_.size());
    Status s = file_.append(buffer_);
    buffer_.clear();
    return s;
  }
  std::uint32_t crc() const { return crc_; }

 private:
  File& file_;
  std::string buffer_;
  std::uint32_t crc_ = 0;
};

class FileReader {
 public:
  explicit FileReader(const File& file) : file_(file) {}
  // Fills `out` with the next `size` bytes; false at a premature end or a read error.
  bool read(void* out, std::size_t size) {
    auto* dst = static_cast<char*>(out);
    while (size > 0) {
      if (pos_ == buffer_.size() && !refill()) return false;
      const std::size_t n = std::min(size, buffer_.size() - pos_);
      std::memcpy(dst, buffer_.data() + pos_, n);
      crc_ = crc32c_extend(crc_, buffer_.data() + pos_, n);
      pos_ += n;
      dst += n;
      size -= n;
    }
    return true;
  }
  bool u32(std::uint32_t& v) {
    char b[4];
    if (!read(b, 4)) return false;
    v = load_le<std::uint32_t>(b);
    return true;
  }
  bool u64(std::uint64_t& v) {
    char b[8];
    if (!read(b, 8)) return false;
    v = load_le<std::uint64_t>(b);
    return true;
  }
  bool string(std::string& s, std::uint32_t max) {
    std::uint32_t n = 0;
    if (!u32(n) || n > max) return false;
    s.resize(n);
    return read(s.data(), n);
  }
  std::uint32_t crc() const { return crc_; }
  const Status& error() const { return error_; }

 private:
  bool refill() {
    error_ = file_.read_at(offset_, kBufferBytes, buffer_);
    pos_ = 0;
    offset_ += buffer_.size();
    return error_.is_ok() && !buffer_.empty();
  }
  const File& file_;
  std::string buffer_;
  std::size_t pos_ = 0;
  std::uint64_t offset_ = 0;
  std::uint32_t crc_ = 0;
  Status error_;
};

void write_options(FileWriter& w, const IndexOptions& o) {
  w.u32(o.dim);
  w.u32(static_cast<std::uint32_t>(o.metric));
  w.u32(o.m);
  w.u32(o.ef_construction);
  w.u32(o.ef_search);
  w.u64(o.seed);
  w.u64(std::bit_cast<std::uint64_t>(o.consolidate_share));
}

bool read_options(FileReader& r, IndexOptions& o) {
  std::uint32_t metric = 0;
  std::uint64_t share = 0;
  if (!r.u32(o.dim) || !r.u32(metric) || !r.u32(o.m) || !r.u32(o.ef_construction) ||
      !r.u32(o.ef_search) || !r.u64(o.seed) || !r.u64(share) || metric > 2) {
    return false;
  }
  o.metric = static_cast<Metric>(metric);
  o.consolidate_share = std::bit_cast<double>(share);
  return true;
}

}  // namespace

Status HnswIndex::save(const std::string& path) const {
  const Impl& g = *impl_;
  std::lock_guard lock(g.writer_mutex);  // searches go on; writes wait
  const std::string tmp = path + ".tmp";
  if (std::remove(tmp.c_str()) != 0 && errno != ENOENT) return os_error("remove", tmp, errno);
  Result<File> file = File::create_new(tmp);
  if (!file.is_ok()) return file.status();
  FileWriter w(file.value());
  w.bytes(kMagic);
  w.u32(kVersion);
  write_options(w, g.options);
  w.u64(g.rng_state);
  w.u64(g.consolidations);
  w.u32(static_cast<std::uint32_t>(g.used));
  w.u32(g.entry.load());
  w.u32(static_cast<std::uint32_t>(g.max_level.load() + 1));
  w.u32(static_cast<std::uint32_t>(g.term_index.term_count()));
  for (TermId t = 0; t < g.term_index.term_count(); ++t) w.string(g.term_index.name(t));
  std::vector<Slot> links;
  for (Slot s = 0; s < g.used; ++s) {
    const SlotState state = g.state(s);
    w.u32(state);
    if (state == kFree) continue;
    const SlotInfo& info = g.slots[s];
    w.string(info.id);
    w.u32(static_cast<std::uint32_t>(info.level));
    w.u32(static_cast<std::uint32_t>(info.terms.size()));
    for (TermId t : info.terms) w.u32(t);
    for (int l = 0; l <= info.level; ++l) {
      g.read_links(s, l, links);
      w.u32(static_cast<std::uint32_t>(links.size()));
      for (Slot link : links) w.u32(link);
    }
    w.bytes({reinterpret_cast<const char*>(g.vector(s)), g.options.dim * sizeof(float)});
    if (Status st = w.maybe_flush(); !st.is_ok()) return st;
  }
  w.u32(static_cast<std::uint32_t>(g.free_slots.size()));
  for (Slot s : g.free_slots) w.u32(s);
  if (Status st = w.flush(); !st.is_ok()) return st;
  w.u32(w.crc());
  if (Status st = w.flush(); !st.is_ok()) return st;
  if (Status st = file.value().sync(); !st.is_ok()) return st;
  if (Status st = file.value().close(); !st.is_ok()) return st;
  return rename_durably(tmp, path);
}

namespace {

// Reads one occupied slot's record into `g` (slot storage already sized).
bool read_slot(FileReader& r, HnswIndex::Impl& g, Slot s, std::uint32_t used) {
  SlotInfo& info = g.slots[s];
  std::uint32_t level = 0;
  std::uint32_t term_count = 0;
  if (!r.string(info.id, kMaxIdBytes) || !r.u32(level) || level > 16 || !r.u32(term_count) ||
      term_count > g.term_index.term_count()) {
    return false;
  }
  info.level = static_cast<int>(level);
  info.terms.resize(term_count);
  for (TermId& t : info.terms) {
    if (!r.u32(t) || t >= g.term_index.term_count()) return false;
  }
  if (!std::is_sorted(info.terms.begin(), info.terms.end())) return false;
  if (level > 0) info.upper = std::make_unique<std::uint32_t[]>(level * (g.options.m + 1));
  std::vector<Slot> links;
  for (int l = 0; l <= info.level; ++l) {
    std::uint32_t count = 0;
    if (!r.u32(count) || count > g.max_links(l)) return false;
    links.resize(count);
    for (Slot& link : links) {
      if (!r.u32(link) || link >= used || link == s) return false;
    }
    g.write_links(s, l, links.data(), count);
  }
  float* vec = g.mutable_vector(s);
  if (!r.read(vec, g.options.dim * sizeof(float))) return false;
  return std::all_of(vec, vec + g.options.dim, [](float x) { return std::isfinite(x); });
}

// Every link must reach an occupied slot that has the link's level, or a walk would read link
// lists that do not exist.
bool links_are_sound(const HnswIndex::Impl& g) {
  std::vector<Slot> links;
  for (Slot s = 0; s < g.used; ++s) {
    if (g.state(s) == kFree) continue;
    for (int l = 0; l <= g.slots[s].level; ++l) {
      g.read_links(s, l, links);
      for (Slot t : links) {
        if (g.state(t) == kFree || g.slots[t].level < l) return false;
      }
    }
  }
  return true;
}

Status corrupt(const std::string& path, std::string_view what) {
  return Status(ErrorCode::kInternal,
                "vector index file '" + path + "' is corrupt: " + std::string(what));
}

}  // namespace

Result<std::unique_ptr<HnswIndex>> HnswIndex::load(const std::string& path) {
  Result<File> file = File::open_read(path);
  if (!file.is_ok()) return file.status();
  FileReader r(file.value());
  char magic[8];
  std::uint32_t version = 0;
  if (!r.read(magic, 8) || std::string_view(magic, 8) != kMagic || !r.u32(version)) {
    return r.error().is_ok() ? corrupt(path, "not an index file") : r.error();
  }
  if (version != kVersion) return corrupt(path, "unknown version " + std::to_string(version));
  IndexOptions options;
  if (!read_options(r, options)) return corrupt(path, "bad options");
  Result<std::unique_ptr<HnswIndex>> created = create(options);
  if (!created.is_ok()) return corrupt(path, created.status().message());
  Impl& g = *created.value()->impl_;
  std::uint32_t used = 0, entry = 0, levels = 0, terms = 0;
  if (!r.u64(g.rng_state) || !r.u64(g.consolidations) || !r.u32(used) || used > kMaxSlots ||
      !r.u32(entry) || !r.u32(levels) || levels > 17 || !r.u32(terms) || terms > kMaxSlots) {
    return corrupt(path, "bad header");
  }
  for (std::uint32_t t = 0; t < terms; ++t) {
    std::string name;
    if (!r.string(name, kMaxTermBytes)) return corrupt(path, "bad term");
    if (g.term_index.intern({name}).front() != t) return corrupt(path, "duplicate term");
  }
  g.blocks = BlockArray(g.stride, std::max<std::size_t>(64, std::bit_ceil(std::size_t{used})));
  g.slots.resize(g.blocks.capacity());
  g.used = used;
  for (Slot s = 0; s < used; ++s) {
    std::uint32_t state = 0;
    if (!r.u32(state) || state > kDeleted) return corrupt(path, "bad slot state");
    if (state == kFree) continue;
    if (!read_slot(r, g, s, used)) return corrupt(path, "bad slot " + std::to_string(s));
    g.set_state(s, static_cast<SlotState>(state));
    if (state == kDeleted) {
      ++g.tombstones;
      continue;
    }
    if (!g.ids.emplace(g.slots[s].id, s).second) return corrupt(path, "duplicate id");
    g.term_index.add(s, g.slots[s].terms);
    g.live.fetch_add(1);
  }
  std::uint32_t free_count = 0;
  if (!r.u32(free_count) || free_count > used) return corrupt(path, "bad free list");
  g.free_slots.resize(free_count);
  for (Slot& s : g.free_slots) {
    if (!r.u32(s) || s >= used || g.state(s) != kFree) return corrupt(path, "bad free slot");
  }
  const std::uint32_t expected = r.crc();
  std::uint32_t stored = 0;
  if (!r.u32(stored)) return corrupt(path, "truncated");
  if (stored != expected) return corrupt(path, "checksum mismatch");
  if ((entry == kNoSlot) != (levels == 0) ||
      (entry != kNoSlot && (entry >= used || g.state(entry) == kFree ||
                            g.slots[entry].level != static_cast<int>(levels) - 1))) {
    return corrupt(path, "bad entry point");
  }
  if (!links_are_sound(g)) return corrupt(path, "a link reaches a missing node");
  g.entry.store(entry);
  g.max_level.store(static_cast<int>(levels) - 1);
  return created;
}

}  // namespace neuroplex::vec
