#include "tools/ctl/args.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <map>
#include <tuple>
#include <utility>

#include "api/client/endpoints.h"

namespace neuroplex::ctl {
namespace {

using Json = nlohmann::json;

struct OptionSpec {
  std::string_view name;
  bool takes_value;
};

constexpr std::array kOptions = {
    OptionSpec{"endpoint", true},   OptionSpec{"json", false},    OptionSpec{"timeout", true},
    OptionSpec{"help", false},      OptionSpec{"learner", false}, OptionSpec{"consistency", true},
    OptionSpec{"prefix", true},     OptionSpec{"limit", true},    OptionSpec{"after", true},
    OptionSpec{"from", true},       OptionSpec{"clients", true},  OptionSpec{"ops", true},
    OptionSpec{"value-size", true}, OptionSpec{"op", true},       OptionSpec{"seconds", true},
    OptionSpec{"warmup", true},     OptionSpec{"keys", true},     OptionSpec{"ns", true},
    OptionSpec{"dim", true},        OptionSpec{"metric", true},   OptionSpec{"vector", true},
    OptionSpec{"id", true},         OptionSpec{"text", true},     OptionSpec{"metadata", true},
    OptionSpec{"ttl", true},        OptionSpec{"k", true},        OptionSpec{"filter", true},
    OptionSpec{"ef", true},
};

constexpr std::array kGlobalOptions = {std::string_view("endpoint"), std::string_view("json"),
                                       std::string_view("timeout"), std::string_view("help")};

// One verb: its words, operands (for messages) and the options it accepts.
struct VerbSpec {
  std::string_view words;
  Verb verb;
  std::string_view operands;
  std::vector<std::string_view> options;
};

const std::vector<VerbSpec>& verb_specs() {
  static const std::vector<VerbSpec> kSpecs = {
      {"status", Verb::kStatus, "", {}},
      {"members add", Verb::kMembersAdd, "ID HOST:PORT [--learner]", {"learner"}},
      {"members remove", Verb::kMembersRemove, "ID", {}},
      {"transfer-leader", Verb::kTransferLeader, "ID", {}},
      {"snapshot", Verb::kSnapshot, "", {}},
      {"get", Verb::kGet, "NS KEY [--consistency linearizable|lease|local]", {"consistency"}},
      {"update", Verb::kUpdate, "NS KEY OPS_JSON", {}},
      {"counter add", Verb::kCounterAdd, "NS KEY N", {}},
      {"register set", Verb::kRegisterSet, "NS KEY JSON", {}},
      {"set add", Verb::kSetAdd, "NS KEY MEMBER...", {}},
      {"set remove", Verb::kSetRemove, "NS KEY MEMBER...", {}},
      {"delete", Verb::kDelete, "NS KEY", {}},
      {"list",
       Verb::kList,
       "NS [--prefix P] [--limit N] [--after KEY] [--consistency C]",
       {"prefix", "limit", "after", "consistency"}},
      {"watch", Verb::kWatch, "NS [--prefix P] [--from INDEX]", {"prefix", "from"}},
      {"bench",
       Verb::kBench,
       "[--clients N] [--ops M] [--value-size B] [--op counter|register|set] [--seconds S] "
       "[--warmup S] [--keys K] [--ns NS]",
       {"clients", "ops", "value-size", "op", "seconds", "warmup", "keys", "ns"}},
      {"collection create",
       Verb::kCollectionCreate,
       "NAME --dim N [--metric cosine|l2|ip]",
       {"dim", "metric"}},
      {"collection list", Verb::kCollectionList, "[--consistency C]", {"consistency"}},
      {"collection drop", Verb::kCollectionDrop, "NAME", {}},
      {"memory put",
       Verb::kMemoryPut,
       "COLLECTION --vector JSON|@FILE|- [--id ID] [--text T] [--metadata JSON] [--ttl SECONDS]",
       {"vector", "id", "text", "metadata", "ttl"}},
      {"memory get", Verb::kMemoryGet, "COLLECTION ID [--consistency C]", {"consistency"}},
      {"memory delete", Verb::kMemoryDelete, "COLLECTION ID", {}},
      {"memory search",
       Verb::kMemorySearch,
       "COLLECTION --vector JSON|@FILE|- [--k N] [--filter JSON] [--ef N] [--consistency C]",
       {"vector", "k", "filter", "ef", "consistency"}},
  };
  return kSpecs;
}

Status usage_error(std::string message) { return invalid_argument(std::move(message)); }

Status verb_usage(const VerbSpec& spec) {
  std::string message = "usage: neuroplexctl " + std::string(spec.words);
  if (!spec.operands.empty()) message += " " + std::string(spec.operands);
  return usage_error(std::move(message));
}

template <typename Int>
Result<Int> parse_integer(std::string_view text, std::string_view what) {
  Int value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return usage_error(std::string(what) + ": '" + std::string(text) + "' is not " +
                       (std::is_signed_v<Int> ? "an integer" : "a non-negative integer") +
                       " in range");
  }
  return value;
}

Result<double> parse_seconds(std::string_view text, std::string_view what) {
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || !(value >= 0)) {
    return usage_error(std::string(what) + ": '" + std::string(text) +
                       "' is not a number of seconds");
  }
  return value;
}

