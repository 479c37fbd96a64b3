#include "replication/crdt/codec.h"

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <kj/exception.h>
#include <kj/io.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "base/utf8.h"
#include "replication/crdt/capnp_text.h"
#include "replication/crdt/crdt.capnp.h"
#include "replication/crdt/json.h"

namespace neuroplex::crdt {
namespace {

// Bounds for hostile input: packed bytes can expand a lot (a two-byte run encodes 2 KiB of
// zeros), so the unpacked size is capped, and nesting follows the path depth limit.
constexpr std::uint64_t kMaxDecodedWords = 8u << 20;  // 64 MiB
constexpr unsigned kNestingLimit = 2 * kMaxPathDepth + 16;

// ---- encoding ----

void write_dot(wire::Dot::Builder out, const Dot& dot) {
  out.setReplica(dot.replica);
  out.setCounter(dot.counter);
}

void write_context(wire::CausalContext::Builder out, const CausalContext& context) {
  auto versions = out.initVersions(static_cast<unsigned>(context.versions().size()));
  unsigned i = 0;
  for (const auto& [replica, counter] : context.versions()) {
    versions[i].setReplica(replica);
    versions[i++].setCounter(counter);
  }
  auto cloud = out.initCloud(static_cast<unsigned>(context.cloud().size()));
  i = 0;
  for (const Dot& dot : context.cloud()) write_dot(cloud[i++], dot);
}

void write_registers(capnp::List<wire::RegisterEntry>::Builder out, const RegisterStore& store) {
  for (unsigned i = 0; i < store.size(); ++i) {
    out[i].setReplica(store[i].dot.replica);
    out[i].setCounter(store[i].dot.counter);
    out[i].setTimestamp(store[i].timestamp);
    out[i].setValue(capnp_text(store[i].value));
  }
}

void write_map(capnp::List<wire::Field>::Builder out, const MapStore& map);

void write_field(wire::Field::Builder out, const FieldKey& key, const Field& field) {
  out.setName(capnp_text(key.name));
  switch (key.type) {
    case CrdtType::kMap: {
      const auto& map = std::get<MapStore>(field.store);
      write_map(out.initMap(static_cast<unsigned>(map.size())), map);
      break;
    }
    case CrdtType::kSet: {
      const auto& set = std::get<SetStore>(field.store);
      auto elements = out.initSet(static_cast<unsigned>(set.size()));
      unsigned i = 0;
      for (const auto& [member, dots] : set) {
        elements[i].setValue(capnp_text(member));
        auto dot_list = elements[i++].initDots(static_cast<unsigned>(dots.size()));
        for (unsigned k = 0; k < dots.size(); ++k) write_dot(dot_list[k], dots[k]);
      }
      break;
    }
    case CrdtType::kCounter: {
      const auto& counter = std::get<CounterStore>(field.store);
      auto entries = out.initCounter(static_cast<unsigned>(counter.size()));
      for (unsigned i = 0; i < counter.size(); ++i) {
        entries[i].setReplica(counter[i].dot.replica);
        entries[i].setCounter(counter[i].dot.counter);
        entries[i].setValue(counter[i].value);
      }
      break;
    }
    case CrdtType::kRegister: {
      const auto& store = std::get<RegisterStore>(field.store);
      write_registers(out.initRegister(static_cast<unsigned>(store.size())), store);
      break;
    }
    case CrdtType::kMvRegister: {
      const auto& store = std::get<RegisterStore>(field.store);
      write_registers(out.initMvRegister(static_cast<unsigned>(store.size())), store);
      break;
    }
  }
}

void write_map(capnp::List<wire::Field>::Builder out, const MapStore& map) {
  unsigned i = 0;
  for (const auto& [key, field] : map) write_field(out[i++], key, field);
}

// ---- decoding ----

class Decoder {
 public:
  explicit Decoder(Trust trust) : trust_(trust) {}

