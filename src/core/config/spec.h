#pragma once
// Component specs: each component type declares its keys as data beside its code (key, type,
// default, required, one line of help). The same table validates a Context, rejects unknown keys,
// gives typed values, and prints `ingestor agent --describe TYPE`.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/agent_config.h"
#include "core/config/diagnostics.h"

namespace ingestor {

enum class KeyType {
  kString,
  kInt,     // 32-bit signed, Integer.parseInt rules (optional sign, decimal digits)
  kLong,    // 64-bit signed
  kBool,    // "true"/"false", any case
  kDouble,
  kList,    // white-space separated words
  kPrefix,  // `key` ends with ".*": any key under that prefix is accepted as a string
};

struct KeySpec {
  std::string_view key;
  KeyType type = KeyType::kString;
  // Default as text; empty string_view with no default means "no default".
  std::optional<std::string_view> default_value;
  bool required = false;
  std::string_view help;
  int64_t min = std::numeric_limits<int64_t>::min();  // for kInt/kLong
  int64_t max = std::numeric_limits<int64_t>::max();
  // An older Flume spelling accepted for this key ("enableSSL" for "ssl").
  std::string_view alias = {};
};

struct ComponentSpec {
  std::string_view kind;        // "source" | "channel" | "sink" | "interceptor" | "selector"
  std::string_view alias;       // "netcat"
  std::string_view class_name;  // "org.apache.flume.source.NetcatSource" (may be empty)
  std::string_view summary;     // one line
  std::vector<KeySpec> keys;
};

// Validated, typed settings of one component.
class Settings {
 public:
  // Checks `ctx` against `spec`, reporting into `diags` with `kind`/`component` and full keys built
  // as `key_prefix + key` (e.g. "a1.sources.r1."). Errors:
  //  - unknown key: "unknown key 'prot' for netcat source (known: bind, port, ...)"; suggests the
  //    closest known key when one is near ("did you mean 'port'?")
  //  - missing required key: "missing required key 'port'"
  //  - bad number: "expected an integer, got 'abc'"; out of range: "must be between 1 and 65535,
  //    got 70000"
  //  - bad boolean: "expected true or false, got 'yes'"
  // In lenient mode (set by the caller when building) unknown keys are warnings, and a bad boolean
  // reads as false, as Flume's Boolean.parseBoolean does.
  static Settings validate(const ComponentSpec& spec, const Context& ctx, std::string_view kind,
                           std::string_view component, std::string_view key_prefix,
                           Diagnostics& diags, bool lenient = false);

  // Typed getters: the value given, or the spec's default. Asking for a key not in the spec, or
  // for a value that failed validation, returns the default (or 0 / "" / false).
  std::string str(std::string_view key) const;
  int64_t i64(std::string_view key) const;
  bool boolean(std::string_view key) const;
  double dbl(std::string_view key) const;
  std::vector<std::string> list(std::string_view key) const;
  // True when the key was given in the configuration.
  bool has(std::string_view key) const;
  // Keys under a kPrefix key ("serializer." for "serializer.*"), prefix removed.
  Context sub(std::string_view prefix) const;

 private:
  const ComponentSpec* spec_ = nullptr;
  Context values_;  // given values, by canonical key (aliases resolved)
};

// `ingestor agent --describe TYPE`: a readable table of keys, types, defaults and help.
std::string describe(const ComponentSpec& spec);

// Long.parseLong / Integer.parseInt on a value trimmed of white space: an optional '+' or '-',
// then one or more ASCII digits. False when `text` is not such an integer. When the digits do not
// fit in 64 bits, returns true with `overflow` set and `out` untouched; otherwise stores the value.
// The rule every integer key of a configuration is read with (kInt and kLong keys above).
[[nodiscard]] bool parse_java_integer(std::string_view text, int64_t& out, bool& overflow);

// A number given outside a component's keys (a command-line flag, an environment variable,
// `ingestor up`'s keys): parse_java_integer's syntax, from `min` to `max` inclusive; nullopt for
// anything else (not a whole number, past 64 bits, out of range).
[[nodiscard]] std::optional<int64_t> parse_whole_number(std::string_view text, int64_t min,
                                                        int64_t max);
// What parse_whole_number(min, max) accepts, for the message that names the flag or key and the
// value: "expected a whole number from 1 to 256"; with `unit` "bytes" and max INT64_MAX:
// "expected a whole number of bytes, 0 or more".
std::string expected_whole_number(int64_t min, int64_t max, std::string_view unit = {});

}  // namespace ingestor