Result<Json> parse_json_word(std::string_view text, std::string_view what) {
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return usage_error(std::string(what) + " is not valid JSON (quote a string: '\"text\"')");
  }
  return value;
}

// The words of argv split into options (name -> value) and positionals.
struct Words {
  std::map<std::string, std::string> options;
  std::vector<std::string> positionals;
};

Result<Words> split_words(const std::vector<std::string>& args) {
  Words words;
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_done || arg.size() < 2 || arg[0] != '-' || (arg[1] != '-' && arg != "-h")) {
      words.positionals.push_back(arg);  // includes negative numbers such as -5
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    std::string name = arg == "-h" ? "help" : arg.substr(2);
    std::optional<std::string> inline_value;
    if (std::size_t equals = name.find('='); equals != std::string::npos) {
      inline_value = name.substr(equals + 1);
      name.resize(equals);
    }
    auto spec = std::find_if(kOptions.begin(), kOptions.end(),
                             [&](const OptionSpec& option) { return option.name == name; });
    if (spec == kOptions.end()) return usage_error("unknown option --" + name);
    std::string value;
    if (spec->takes_value) {
      if (inline_value.has_value()) {
        value = *inline_value;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return usage_error("--" + name + " needs a value");
      }
    } else if (inline_value.has_value()) {
      return usage_error("--" + name + " takes no value");
    }
    if (!words.options.emplace(name, value).second) {
      return usage_error("--" + name + " is given twice");
    }
  }
  return words;
}

Status parse_globals(const Words& words, std::optional<std::string_view> env_endpoint,
                     Invocation& invocation) {
  std::string endpoints(kDefaultEndpoint);
  std::string_view source = "the default endpoint";
  if (auto it = words.options.find("endpoint"); it != words.options.end()) {
    endpoints = it->second;
    source = "--endpoint";
  } else if (env_endpoint.has_value() && !env_endpoint->empty()) {
    endpoints = std::string(*env_endpoint);
    source = "NEUROPLEX_ENDPOINT";
  }
  Result<std::vector<std::string>> parsed = client::parse_endpoint_list(endpoints);
  if (!parsed.is_ok()) return usage_error(std::string(source) + ": " + parsed.status().message());
  invocation.endpoints = std::move(parsed).value();
  invocation.json = words.options.count("json") != 0;
  if (auto it = words.options.find("timeout"); it != words.options.end()) {
    Result<std::uint64_t> ms = parse_integer<std::uint64_t>(it->second, "--timeout");
    if (!ms.is_ok()) return ms.status();
    if (*ms == 0 || *ms > 86'400'000) return usage_error("--timeout: 1..86400000 milliseconds");
    invocation.timeout = std::chrono::milliseconds(*ms);
  }
  return Status::ok();
}