  Result<Document> document(wire::Document::Reader in) {
    if (in.getFormatVersion() != 1) {
      return invalid_argument("unsupported CRDT encoding version " +
                              std::to_string(in.getFormatVersion()));
    }
    CausalContext context = read_context(in.getContext());
    MapStore slots;
    NPX_RETURN_IF_ERROR(read_map(in.getSlots(), slots, 0));
    if (out_of_range_) {
      return invalid_argument("a dot counter or timestamp is out of range (above 2^62)");
    }
    Document document(std::move(slots), std::move(context));
    if (untrusted()) {
      for (const auto& [key, field] : document.slots()) {
        if (!key.name.empty()) return invalid_argument("root slots must have an empty name");
      }
      if (!document.check_invariants(/*crash=*/false)) {
        return invalid_argument(
            "CRDT state is inconsistent: a dot is reused, missing from the causal context, or "
            "an element is empty");
      }
    }
    return document;
  }

 private:
  bool untrusted() const { return trust_ == Trust::kUntrusted; }

  Dot read_dot(std::uint64_t replica, std::uint64_t counter) {
    if (untrusted() && counter > kMaxDotCounter) out_of_range_ = true;
    return {replica, counter};
  }

  CausalContext read_context(wire::CausalContext::Reader in) {
    CausalContext::Versions versions;
    for (auto version : in.getVersions()) {
      versions.emplace_back(version.getReplica(), read_dot(0, version.getCounter()).counter);
    }
    std::vector<Dot> cloud;
    for (auto dot : in.getCloud()) cloud.push_back(read_dot(dot.getReplica(), dot.getCounter()));
    return CausalContext::from_parts(versions, cloud);
  }

  // Sorts (untrusted input) and rejects duplicate or zero dots.
  template <typename Entries>
  Status canonical_dots(Entries& entries) {
    if (!untrusted()) return Status::ok();
    auto dot = [](const auto& e) -> const Dot& {
      if constexpr (std::is_same_v<std::decay_t<decltype(e)>, Dot>) {
        return e;
      } else {
        return e.dot;
      }
    };
    std::sort(entries.begin(), entries.end(),
              [&](const auto& x, const auto& y) { return dot(x) < dot(y); });
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (dot(entries[i]).counter == 0) return invalid_argument("dot counters start at 1");
      if (i > 0 && !(dot(entries[i - 1]) < dot(entries[i]))) {
        return invalid_argument("a dot appears twice");
      }
    }
    return Status::ok();
  }

  Result<std::string> json_text(capnp::Text::Reader text, bool scalar) {
    std::string_view view(text.cStr(), text.size());
    if (!untrusted()) return std::string(view);
    nlohmann::json parsed = nlohmann::json::parse(view, nullptr, false);
    if (parsed.is_discarded()) return invalid_argument("a stored value is not valid JSON");
    return scalar ? canonical_scalar(parsed) : canonical_json(parsed);
  }

  Status read_registers(capnp::List<wire::RegisterEntry>::Reader in, RegisterStore& out) {
    for (auto entry : in) {
      Result<std::string> value = json_text(entry.getValue(), /*scalar=*/false);
      if (!value.is_ok()) return value.status();
      if (untrusted() && entry.getTimestamp() > kMaxDotCounter) out_of_range_ = true;
      out.push_back({read_dot(entry.getReplica(), entry.getCounter()), entry.getTimestamp(),
                     std::move(value).value()});
    }
    return canonical_dots(out);
  }

  Status read_set(capnp::List<wire::SetElement>::Reader in, SetStore& out) {
    std::vector<SetStore::value_type> elements;
    elements.reserve(in.size());
    for (auto element : in) {
      Result<std::string> member = json_text(element.getValue(), /*scalar=*/true);
      if (!member.is_ok()) return member.status();
      DotSet dots;
      for (auto dot : element.getDots())
        dots.push_back(read_dot(dot.getReplica(), dot.getCounter()));
      NPX_RETURN_IF_ERROR(canonical_dots(dots));
      elements.push_back({std::move(member).value(), std::move(dots)});
    }
    std::optional<SetStore> set = SetStore::from_pairs(std::move(elements));
    if (!set) return invalid_argument("a set element appears twice");
    out = std::move(*set);
    return Status::ok();
  }

