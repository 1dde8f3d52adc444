#pragma once
// The shape of one agent's configuration, cut out of the properties by Flume's key grammar
// (flume.md 1.2): `<agent>.sources = r1 r2`, `<agent>.sources.r1.<key> = v`, plural `channels`
// on sources, singular `channel` on sinks, `selector.*` and `interceptors` on sources,
// `<agent>.sinkgroups.g1.sinks`.
//
// This is structure only: component keys are checked against each type's ComponentSpec later
// (see spec.h), by the agent, which knows the types.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/diagnostics.h"
#include "core/config/properties.h"

namespace ingestor {

// A component's own keys, with the "<agent>.<kind>s.<name>." prefix removed; ordered by key.
using Context = std::map<std::string, std::string>;

// The keys under `prefix` (e.g. "selector."), with the prefix removed.
Context subcontext(const Context& ctx, std::string_view prefix);

struct InterceptorConfig {
  std::string name;
  std::string type;  // as written; empty when missing
  Context context;   // keys under interceptors.<name>. except type
};

struct SourceConfig {
  std::string name;
  std::string type;
  std::vector<std::string> channels;
  Context selector;                          // keys under selector. (type, optional, ...)
  std::vector<InterceptorConfig> interceptors;  // in the order listed
  Context context;                           // every other key (type, channels excluded)
};

struct ChannelConfig {
  std::string name;
  std::string type;
  Context context;
};

struct SinkConfig {
  std::string name;
  std::string type;
  std::string channel;
  Context context;
};

struct SinkGroupConfig {
  std::string name;
  std::vector<std::string> sinks;
  Context context;  // processor.* and the rest
};

struct AgentConfig {
  std::string name;
  std::vector<SourceConfig> sources;    // in the order of `<agent>.sources`
  std::vector<ChannelConfig> channels;
  std::vector<SinkConfig> sinks;
  std::vector<SinkGroupConfig> sinkgroups;

  const ChannelConfig* channel(std::string_view name) const;
};

// Builds the agent named `agent` from `props`. Every problem is reported in `diags` (kind +
// component + full key + message), among them:
//  - no `<agent>.` key at all: agent error "no configuration for agent 'a1' in the given files"
//  - a name listed in `<agent>.sources` etc. with no properties, a component with no `type`
//  - keys for a component that is not listed (`a1.sources.r9.port` with r9 not in `a1.sources`)
//  - agent-level keys outside sources/channels/sinks/sinkgroups/configfilters (`a1.channel.c1`)
//  - a source with no `channels`, or naming a channel not in `<agent>.channels`
//  - a sink with `channels` (plural) instead of `channel`, with no channel, or an unknown one
//  - a sink group naming an unknown sink, or a sink in two groups
//  - empty values are ignored with a warning (Flume ignores them, so the default applies)
// Keys of other agents in the same file are ignored.
AgentConfig parse_agent_config(const Properties& props, std::string_view agent, Diagnostics& diags);

}  // namespace ingestor
