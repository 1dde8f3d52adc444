#include "agent/topology.h"

#include <algorithm>
#include <boost/json.hpp>

#include "base/strings.h"

namespace ingestor {

namespace json = boost::json;

namespace {

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::object channel_map(const std::map<std::string, std::vector<std::string>>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = strings(v);
  return o;
}

}  // namespace

SelectorTopology describe_selector(const SourceConfig& source) {
  SelectorTopology s;
  for (const auto& [k, v] : source.selector) {
    if (k == "type") {
      // Flume's class names as their aliases.
      std::string t = ascii_lower(v);
      if (t == "org.apache.flume.channel.replicatingchannelselector") t = "replicating";
      if (t == "org.apache.flume.channel.multiplexingchannelselector") t = "multiplexing";
      s.type = t;
    } else if (k == "header") {
      s.header = v;
    } else if (k == "default") {
      s.default_channels = split_words(v);
    } else if (k == "optional") {
      s.optional["*"] = split_words(v);
    } else if (k.rfind("optional.", 0) == 0) {
      s.optional[k.substr(9)] = split_words(v);
    } else if (k.rfind("mapping.", 0) == 0) {
      s.mapping[k.substr(8)] = split_words(v);
    }
  }
  return s;
}

SinkGroupTopology describe_sinkgroup(const SinkGroupConfig& group) {
  SinkGroupTopology g;
  g.name = group.name;
  g.sinks = group.sinks;
  if (auto it = group.context.find("processor.type");
      it != group.context.end() && !it->second.empty())
    g.processor = ascii_lower(it->second);
  return g;
}

std::string render_topology_json(const AgentTopology& t) {
  json::object root;
  root["agent"] = t.agent;
  json::array sources;
  for (const auto& s : t.sources) {
    json::array interceptors;
    for (const auto& [n, ty] : s.interceptors)
      interceptors.push_back(json::object{{"name", n}, {"type", ty}});
    sources.push_back(
        json::object{{"name", s.name},
                     {"type", s.type},
                     {"channels", strings(s.channels)},
                     {"selector", json::object{{"type", s.selector.type},
                                               {"header", s.selector.header},
                                               {"mapping", channel_map(s.selector.mapping)},
                                               {"optional", channel_map(s.selector.optional)},
                                               {"default", strings(s.selector.default_channels)}}},
                     {"interceptors", std::move(interceptors)}});
  }
  root["sources"] = std::move(sources);
  json::array channels;
  for (const auto& c : t.channels)
    channels.push_back(json::object{{"name", c.name}, {"type", c.type}});
  root["channels"] = std::move(channels);
  json::array groups;
  for (const auto& g : t.sinkgroups)
    groups.push_back(
        json::object{{"name", g.name}, {"processor", g.processor}, {"sinks", strings(g.sinks)}});
  root["sinkgroups"] = std::move(groups);
  json::array sinks;
  for (const auto& k : t.sinks)
    sinks.push_back(json::object{{"name", k.name}, {"type", k.type}, {"channel", k.channel}});
  root["sinks"] = std::move(sinks);
  root["roles"] = strings(t.roles);
  return json::serialize(root);
}

}  // namespace ingestor
