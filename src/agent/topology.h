#pragma once
// AgentTopology: how an agent is wired, as configured and built (components dropped by --lenient
// are left out): sources with their selector and interceptors, channels, sink groups, sinks. The
// monitoring port serves it as GET /topology (docs/status-page.md has the JSON's fields); the
// status page draws it and fills in live figures from GET /metrics, matching components by name.
//
// The selector and the sink groups are read from the configuration keys with Flume's names
// (`selector.type`, `selector.header`, `selector.mapping.<value>`, `selector.optional[.<value>]`,
// `selector.default`; `sinkgroups.<g>.sinks`, `sinkgroups.<g>.processor.type`), so they describe
// what the agent was told to run; Agent::build fills them from the same SourceConfig and
// SinkGroupConfig it builds the runtime objects from.

#include <map>
#include <string>
#include <vector>

#include "core/config/agent_config.h"

namespace ingestor {

struct SelectorTopology {
  std::string type = "replicating";  // as configured, lower case for Flume's aliases
  std::string header;                // multiplexing: the header whose value picks channels
  // header value -> channels. Replicating: empty mapping, and `optional` under the key "*"
  // (every event) when `selector.optional` is set.
  std::map<std::string, std::vector<std::string>> mapping, optional;
  std::vector<std::string> default_channels;  // multiplexing: for unmapped values
};

struct SourceTopology {
  std::string name, type;
  std::vector<std::string> channels;  // every channel the source may put to
  SelectorTopology selector;
  std::vector<std::pair<std::string, std::string>> interceptors;  // (name, type), in order
};

struct NamedTopology {
  std::string name, type;
};

struct SinkTopology {
  std::string name, type, channel;
};

struct SinkGroupTopology {
  std::string name;
  std::string processor = "default";  // processor.type: default, failover, load_balance
  std::vector<std::string> sinks;
};

struct AgentTopology {
  std::string agent;
  std::vector<SourceTopology> sources;
  std::vector<NamedTopology> channels;
  std::vector<SinkGroupTopology> sinkgroups;
  std::vector<SinkTopology> sinks;
  // The other roles running in the same process and served at GET /roles ("store", "relay",
  // "consumer" under `ingestor up`; empty for `ingestor agent`).
  std::vector<std::string> roles;
};

// The selector of `source` as its `selector.*` keys describe it.
SelectorTopology describe_selector(const SourceConfig& source);

// The sink group's processor type and members as configured.
SinkGroupTopology describe_sinkgroup(const SinkGroupConfig& group);

// {"agent":"a1","sources":[{"name","type","channels","selector":{"type","header","mapping",
// "optional","default"},"interceptors":[{"name","type"}]}],"channels":[{"name","type"}],
// "sinkgroups":[{"name","processor","sinks"}],"sinks":[{"name","type","channel"}],"roles":[]}.
std::string render_topology_json(const AgentTopology& t);

}  // namespace ingestor