Result<client::Consistency> parse_consistency(std::string_view text) {
  if (text == "linearizable") return client::Consistency::kLinearizable;
  if (text == "lease") return client::Consistency::kLease;
  if (text == "local") return client::Consistency::kLocal;
  return usage_error("--consistency: '" + std::string(text) +
                     "' is not linearizable, lease or local");
}

}  // namespace

namespace {

// The verb named by the first one or two positionals; `used` says how many words it took.
const VerbSpec* find_verb(const std::vector<std::string>& positionals, std::size_t& used) {
  for (const VerbSpec& spec : verb_specs()) {
    std::string_view words = spec.words;
    std::size_t space = words.find(' ');
    if (space == std::string_view::npos) {
      if (positionals[0] == words) {
        used = 1;
        return &spec;
      }
    } else if (positionals[0] == words.substr(0, space) && positionals.size() >= 2 &&
               positionals[1] == words.substr(space + 1)) {
      used = 2;
      return &spec;
    }
  }
  return nullptr;
}

// Options of `words` that are neither global nor accepted by `spec`.
Status check_options(const Words& words, const VerbSpec& spec) {
  for (const auto& [name, value] : words.options) {
    bool global =
        std::find(kGlobalOptions.begin(), kGlobalOptions.end(), name) != kGlobalOptions.end();
    bool accepted = std::find(spec.options.begin(), spec.options.end(), name) != spec.options.end();
    if (!global && !accepted) {
      return usage_error("--" + name + " does not apply to '" + std::string(spec.words) + "'");
    }
  }
  return Status::ok();
}

Status parse_bench(const Words& words, BenchArgs& bench) {
  for (const auto& [name, value] : words.options) {
    if (name == "clients" || name == "value-size" || name == "keys") {
      Result<std::uint64_t> number = parse_integer<std::uint64_t>(value, "--" + name);
      if (!number.is_ok()) return number.status();
      if (*number == 0 && name != "value-size") return usage_error("--" + name + " must be >= 1");
      if (*number > (std::uint64_t{1} << 30)) return usage_error("--" + name + " is too large");
      std::size_t& field = name == "clients"      ? bench.clients
                           : name == "value-size" ? bench.value_size
                                                  : bench.keys;
      field = static_cast<std::size_t>(*number);
    } else if (name == "ops") {
      Result<std::uint64_t> number = parse_integer<std::uint64_t>(value, "--ops");
      if (!number.is_ok()) return number.status();
      if (*number == 0) return usage_error("--ops must be >= 1");
      bench.ops = *number;
    } else if (name == "seconds" || name == "warmup") {
      Result<double> seconds = parse_seconds(value, "--" + name);
      if (!seconds.is_ok()) return seconds.status();
      (name == "seconds" ? bench.seconds : bench.warmup_seconds) = *seconds;
    } else if (name == "op") {
      if (value != "counter" && value != "register" && value != "set") {
        return usage_error("--op: '" + value + "' is not counter, register or set");
      }
      bench.op = value;
    } else if (name == "ns") {
      bench.ns = value;
    }
  }
  return Status::ok();
}

Result<std::uint32_t> parse_u32_option(const Words& words, const std::string& name,
                                       std::uint32_t fallback) {
  auto it = words.options.find(name);
  if (it == words.options.end()) return fallback;
  return parse_integer<std::uint32_t>(it->second, "--" + name);
}

// The collection and memory verbs. Values are checked by the cluster (the operation table);
// only their syntax is checked here.
Status parse_vector_verb(const VerbSpec& spec, const Words& words,
                         const std::vector<std::string>& operands, Invocation& invocation) {
  VectorArgs& v = invocation.vec;
  const Verb verb = spec.verb;
  const std::size_t wanted = verb == Verb::kCollectionList                             ? 0
                             : verb == Verb::kMemoryGet || verb == Verb::kMemoryDelete ? 2
                                                                                       : 1;
  if (operands.size() != wanted) return verb_usage(spec);
  if (wanted >= 1) v.collection = operands[0];
  if (wanted == 2) v.id = operands[1];
  auto text_option = [&](const std::string& name, std::string& out) {
    if (auto it = words.options.find(name); it != words.options.end()) out = it->second;
  };
  text_option("metric", v.metric);
  text_option("vector", v.vector_source);
  text_option("id", v.id);
  text_option("text", v.text);
  text_option("metadata", v.metadata);
  text_option("filter", v.filter);
  for (auto [name, field, fallback] :
       {std::tuple<const char*, std::uint32_t*, std::uint32_t>{"dim", &v.dim, 0},
        {"ttl", &v.ttl_seconds, 0},
        {"k", &v.k, 10},
        {"ef", &v.ef, 0}}) {
    Result<std::uint32_t> value = parse_u32_option(words, name, fallback);
    if (!value.is_ok()) return value.status();
    *field = *value;
  }
  if (auto it = words.options.find("consistency"); it != words.options.end()) {
    Result<client::Consistency> consistency = parse_consistency(it->second);
    if (!consistency.is_ok()) return consistency.status();
    invocation.consistency = *consistency;
  }
  if (verb == Verb::kCollectionCreate && v.dim == 0) return usage_error("--dim N is required");
  if ((verb == Verb::kMemoryPut || verb == Verb::kMemorySearch) && v.vector_source.empty()) {
    return usage_error("--vector is required (a JSON array, @FILE, or - for stdin)");
  }
  return Status::ok();
}

// The verb's operands (positionals after the verb words) and options.
Status parse_operands(const VerbSpec& spec, const Words& words,
                      const std::vector<std::string>& operands, Invocation& invocation) {
  auto need = [&](std::size_t count, bool at_least = false) {
    bool fits = at_least ? operands.size() >= count : operands.size() == count;
    return fits ? Status::ok() : verb_usage(spec);
  };
  auto option = [&](const std::string& name) -> const std::string* {
    auto it = words.options.find(name);
    return it == words.options.end() ? nullptr : &it->second;
  };
  switch (spec.verb) {
    case Verb::kHelp:
    case Verb::kStatus:
    case Verb::kSnapshot:
      return need(0);
    case Verb::kMembersAdd:
    case Verb::kMembersRemove:
    case Verb::kTransferLeader: {
      NPX_RETURN_IF_ERROR(need(spec.verb == Verb::kMembersAdd ? 2 : 1));
      Result<std::uint64_t> id = parse_integer<std::uint64_t>(operands[0], "ID");
      if (!id.is_ok()) return id.status();
      if (*id == 0) return usage_error("ID: node ids start at 1");
      invocation.node_id = *id;
      if (spec.verb == Verb::kMembersAdd) {
        Result<client::Endpoint> address = client::parse_endpoint(operands[1]);
        if (!address.is_ok()) return address.status();
        invocation.address = address->to_string();
        invocation.learner = option("learner") != nullptr;
      }
      return Status::ok();
    }
    case Verb::kGet:
    case Verb::kDelete:
    case Verb::kUpdate:
    case Verb::kCounterAdd:
    case Verb::kRegisterSet:
      NPX_RETURN_IF_ERROR(
          need(spec.verb == Verb::kGet || spec.verb == Verb::kDelete ? std::size_t{2} : 3));
      break;
    case Verb::kSetAdd:
    case Verb::kSetRemove:
      NPX_RETURN_IF_ERROR(need(3, /*at_least=*/true));
      break;
    case Verb::kList:
    case Verb::kWatch:
      NPX_RETURN_IF_ERROR(need(1));
      break;
    case Verb::kBench:
      NPX_RETURN_IF_ERROR(need(0));
      return parse_bench(words, invocation.bench);
    case Verb::kCollectionCreate:
    case Verb::kCollectionList:
    case Verb::kCollectionDrop:
    case Verb::kMemoryPut:
    case Verb::kMemoryGet:
    case Verb::kMemoryDelete:
    case Verb::kMemorySearch:
      return parse_vector_verb(spec, words, operands, invocation);
  }
  invocation.ns = operands[0];
  if (operands.size() >= 2) invocation.key = operands[1];
  if (const std::string* value = option("consistency")) {
    Result<client::Consistency> consistency = parse_consistency(*value);
    if (!consistency.is_ok()) return consistency.status();
    invocation.consistency = *consistency;
  }
  if (const std::string* value = option("prefix")) invocation.prefix = *value;
  if (const std::string* value = option("after")) invocation.after = *value;
  if (const std::string* value = option("limit")) {
    Result<std::uint32_t> limit = parse_integer<std::uint32_t>(*value, "--limit");
    if (!limit.is_ok()) return limit.status();
    if (*limit == 0) return usage_error("--limit must be >= 1");
    invocation.limit = *limit;
  }
  if (const std::string* value = option("from")) {
    Result<std::uint64_t> from = parse_integer<std::uint64_t>(*value, "--from");
    if (!from.is_ok()) return from.status();
    invocation.from_index = *from;
  }
  switch (spec.verb) {
    case Verb::kUpdate: {
      Result<Json> ops = parse_json_word(operands[2], "OPS_JSON");
      if (!ops.is_ok()) return ops.status();
      if (ops->is_object()) *ops = Json::array({*ops});  // one mutation needs no brackets
      if (!ops->is_array()) return usage_error("OPS_JSON must be an array of mutation objects");
      invocation.ops = std::move(ops).value();
      return Status::ok();
    }
    case Verb::kCounterAdd: {
      Result<std::int64_t> amount = parse_integer<std::int64_t>(operands[2], "N");
      if (!amount.is_ok()) return amount.status();
      invocation.amount = *amount;
      return Status::ok();
    }
    case Verb::kRegisterSet: {
      Result<Json> value = parse_json_word(operands[2], "JSON");
      if (!value.is_ok()) return value.status();
      invocation.value = std::move(value).value();
      return Status::ok();
    }
    case Verb::kSetAdd:
    case Verb::kSetRemove:
      invocation.members = Json::array();
      for (std::size_t i = 2; i < operands.size(); ++i) {
        invocation.members.push_back(parse_member(operands[i]));
      }
      return Status::ok();
    default:
      return Status::ok();
  }
}

}  // namespace

