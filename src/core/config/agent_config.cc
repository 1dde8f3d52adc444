#include "core/config/agent_config.h"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "core/config/suggest.h"

// How the structure is cut (after Flume's FlumeConfiguration), and what this parser decides
// where Flume is silent or merely logs:
//  - Every component listed in `<agent>.sources` etc. is returned, in list order, even when it has
//    errors (its type may then be empty): the agent drops what has_errors_for() names in lenient
//    mode and stops otherwise. Dropping a channel does not cascade here: the agent does that.
//  - Contexts hold a component's other keys: `type` is never in them, nor the wiring keys
//    (`channels`, `selector.*` and `interceptors*` of a source, `channel` of a sink, `sinks` of a
//    group).
//  - Errors (the agent cannot run as written): a listed component with no properties or no type,
//    missing or unknown channels, `channel` on a source or `channels` on a sink, bad sink groups,
//    agent-level keys outside the five known lists, incomplete keys (`a1.sources.r1`), names
//    holding a '.', a selector naming a channel its source does not write to, config filters
//    (not supported), an agent with no channels, or with neither sources nor sinks.
//  - Warnings (Flume ignores these and so do we): empty values, keys of unlisted components (a
//    common way to switch a component off), a name listed twice, keys without an agent name, a
//    channel that no source or sink uses.