  Status read_map(capnp::List<wire::Field>::Reader in, MapStore& out, std::size_t depth) {
    if (depth > kMaxPathDepth + 1) return invalid_argument("CRDT state nested too deeply");
    std::vector<MapStore::value_type> fields;
    fields.reserve(in.size());
    for (auto field_in : in) {
      std::string name(field_in.getName().cStr(), field_in.getName().size());
      if (untrusted() && ((depth > 0 && name.empty()) || !is_valid_utf8(name))) {
        return invalid_argument("field names must be non-empty UTF-8");
      }
      FieldKey key{std::move(name), CrdtType::kMap};
      Field field;
      switch (field_in.which()) {
        case wire::Field::MAP: {
          MapStore map;
          NPX_RETURN_IF_ERROR(read_map(field_in.getMap(), map, depth + 1));
          field.store = std::move(map);
          break;
        }
        case wire::Field::SET: {
          key.type = CrdtType::kSet;
          SetStore set;
          NPX_RETURN_IF_ERROR(read_set(field_in.getSet(), set));
          field.store = std::move(set);
          break;
        }
        case wire::Field::COUNTER: {
          key.type = CrdtType::kCounter;
          CounterStore counter;
          for (auto entry : field_in.getCounter()) {
            counter.push_back({read_dot(entry.getReplica(), entry.getCounter()), entry.getValue()});
          }
          NPX_RETURN_IF_ERROR(canonical_dots(counter));
          field.store = std::move(counter);
          break;
        }
        case wire::Field::REGISTER:
        case wire::Field::MV_REGISTER: {
          bool multi = field_in.which() == wire::Field::MV_REGISTER;
          key.type = multi ? CrdtType::kMvRegister : CrdtType::kRegister;
          RegisterStore store;
          NPX_RETURN_IF_ERROR(
              read_registers(multi ? field_in.getMvRegister() : field_in.getRegister(), store));
          field.store = std::move(store);
          break;
        }
        default:
          return invalid_argument("unknown CRDT field type");
      }
      fields.push_back({std::move(key), std::move(field)});
    }
    std::optional<MapStore> map = MapStore::from_pairs(std::move(fields));
    if (!map) return invalid_argument("a field appears twice");
    out = std::move(*map);
    return Status::ok();
  }

  Trust trust_;
  bool out_of_range_ = false;  // a counter or timestamp above kMaxDotCounter was read
};

}  // namespace

std::string encode(const Document& document) {
  // A reused first segment: MallocMessageBuilder would otherwise calloc (and zero) a fresh 8 KiB
  // segment per call, which dominated encoding small documents. The builder zeroes what it used
  // of the scratch space when it is destroyed, as capnp requires.
  thread_local std::vector<capnp::word> scratch(4096);
  capnp::MallocMessageBuilder message(kj::arrayPtr(scratch.data(), scratch.size()));
  auto root = message.initRoot<wire::Document>();
  write_context(root.initContext(), document.context());
  write_map(root.initSlots(static_cast<unsigned>(document.slots().size())), document.slots());
  kj::VectorOutputStream out;
  capnp::writePackedMessage(out, message);
  auto bytes = out.getArray();
  return std::string(bytes.asChars().begin(), bytes.size());
}

Result<Document> decode(std::string_view bytes, Trust trust) {
  try {
    kj::ArrayInputStream input(
        kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
    capnp::ReaderOptions options;
    options.traversalLimitInWords = kMaxDecodedWords;
    options.nestingLimit = kNestingLimit;
    std::optional<Result<Document>> decoded;
    {
      capnp::PackedMessageReader reader(input, options);
      decoded.emplace(Decoder(trust).document(reader.getRoot<wire::Document>()));
    }  // the reader has consumed the whole message once destroyed
    if (trust == Trust::kUntrusted && decoded->is_ok() && input.tryGetReadBuffer().size() != 0) {
      return invalid_argument("bytes after the end of the CRDT encoding");
    }
    return std::move(*decoded);
  } catch (const kj::Exception& e) {
    return invalid_argument(std::string("malformed CRDT encoding: ") + e.getDescription().cStr());
  }
}

}  // namespace neuroplex::crdt