Result<Invocation> parse_args(const std::vector<std::string>& args,
                              std::optional<std::string_view> env_endpoint) {
  Result<Words> words = split_words(args);
  if (!words.is_ok()) return words.status();
  Invocation invocation;
  NPX_RETURN_IF_ERROR(parse_globals(*words, env_endpoint, invocation));
  if (words->options.count("help") != 0 ||
      (words->positionals.size() == 1 && words->positionals[0] == "help")) {
    invocation.verb = Verb::kHelp;
    return invocation;
  }
  if (words->positionals.empty()) return usage_error("no verb given (try --help)");
  std::size_t used = 0;
  const VerbSpec* spec = find_verb(words->positionals, used);
  if (spec == nullptr) {
    std::string name = words->positionals[0];
    if (words->positionals.size() >= 2 &&
        (name == "members" || name == "counter" || name == "register" || name == "set" ||
         name == "collection" || name == "memory")) {
      name += " " + words->positionals[1];
    }
    return usage_error("unknown verb '" + name + "' (try --help)");
  }
  invocation.verb = spec->verb;
  NPX_RETURN_IF_ERROR(check_options(*words, *spec));
  std::vector<std::string> operands(words->positionals.begin() + static_cast<std::ptrdiff_t>(used),
                                    words->positionals.end());
  NPX_RETURN_IF_ERROR(parse_operands(*spec, *words, operands, invocation));
  return invocation;
}

nlohmann::json parse_member(std::string_view word) {
  Json value = Json::parse(word, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || value.is_structured()) return Json(std::string(word));
  return value;
}

}  // namespace neuroplex::ctl
