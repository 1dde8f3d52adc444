#pragma once
// Java .properties files, read exactly as java.util.Properties.load reads them (Flume loads its
// configuration that way): `k=v`, `k: v` or `k v`; `#` and `!` comments; `\` line continuations
// (leading white space of the next line dropped); `\uXXXX`, `\t`, `\n`, `\r`, `\f` escapes and `\x`
// for any other x; the last duplicate wins. Keys and values are then trimmed, as Flume does.
// Values (never keys) take `${env:VAR}` and `${key}` substitution (Flume's StringSubstitutor).

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace ingestor {

// An ordered map: entries keep the order in which keys were first seen; set() of an existing key
// replaces the value in place.
class Properties {
 public:
  Properties() = default;
  // Copies rebuild the index (its views point into this object's own strings); moves keep it.
  Properties(const Properties& o);
  Properties& operator=(const Properties& o);
  Properties(Properties&&) noexcept = default;
  Properties& operator=(Properties&&) noexcept = default;

  void set(std::string key, std::string value);
  const std::string* get(std::string_view key) const;
  bool erase(std::string_view key);
  const std::vector<std::pair<std::string, std::string>>& entries() const { return kv_; }
  size_t size() const { return kv_.size(); }
  // Copies every entry of `later` over this one (later files override earlier ones).
  void merge(const Properties& later);

 private:
  std::vector<std::pair<std::string, std::string>> kv_;
  // key -> index into kv_, kept sorted for lookups
  std::vector<std::pair<std::string_view, size_t>> index_;
  void reindex();
};

// One key/value line as parsed, in file order (duplicates included), for the checks of
// config_quirks.h.
struct PropertyLine {
  std::string origin;  // the file
  size_t line = 0;     // 1-based, where the logical line starts
  std::string key, value;
};

// Parses one file's text. `origin` names it in messages ("agent.conf"). The only syntax error Java
// knows is a malformed \u escape: "agent.conf:12: malformed \uXXXX escape". When `lines` is
// given, every key/value line is appended to it.
[[nodiscard]] Result<Properties> parse_properties(std::string_view text, std::string_view origin,
                                                  std::vector<PropertyLine>* lines = nullptr);

// Reads and parses the files in order; later files override earlier keys.
// Errors name the file: "cannot read /x/agent.conf: No such file or directory".
[[nodiscard]] Result<Properties> load_properties_files(const std::vector<std::string>& paths,
                                                       std::vector<PropertyLine>* lines = nullptr);

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
// The process environment.
std::optional<std::string> process_env(const std::string& name);

// Replaces, in every value, `${env:NAME}` by the environment variable and `${key}` by the value of
// another key of `props` (resolved recursively, cycles are an error). `$${...}` escapes to a
// literal `${...}`. An unresolvable reference is left as it is, as Commons-Text does; each one is
// reported in `unresolved` as "key: ${env:NAME}" so the caller can warn or fail. One value may
// grow to about 1 MiB (past that its references stay unresolved); the whole configuration to
// 64 MiB: past that substitution stops with an error (Errc::kConfig) naming the key where the
// total went over, "agent.sinks.k1.x: ${...} substitution stopped: ... exceed 64 MiB", and `props`
// is left partly substituted (the caller stops).
// `bare_names_from_env`: a `${NAME}` that is no key of `props` reads the environment variable NAME
// (Flume with -DpropertiesImplementation=org.apache.flume.node.EnvVarResolverProperties).
Status substitute_values(Properties& props, const EnvLookup& env,
                         std::vector<std::string>* unresolved, bool bare_names_from_env = false);

}  // namespace ingestor
