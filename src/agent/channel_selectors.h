#pragma once
// Channel selectors from a source's `selector.*` keys (Flume's ReplicatingChannelSelector and
// MultiplexingChannelSelector; reference: flume-components.md section 2):
//  - replicating (the default): `selector.optional = c3 c4`.
//  - multiplexing: `selector.header` (default flume.selector.header), `selector.mapping.<value>`,
//    `selector.optional.<value>`, `selector.default`. Values are matched exactly (case-sensitive,
//    untrimmed); a missing or blank header, or an unmapped value, goes to the default channels.
// Types are Flume's aliases (any case) or class names. A channel a selector names must be one of
// the source's channels (agent_config.cc checks that); one that was dropped by --lenient is left
// out, and a mapping left with no channel is an error, as Flume's "No channel configured for when
// header value is: <v>".

#include <map>
#include <set>
#include <string>

#include "core/channel_processor.h"
#include "core/config/agent_config.h"
#include "core/config/spec.h"

namespace ingestor {

const ComponentSpec& replicating_selector_spec();
const ComponentSpec& multiplexing_selector_spec();

// Builds the selector of `source` over the built `channels`. Problems go to `diags` under the
// source with full keys (`pfx` is "a1.sources.r1."); returns false when the source cannot run.
// Channels put to are added to `used`.
bool build_channel_selector(const SourceConfig& source,
                            const std::map<std::string, Channel*>& channels, const std::string& pfx,
                            Diagnostics& diags, ChannelSelector& out, std::set<std::string>& used);

}  // namespace ingestor
