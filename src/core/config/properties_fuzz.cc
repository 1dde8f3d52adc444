// Fuzz target `properties` (fuzz/README.md): a Flume configuration file as the agent reads it.
// The input is the file's text: parse_properties(), then substitute_values() (with a small fake
// environment), then parse_agent_config() for agent "a1", then Settings::validate() of every
// component against a spec with one key of each KeyType.
//
// Invariants:
//  - the only syntax error is a malformed \u escape, reported as a kConfig error naming the line;
//  - keys are unique and keys and values come out trimmed, as Flume trims them;
//  - writing the entries back as a .properties file (every special character escaped) and parsing
//    that gives the same entries in the same order;
//  - substitution keeps every key and leaves values trimmed.

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "base/fuzz_check.h"
#include "core/config/agent_config.h"
#include "core/config/properties.h"
#include "core/config/spec.h"

namespace {

using namespace ingestor;

bool trimmed(std::string_view s) {
  return s.empty() || (static_cast<unsigned char>(s.front()) > 0x20 &&
                       static_cast<unsigned char>(s.back()) > 0x20);
}

// A .properties spelling of `s` that Properties.load reads back as exactly `s`.
std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\f':
        out += "\\f";
        break;
      case ' ':
      case '=':
      case ':':
      case '#':
      case '!':
        out += '\\';
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out;
}

const ComponentSpec& spec() {
  static const ComponentSpec s{
      "source",
      "fuzz",
      "",
      "every key type",
      {
          {"type", KeyType::kString, std::nullopt, true, "type"},
          {"port", KeyType::kInt, "8080", false, "an int with a range", 1, 65535},
          {"capacity", KeyType::kLong, "100", false, "a long"},
          {"enabled", KeyType::kBool, "true", false, "a boolean", {}, {}, "enable"},
          {"ratio", KeyType::kDouble, "0.5", false, "a double"},
          {"names", KeyType::kList, "", false, "a list"},
          {"serializer.*", KeyType::kPrefix, std::nullopt, false, "a prefix"},
      }};
  return s;
}

void validate_all(const Context& ctx, const std::string& name, Diagnostics& diags) {
  for (bool lenient : {false, true}) {
    Settings st =
        Settings::validate(spec(), ctx, "source", name, "a1.sources." + name + ".", diags, lenient);
    (void)st.str("type");
    (void)st.i64("port");
    (void)st.i64("capacity");
    (void)st.boolean("enabled");
    (void)st.dbl("ratio");
    (void)st.list("names");
    (void)st.sub("serializer.");
    INGESTOR_FUZZ_CHECK(!st.has("port") || (st.i64("port") >= 1 && st.i64("port") <= 65535),
                        std::to_string(st.i64("port")));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto props = parse_properties(text, "fuzz.conf");
  if (!props) {
    INGESTOR_FUZZ_CHECK(props.error().code == Errc::kConfig, props.error().message);
    INGESTOR_FUZZ_CHECK(props.error().message.starts_with("fuzz.conf:"), props.error().message);
    return 0;
  }
  std::set<std::string_view> keys;
  std::string rewritten;
  for (const auto& [k, v] : props->entries()) {
    INGESTOR_FUZZ_CHECK(keys.insert(k).second, "duplicate key " + k);
    INGESTOR_FUZZ_CHECK(trimmed(k) && trimmed(v), k + "=" + v);
    INGESTOR_FUZZ_CHECK(props->get(k) != nullptr && *props->get(k) == v, k);
    rewritten += escape(k) + "=" + escape(v) + "\n";
  }
  auto again = parse_properties(rewritten, "rewritten.conf");
  INGESTOR_FUZZ_CHECK(again.has_value(), again.error().message);
  INGESTOR_FUZZ_CHECK(again->entries() == props->entries(), rewritten);

  Properties substituted = *props;
  std::vector<std::string> unresolved;
  (void)substitute_values(  // the fuzz input stays small: the 64 MiB total cap is not reached
      substituted,
      [](const std::string& name) -> std::optional<std::string> {
        if (name == "HOME") return std::string("/home/flume");
        if (name == "EMPTY") return std::string();
        if (name == "SELF") return std::string("${env:SELF}");
        return std::nullopt;
      },
      &unresolved);
  INGESTOR_FUZZ_CHECK(substituted.size() == props->size());
  for (const auto& [k, v] : substituted.entries()) {
    INGESTOR_FUZZ_CHECK(props->get(k) != nullptr, k);
    INGESTOR_FUZZ_CHECK(trimmed(v), k + "=" + v);
  }

  Diagnostics diags;
  const AgentConfig agent = parse_agent_config(substituted, "a1", diags);
  for (const auto& d : diags.all()) (void)d.to_string();
  for (const auto& s : agent.sources) validate_all(s.context, s.name, diags);
  for (const auto& c : agent.channels) validate_all(c.context, c.name, diags);
  for (const auto& k : agent.sinks) validate_all(k.context, k.name, diags);
  return 0;
}