namespace ingestor {

Context subcontext(const Context& ctx, std::string_view prefix) {
  Context out;
  for (auto it = ctx.lower_bound(std::string(prefix)); it != ctx.end(); ++it) {
    const std::string& k = it->first;
    if (k.compare(0, prefix.size(), prefix) != 0) break;
    if (k.size() > prefix.size()) out.emplace(k.substr(prefix.size()), it->second);
  }
  return out;
}

const ChannelConfig* AgentConfig::channel(std::string_view n) const {
  for (const auto& c : channels) {
    if (c.name == n) return &c;
  }
  return nullptr;
}

namespace {

enum Kind { kSource = 0, kChannel, kSink, kSinkGroup, kKinds };

constexpr std::array<std::string_view, kKinds> kPlural = {"sources", "channels", "sinks",
                                                          "sinkgroups"};
constexpr std::array<std::string_view, kKinds> kSingular = {"source", "channel", "sink",
                                                            "sinkgroup"};

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && static_cast<unsigned char>(s[i]) <= 0x20) ++i;
    size_t j = i;
    while (j < s.size() && static_cast<unsigned char>(s[j]) > 0x20) ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// "k3" and "k1" are two components, not a typo: no suggestion between them.
bool differ_only_in_digits(std::string_view a, std::string_view b) {
  auto strip = [](std::string_view s) {
    std::string out;
    for (char c : s) {
      if (c < '0' || c > '9') out += c;
    }
    return out;
  };
  return strip(a) == strip(b);
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// One key of a component: `sub` is what follows "<agent>.<kind>s.<name>.".
struct RawKey {
  std::string sub;
  std::string value;
  std::string full;
};

struct RawComponent {
  std::vector<RawKey> keys;  // in file order, empty values left out
};

struct ListKey {
  std::string full;  // "a1.sources"
  std::vector<std::string> names;
};

class Parser {
 public:
  Parser(const Properties& props, std::string_view agent, Diagnostics& diags)
      : props_(props), agent_(agent), prefix_(std::string(agent) + "."), diags_(diags) {}

  AgentConfig run() {
    AgentConfig out;
    out.name = agent_;
    if (!collect()) {
      diags_.error("agent", "", "",
                   "no configuration for agent '" + agent_ + "' in the given files");
      return out;
    }
    for (int k = 0; k < kKinds; ++k) read_list(static_cast<Kind>(k));
    warn_unlisted();

    for (const auto& name : lists_[kChannel].names) out.channels.push_back(build_channel(name));
    for (const auto& name : lists_[kSource].names) out.sources.push_back(build_source(name));
    for (const auto& name : lists_[kSink].names) out.sinks.push_back(build_sink(name));
    std::vector<std::pair<std::string, std::string>> sink_group;  // sink -> first group
    for (const auto& name : lists_[kSinkGroup].names) {
      out.sinkgroups.push_back(build_sinkgroup(name, sink_group));
    }

    if (lists_[kChannel].names.empty()) {
      diags_.error("agent", "", list_key(kChannel), "no channels configured");
    }
    if (lists_[kSource].names.empty() && lists_[kSink].names.empty()) {
      diags_.error("agent", "", list_key(kSource), "no sources or sinks configured");
    }
    for (const auto& ch : out.channels) {
      bool used = false;
      for (const auto& s : out.sources) used = used || contains(s.channels, ch.name);
      for (const auto& s : out.sinks) used = used || s.channel == ch.name;
      if (!used && !diags_.has_errors_for("channel", ch.name)) {
        diags_.warning("channel", ch.name, list_key(kChannel), "not used by any source or sink");
      }
    }
    return out;
  }

 private:
  std::string list_key(Kind k) const { return prefix_ + std::string(kPlural[k]); }
  std::string component_prefix(Kind k, const std::string& name) const {
    return list_key(k) + "." + name + ".";
  }

  // Sorts this agent's keys into lists and per-component keys; false when it has none at all.
  bool collect() {
    bool found = false;
    bool filters_reported = false;
    for (const auto& [key, value] : props_.entries()) {
      const size_t dot = key.find('.');
      if (dot == std::string::npos || dot == 0) {
        if (key == agent_) found = true;
        diags_.warning("file", "", key.empty() ? "(empty key)" : key,
                       key.empty() ? "no key before the separator; ignored"
                                   : "no agent name (expected '<agent>.<key>'); ignored");
        continue;
      }
      if (key.compare(0, prefix_.size(), prefix_) != 0) continue;  // another agent
      found = true;
      const std::string rest = key.substr(prefix_.size());
      const std::string first = rest.substr(0, rest.find('.'));

      if (first == "configfilters") {
        if (!filters_reported) {
          diags_.error("agent", "", key,
                       "config filters are not supported; use ${env:VAR} in values instead");
          filters_reported = true;
        }
        continue;
      }
      int kind = -1;
      for (int k = 0; k < kKinds; ++k) {
        if (first == kPlural[k]) kind = k;
      }
      if (kind < 0) {
        std::string msg = "unknown agent-level key '" + rest +
                          "' (expected sources, channels, sinks, sinkgroups or configfilters)";
        std::vector<std::string_view> cands(kPlural.begin(), kPlural.end());
        cands.push_back("configfilters");
        if (auto m = closest_match(first, cands)) {
          msg += "; did you mean '" + prefix_ + std::string(*m) + rest.substr(first.size()) + "'?";
        }
        diags_.error("agent", "", key, msg);
        continue;
      }
      const Kind k = static_cast<Kind>(kind);
      if (rest.size() == first.size()) {  // the list itself
        if (value.empty()) {
          diags_.warning("agent", "", key, "empty value ignored");
          continue;
        }
        list_value_[k] = value;
        continue;
      }
      const size_t name_begin = first.size() + 1;
      const size_t name_end = rest.find('.', name_begin);
      const std::string name = rest.substr(
          name_begin, name_end == std::string::npos ? std::string::npos : name_end - name_begin);
      if (name.empty() || name_end == std::string::npos || name_end + 1 >= rest.size()) {
        diags_.error(name.empty() ? "agent" : std::string(kSingular[k]), name, key,
                     "incomplete key (expected '" + list_key(k) + ".<name>.<key>')");
        continue;
      }
      if (value.empty()) {
        diags_.warning(std::string(kSingular[k]), name, key,
                       "empty value ignored (the default applies)");
        continue;
      }
      auto [it, inserted] = raw_[k].try_emplace(name);
      if (inserted) seen_order_[k].push_back(name);
      it->second.keys.push_back({rest.substr(name_end + 1), value, key});
    }
    return found;
  }

  void read_list(Kind k) {
    ListKey& list = lists_[k];
    list.full = list_key(k);
    for (auto& name : split_words(list_value_[k])) {
      if (name.find('.') != std::string::npos) {
        diags_.error(std::string(kSingular[k]), name, list.full,
                     "invalid name '" + name + "': names cannot contain '.'");
        continue;
      }
      if (contains(list.names, name)) {
        diags_.warning(std::string(kSingular[k]), name, list.full, "listed twice");
        continue;
      }
      list.names.push_back(std::move(name));
    }
  }

  void warn_unlisted() {
    for (int k = 0; k < kKinds; ++k) {
      for (const auto& name : seen_order_[k]) {
        if (contains(lists_[k].names, name)) continue;
        std::string msg = "not listed in " + lists_[k].full + "; its keys are ignored";
        std::vector<std::string_view> cands(lists_[k].names.begin(), lists_[k].names.end());
        auto m = closest_match(name, cands);
        if (m && !differ_only_in_digits(name, *m)) {
          msg += " (did you mean '" + std::string(*m) + "'?)";
        }
        diags_.warning(std::string(kSingular[k]), name, raw_[k].at(name).keys.front().full, msg);
      }
    }
  }

  // The component's keys, or nullptr (with an error) when it has none.
  const RawComponent* keys_of(Kind k, const std::string& name) {
    auto it = raw_[k].find(name);
    if (it == raw_[k].end()) {
      diags_.error(std::string(kSingular[k]), name, lists_[k].full, "listed but has no properties");
      return nullptr;
    }
    return &it->second;
  }

  void require_type(Kind k, const std::string& name, const std::string& type) {
    if (type.empty()) {
      diags_.error(std::string(kSingular[k]), name, component_prefix(k, name) + "type",
                   "no type configured");
    }
  }

  // Checks that every channel named by `key`'s value is one the source writes to.
  void check_selector_channels(const SourceConfig& src, const std::string& key,
                               const std::string& value) {
    for (const auto& ch : split_words(value)) {
      if (!contains(src.channels, ch)) {
        diags_.error(
            "source", src.name, key,
            "channel '" + ch + "' is not in " + component_prefix(kSource, src.name) + "channels");
      }
    }
  }

  ChannelConfig build_channel(const std::string& name) {
    ChannelConfig c;
    c.name = name;
    const RawComponent* raw = keys_of(kChannel, name);
    if (raw == nullptr) return c;
    for (const auto& rk : raw->keys) {
      if (rk.sub == "type") {
        c.type = rk.value;
      } else {
        c.context[rk.sub] = rk.value;
      }
    }
    require_type(kChannel, name, c.type);
    return c;
  }

  SourceConfig build_source(const std::string& name) {
    SourceConfig s;
    s.name = name;
    const RawComponent* raw = keys_of(kSource, name);
    if (raw == nullptr) return s;
    const std::string pfx = component_prefix(kSource, name);
    bool has_channels = false;
    const RawKey* singular = nullptr;
    std::optional<std::string> interceptor_list;
    std::map<std::string, std::vector<const RawKey*>> interceptor_keys;
    std::vector<std::string> interceptor_seen;
    for (const auto& rk : raw->keys) {
      if (rk.sub == "type") {
        s.type = rk.value;
      } else if (rk.sub == "channels") {
        has_channels = true;
        s.channels.clear();
        for (auto& ch : split_words(rk.value)) {
          if (contains(s.channels, ch)) {
            diags_.warning("source", name, rk.full, "channel '" + ch + "' listed twice");
            continue;
          }
          s.channels.push_back(std::move(ch));
        }
      } else if (rk.sub == "channel") {
        singular = &rk;
      } else if (rk.sub.compare(0, 9, "selector.") == 0 && rk.sub.size() > 9) {
        s.selector[rk.sub.substr(9)] = rk.value;
      } else if (rk.sub == "interceptors") {
        interceptor_list = rk.value;
      } else if (rk.sub.compare(0, 13, "interceptors.") == 0) {
        const size_t b = 13, e = rk.sub.find('.', b);
        if (e == std::string::npos || e == b || e + 1 >= rk.sub.size()) {
          diags_.error("source", name, rk.full,
                       "incomplete key (expected '" + pfx + "interceptors.<name>.<key>')");
          continue;
        }
        const std::string iname = rk.sub.substr(b, e - b);
        if (!interceptor_keys.count(iname)) interceptor_seen.push_back(iname);
        interceptor_keys[iname].push_back(&rk);
      } else {
        s.context[rk.sub] = rk.value;
      }
    }
    require_type(kSource, name, s.type);

    if (singular != nullptr) {
      diags_.error("source", name, singular->full,
                   "sources take 'channels' (plural), not 'channel'");
    } else if (!has_channels || s.channels.empty()) {
      diags_.error("source", name, pfx + "channels", "no channels configured");
    }
    for (const auto& ch : s.channels) {
      if (!contains(lists_[kChannel].names, ch)) {
        diags_.error("source", name, pfx + "channels",
                     "unknown channel '" + ch + "' (not in " + lists_[kChannel].full + ")");
      }
    }
    for (const auto& [k, v] : s.selector) {
      if (k == "optional" || k == "default" || k.compare(0, 8, "mapping.") == 0 ||
          k.compare(0, 9, "optional.") == 0) {
        check_selector_channels(s, pfx + "selector." + k, v);
      }
    }

    // Interceptors, in the order listed (a name listed twice is applied twice, as in Flume).
    const std::vector<std::string> inames =
        interceptor_list ? split_words(*interceptor_list) : std::vector<std::string>{};
    for (const auto& iname : inames) {
      InterceptorConfig ic;
      ic.name = iname;
      const std::string comp = name + "." + iname;
      auto it = interceptor_keys.find(iname);
      if (it == interceptor_keys.end()) {
        diags_.error("interceptor", comp, pfx + "interceptors", "listed but has no properties");
        s.interceptors.push_back(std::move(ic));
        continue;
      }
      const std::string ipfx = "interceptors." + iname + ".";
      for (const RawKey* rk : it->second) {
        const std::string sub = rk->sub.substr(ipfx.size());
        if (sub == "type") {
          ic.type = rk->value;
        } else {
          ic.context[sub] = rk->value;
        }
      }
      if (ic.type.empty()) {
        diags_.error("interceptor", comp, pfx + ipfx + "type", "no type configured");
      }
      s.interceptors.push_back(std::move(ic));
    }
    for (const auto& iname : interceptor_seen) {
      if (contains(inames, iname)) continue;
      diags_.warning("interceptor", name + "." + iname, interceptor_keys[iname].front()->full,
                     "not listed in " + pfx + "interceptors; its keys are ignored");
    }
    return s;
  }

  SinkConfig build_sink(const std::string& name) {
    SinkConfig s;
    s.name = name;
    const RawComponent* raw = keys_of(kSink, name);
    if (raw == nullptr) return s;
    const std::string pfx = component_prefix(kSink, name);
    const RawKey* plural = nullptr;
    const RawKey* channel = nullptr;
    for (const auto& rk : raw->keys) {
      if (rk.sub == "type") {
        s.type = rk.value;
      } else if (rk.sub == "channel") {
        channel = &rk;
      } else if (rk.sub == "channels") {
        plural = &rk;
      } else {
        s.context[rk.sub] = rk.value;
      }
    }
    require_type(kSink, name, s.type);
    if (channel == nullptr) {
      if (plural != nullptr) {
        diags_.error("sink", name, plural->full, "sinks take one 'channel', not 'channels'");
      } else {
        diags_.error("sink", name, pfx + "channel", "no channel configured");
      }
      return s;
    }
    if (plural != nullptr) {
      diags_.error("sink", name, plural->full,
                   "sinks take one 'channel', not 'channels' (" + channel->full + " is set)");
    }
    const std::vector<std::string> words = split_words(channel->value);
    if (words.size() != 1) {
      diags_.error("sink", name, channel->full,
                   "a sink reads from exactly one channel, got '" + channel->value + "'");
      return s;
    }
    s.channel = words.front();
    if (!contains(lists_[kChannel].names, s.channel)) {
      diags_.error("sink", name, channel->full,
                   "unknown channel '" + s.channel + "' (not in " + lists_[kChannel].full + ")");
    }
    return s;
  }

  SinkGroupConfig build_sinkgroup(const std::string& name,
                                  std::vector<std::pair<std::string, std::string>>& sink_group) {
    SinkGroupConfig g;
    g.name = name;
    const RawComponent* raw = keys_of(kSinkGroup, name);
    if (raw == nullptr) return g;
    const std::string key = component_prefix(kSinkGroup, name) + "sinks";
    bool has_sinks = false;
    std::vector<std::string> sinks;
    for (const auto& rk : raw->keys) {
      if (rk.sub == "sinks") {
        has_sinks = true;
        sinks = split_words(rk.value);
      } else {
        g.context[rk.sub] = rk.value;
      }
    }
    if (!has_sinks || sinks.empty()) {
      diags_.error("sinkgroup", name, key, "no sinks configured");
      return g;
    }
    for (auto& sink : sinks) {
      if (contains(g.sinks, sink)) {
        diags_.warning("sinkgroup", name, key, "sink '" + sink + "' listed twice");
        continue;
      }
      if (!contains(lists_[kSink].names, sink)) {
        diags_.error("sinkgroup", name, key,
                     "unknown sink '" + sink + "' (not in " + lists_[kSink].full + ")");
        continue;
      }
      auto other = std::find_if(sink_group.begin(), sink_group.end(),
                                [&](const auto& p) { return p.first == sink; });
      if (other != sink_group.end()) {
        diags_.error("sinkgroup", name, key,
                     "sink '" + sink + "' is already in sink group '" + other->second + "'");
        continue;
      }
      sink_group.emplace_back(sink, name);
      g.sinks.push_back(std::move(sink));
    }
    return g;
  }

  const Properties& props_;
  const std::string agent_;
  const std::string prefix_;
  Diagnostics& diags_;
  std::array<std::string, kKinds> list_value_;
  std::array<ListKey, kKinds> lists_;
  std::array<std::map<std::string, RawComponent>, kKinds> raw_;
  std::array<std::vector<std::string>, kKinds> seen_order_;
};

}  // namespace

AgentConfig parse_agent_config(const Properties& props, std::string_view agent,
                               Diagnostics& diags) {
  return Parser(props, agent, diags).run();
}

}  // namespace ingestor
