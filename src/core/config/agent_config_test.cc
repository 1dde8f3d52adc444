#include "core/config/agent_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ingestor {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Lines = std::vector<std::string>;

Properties props(std::string_view text) {
  auto r = parse_properties(text, "test.conf");
  EXPECT_TRUE(r.has_value());
  return r ? std::move(*r) : Properties{};
}

Lines lines(const Diagnostics& d) {
  Lines out;
  for (const auto& x : d.all()) out.push_back(x.to_string());
  return out;
}

struct Parsed {
  AgentConfig config;
  Diagnostics diags;
};

Parsed parse(std::string_view text, std::string_view agent = "a1") {
  Parsed p;
  p.config = parse_agent_config(props(text), agent, p.diags);
  return p;
}

// A complete, valid agent, on which the error tests make one change each.
constexpr std::string_view kValid = R"(
a1.sources = r1 r2
a1.channels = c1 c2
a1.sinks = k1 k2

a1.sources.r1.type = netcat
a1.sources.r1.bind = 0.0.0.0
a1.sources.r1.port = 44444
a1.sources.r1.channels = c1 c2
a1.sources.r1.selector.type = multiplexing
a1.sources.r1.selector.header = state
a1.sources.r1.selector.mapping.CZ = c1
a1.sources.r1.selector.mapping.US = c1 c2
a1.sources.r1.selector.default = c2
a1.sources.r1.interceptors = ts host
a1.sources.r1.interceptors.ts.type = timestamp
a1.sources.r1.interceptors.ts.preserveExisting = true
a1.sources.r1.interceptors.host.type = host
a1.sources.r1.interceptors.host.hostHeader = hostname

a1.sources.r2.type = http
a1.sources.r2.port = 8080
a1.sources.r2.channels = c2

a1.channels.c1.type = memory
a1.channels.c1.capacity = 1000
a1.channels.c2.type = file

a1.sinks.k1.type = logger
a1.sinks.k1.channel = c1
a1.sinks.k2.type = hdfs
a1.sinks.k2.channel = c2
a1.sinks.k2.hdfs.path = s3a://bucket/logs
)";

TEST(AgentConfig, ParsesACompleteAgent) {
  Parsed p = parse(kValid);
  EXPECT_THAT(lines(p.diags), IsEmpty());
  const AgentConfig& a = p.config;
  EXPECT_EQ(a.name, "a1");
  ASSERT_EQ(a.sources.size(), 2u);
  const SourceConfig& r1 = a.sources[0];
  EXPECT_EQ(r1.name, "r1");
  EXPECT_EQ(r1.type, "netcat");
  EXPECT_THAT(r1.channels, ElementsAre("c1", "c2"));
  EXPECT_EQ(r1.context, (Context{{"bind", "0.0.0.0"}, {"port", "44444"}}));
  EXPECT_EQ(r1.selector, (Context{{"type", "multiplexing"},
                                  {"header", "state"},
                                  {"mapping.CZ", "c1"},
                                  {"mapping.US", "c1 c2"},
                                  {"default", "c2"}}));
  ASSERT_EQ(r1.interceptors.size(), 2u);
  EXPECT_EQ(r1.interceptors[0].name, "ts");
  EXPECT_EQ(r1.interceptors[0].type, "timestamp");
  EXPECT_EQ(r1.interceptors[0].context, (Context{{"preserveExisting", "true"}}));
  EXPECT_EQ(r1.interceptors[1].name, "host");
  EXPECT_EQ(r1.interceptors[1].type, "host");
  EXPECT_EQ(r1.interceptors[1].context, (Context{{"hostHeader", "hostname"}}));
  EXPECT_EQ(a.sources[1].name, "r2");
  EXPECT_THAT(a.sources[1].channels, ElementsAre("c2"));

  ASSERT_EQ(a.channels.size(), 2u);
  EXPECT_EQ(a.channels[0].name, "c1");
  EXPECT_EQ(a.channels[0].type, "memory");
  EXPECT_EQ(a.channels[0].context, (Context{{"capacity", "1000"}}));
  ASSERT_NE(a.channel("c2"), nullptr);
  EXPECT_EQ(a.channel("c2")->type, "file");
  EXPECT_EQ(a.channel("c9"), nullptr);

  ASSERT_EQ(a.sinks.size(), 2u);
  EXPECT_EQ(a.sinks[0].name, "k1");
  EXPECT_EQ(a.sinks[0].type, "logger");
  EXPECT_EQ(a.sinks[0].channel, "c1");
  EXPECT_TRUE(a.sinks[0].context.empty());
  EXPECT_EQ(a.sinks[1].context, (Context{{"hdfs.path", "s3a://bucket/logs"}}));
  EXPECT_TRUE(a.sinkgroups.empty());
}

TEST(AgentConfig, ComponentsKeepListOrderNotFileOrder) {
  Parsed p = parse(std::string(kValid) + "a1.sources = r2 r1\n");
  ASSERT_EQ(p.config.sources.size(), 2u);
  EXPECT_EQ(p.config.sources[0].name, "r2");
  EXPECT_EQ(p.config.sources[1].name, "r1");
}

TEST(AgentConfig, TheProbableOriginalProjectConfig) {
  // flume.md section 8: agent "agent", netcat + http -> memory -> hdfs on s3a.
  Parsed p = parse(R"(
agent.sources = netcatSrc httpSrc
agent.channels = memCh
agent.sinks = s3Sink
agent.sources.netcatSrc.type = netcat
agent.sources.netcatSrc.bind = 0.0.0.0
agent.sources.netcatSrc.port = 44444
agent.sources.netcatSrc.channels = memCh
agent.sources.httpSrc.type = http
agent.sources.httpSrc.port = 8080
agent.sources.httpSrc.channels = memCh
agent.channels.memCh.type = memory
agent.channels.memCh.capacity = 10000
agent.channels.memCh.transactionCapacity = 1000
agent.sinks.s3Sink.type = hdfs
agent.sinks.s3Sink.channel = memCh
agent.sinks.s3Sink.hdfs.path = s3a://bucket/flume/%Y-%m-%d
agent.sinks.s3Sink.hdfs.fileType = DataStream
)",
                   "agent");
  EXPECT_THAT(lines(p.diags), IsEmpty());
  EXPECT_EQ(p.config.sources.size(), 2u);
  EXPECT_EQ(p.config.sinks[0].context.at("hdfs.path"), "s3a://bucket/flume/%Y-%m-%d");
}

TEST(AgentConfig, KeysOfOtherAgentsAreIgnored) {
  Parsed p = parse(std::string(kValid) +
                   "a2.sources = x\na2.sources.x.type = bogus\na2.bogus = 1\n"
                   "store.dir = /tmp\na10.sources = y\n");
  EXPECT_THAT(lines(p.diags), IsEmpty());
  EXPECT_EQ(p.config.sources.size(), 2u);
}

TEST(AgentConfig, NoConfigurationForTheAgent) {
  Parsed p = parse(kValid, "a9");
  EXPECT_THAT(lines(p.diags),
              ElementsAre("error: agent: no configuration for agent 'a9' in the given files"));
  EXPECT_TRUE(p.config.sources.empty());
  EXPECT_EQ(p.config.name, "a9");
}

TEST(AgentConfig, ListedComponentWithNoProperties) {
  Parsed p = parse(std::string(kValid) + "a1.channels = c1 c2 c3\n");
  EXPECT_THAT(lines(p.diags),
              ElementsAre("error: channel c3: a1.channels: listed but has no properties"));
  EXPECT_TRUE(p.diags.has_errors_for("channel", "c3"));
  EXPECT_FALSE(p.diags.has_errors_for("channel", "c1"));
  // Still returned, so that the caller sees every component and its problems.
  ASSERT_EQ(p.config.channels.size(), 3u);
  EXPECT_EQ(p.config.channels[2].type, "");
}

TEST(AgentConfig, ComponentWithNoType) {
  Parsed p = parse(R"(
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.port = 1
a1.sources.r1.channels = c1
a1.channels.c1.capacity = 10
a1.sinks.k1.channel = c1
)");
  EXPECT_THAT(lines(p.diags),
              ElementsAre("error: channel c1: a1.channels.c1.type: no type configured",
                          "error: source r1: a1.sources.r1.type: no type configured",
                          "error: sink k1: a1.sinks.k1.type: no type configured"));
}

TEST(AgentConfig, KeysOfAnUnlistedComponentAreIgnoredWithAWarning) {
  Parsed p = parse(std::string(kValid) +
                   "a1.sources.r9.port = 1\na1.sources.r9.type = netcat\n"
                   "a1.sinks.k3.type = null\n");
  EXPECT_THAT(lines(p.diags),
              ElementsAre("warning: source r9: a1.sources.r9.port: not listed in a1.sources; its "
                          "keys are ignored",
                          "warning: sink k3: a1.sinks.k3.type: not listed in a1.sinks; its keys "
                          "are ignored"));
  EXPECT_FALSE(p.diags.has_errors());
  EXPECT_EQ(p.config.sources.size(), 2u);

  // A likely typo of a listed name gets a suggestion.
  Parsed q = parse(std::string(kValid) + "a1.sinks = k1 k2 s3Sink\na1.sinks.S3sink.type = hdfs\n");
  EXPECT_THAT(lines(q.diags),
              ElementsAre("warning: sink S3sink: a1.sinks.S3sink.type: not listed in a1.sinks; "
                          "its keys are ignored (did you mean 's3Sink'?)",
                          "error: sink s3Sink: a1.sinks: listed but has no properties"));
}

TEST(AgentConfig, AgentLevelKeyOutsideTheKnownLists) {
  Parsed p = parse(std::string(kValid) + "a1.channel.c3.type = memory\na1.foo = bar\n");
  EXPECT_THAT(
      lines(p.diags),
      ElementsAre("error: agent: a1.channel.c3.type: unknown agent-level key 'channel.c3.type' "
                  "(expected sources, channels, sinks, sinkgroups or configfilters); did you "
                  "mean 'a1.channels.c3.type'?",
                  "error: agent: a1.foo: unknown agent-level key 'foo' (expected sources, "
                  "channels, sinks, sinkgroups or configfilters)"));
}

TEST(AgentConfig, FlumeChecklistChannelTypo) {
  // TestFlumeConfiguration: `agent.channel.c1` (singular) is an invalid property; c1 then has no
  // configuration, the source's channels are empty, and the agent cannot run.
  Parsed p = parse(R"(
agent.sources = s1
agent.sources.s1.type = avro
agent.sources.s1.channels =
agent.channels = c1
agent.channel.c1.type = memory
)",
                   "agent");
  EXPECT_THAT(
      lines(p.diags),
      ElementsAre("warning: source s1: agent.sources.s1.channels: empty value ignored (the "
                  "default applies)",
                  "error: agent: agent.channel.c1.type: unknown agent-level key 'channel.c1.type' "
                  "(expected sources, channels, sinks, sinkgroups or configfilters); did you "
                  "mean 'agent.channels.c1.type'?",
                  "error: channel c1: agent.channels: listed but has no properties",
                  "error: source s1: agent.sources.s1.channels: no channels configured"));
}

TEST(AgentConfig, SourceWithNoChannels) {
  Parsed p = parse(std::string(kValid) + "a1.sources = r1 r2 r3\na1.sources.r3.type = seq\n");
  EXPECT_THAT(lines(p.diags),
              ElementsAre("error: source r3: a1.sources.r3.channels: no channels configured"));
  EXPECT_TRUE(p.diags.has_errors_for("source", "r3"));
}

TEST(AgentConfig, SourceWithSingularChannel) {
  Parsed p = parse(std::string(kValid) +
                   "a1.sources = r1 r2 r3\na1.sources.r3.type = seq\na1.sources.r3.channel = c1\n");
  EXPECT_THAT(lines(p.diags), ElementsAre("error: source r3: a1.sources.r3.channel: sources take "
                                          "'channels' (plural), not 'channel'"));
  EXPECT_TRUE(p.config.sources[2].context.empty());
}

TEST(AgentConfig, SourceNamingAnUnknownChannel) {
  Parsed p = parse(std::string(kValid) + "a1.sources.r2.channels = c2 c9\n");
  EXPECT_THAT(lines(p.diags), ElementsAre("error: source r2: a1.sources.r2.channels: unknown "
                                          "channel 'c9' (not in a1.channels)"));
}

TEST(AgentConfig, SourceListingAChannelTwice) {
  Parsed p = parse(std::string(kValid) + "a1.sources.r2.channels = c2 c2\n");
  EXPECT_THAT(lines(p.diags), ElementsAre("warning: source r2: a1.sources.r2.channels: channel "
                                          "'c2' listed twice"));
  EXPECT_THAT(p.config.sources[1].channels, ElementsAre("c2"));
}

TEST(AgentConfig, SelectorNamingAChannelTheSourceDoesNotWriteTo) {
  Parsed p = parse(std::string(kValid) +
                   "a1.sources.r2.selector.optional = c1\n"
                   "a1.sources.r1.selector.mapping.DE = c3\n");
  EXPECT_THAT(lines(p.diags),
              ElementsAre("error: source r1: a1.sources.r1.selector.mapping.DE: channel 'c3' is "
                          "not in a1.sources.r1.channels",
                          "error: source r2: a1.sources.r2.selector.optional: channel 'c1' is not "
                          "in a1.sources.r2.channels"));
}

TEST(AgentConfig, SinkWithPluralChannels) {
  Parsed p = parse(std::string(kValid) +
                   "a1.sinks = k1 k2 k3\na1.sinks.k3.type = null\na1.sinks.k3.channels = c1\n");
  EXPECT_THAT(lines(p.diags), ElementsAre("error: sink k3: a1.sinks.k3.channels: sinks take one "
                                          "'channel', not 'channels'"));
  EXPECT_TRUE(p.diags.has_errors_for("sink", "k3"));
  EXPECT_EQ(p.config.sinks[2].channel, "");
}

TEST(AgentConfig, SinkWithBothChannelAndChannels) {
  Parsed p = parse(std::string(kValid) + "a1.sinks.k1.channels = c1\n");
  EXPECT_THAT(lines(p.diags),
              ElementsAre("error: sink k1: a1.sinks.k1.channels: sinks take one 'channel', not "
                          "'channels' (a1.sinks.k1.channel is set)"));
}

TEST(AgentConfig, SinkWithNoChannel) {
  Parsed p = parse(std::string(kValid) + "a1.sinks = k1 k2 k3\na1.sinks.k3.type = null\n");
  EXPECT_THAT(lines(p.diags),
              ElementsAre("error: sink k3: a1.sinks.k3.channel: no channel configured"));
}

TEST(AgentConfig, SinkNamingAnUnknownChannel) {
  Parsed p = parse(std::string(kValid) + "a1.sinks.k1.channel = c9\n");
  EXPECT_THAT(lines(p.diags), ElementsAre("error: sink k1: a1.sinks.k1.channel: unknown channel "
                                          "'c9' (not in a1.channels)"));
}

TEST(AgentConfig, SinkNamingTwoChannels) {
  Parsed p = parse(std::string(kValid) + "a1.sinks.k1.channel = c1 c2\n");
  EXPECT_THAT(lines(p.diags), ElementsAre("error: sink k1: a1.sinks.k1.channel: a sink reads from "
                                          "exactly one channel, got 'c1 c2'"));
}

constexpr std::string_view kGroups = R"(
a1.sinks = k1 k2 k3
a1.sinks.k3.type = null
a1.sinks.k3.channel = c1
a1.sinkgroups = g1
a1.sinkgroups.g1.sinks = k1 k2
a1.sinkgroups.g1.processor.type = failover
a1.sinkgroups.g1.processor.priority.k1 = 10
a1.sinkgroups.g1.processor.priority.k2 = 5
)";

TEST(AgentConfig, SinkGroups) {
  Parsed p = parse(std::string(kValid) + std::string(kGroups));
  EXPECT_THAT(lines(p.diags), IsEmpty());
  ASSERT_EQ(p.config.sinkgroups.size(), 1u);
  const SinkGroupConfig& g = p.config.sinkgroups[0];
  EXPECT_EQ(g.name, "g1");
  EXPECT_THAT(g.sinks, ElementsAre("k1", "k2"));
  EXPECT_EQ(g.context, (Context{{"processor.type", "failover"},
                                {"processor.priority.k1", "10"},
                                {"processor.priority.k2", "5"}}));
  EXPECT_EQ(subcontext(g.context, "processor.priority."), (Context{{"k1", "10"}, {"k2", "5"}}));
}

TEST(AgentConfig, SinkGroupNamingAnUnknownSink) {
  Parsed p = parse(std::string(kValid) + std::string(kGroups) + "a1.sinkgroups.g1.sinks = k1 k9\n");
  EXPECT_THAT(lines(p.diags), ElementsAre("error: sinkgroup g1: a1.sinkgroups.g1.sinks: unknown "
                                          "sink 'k9' (not in a1.sinks)"));
  EXPECT_THAT(p.config.sinkgroups[0].sinks, ElementsAre("k1"));
}

TEST(AgentConfig, SinkInTwoGroups) {
  Parsed p = parse(std::string(kValid) + std::string(kGroups) +
                   "a1.sinkgroups = g1 g2\na1.sinkgroups.g2.sinks = k3 k2\n");
  EXPECT_THAT(lines(p.diags), ElementsAre("error: sinkgroup g2: a1.sinkgroups.g2.sinks: sink 'k2' "
                                          "is already in sink group 'g1'"));
  EXPECT_THAT(p.config.sinkgroups[1].sinks, ElementsAre("k3"));
}

TEST(AgentConfig, SinkGroupWithNoSinks) {
  Parsed p = parse(std::string(kValid) +
                   "a1.sinkgroups = g1\na1.sinkgroups.g1.processor.type = failover\n");
  EXPECT_THAT(lines(p.diags),
              ElementsAre("error: sinkgroup g1: a1.sinkgroups.g1.sinks: no sinks configured"));
}

TEST(AgentConfig, EmptyValuesAreIgnoredWithAWarning) {
  Parsed p = parse(std::string(kValid) + "a1.sources.r1.port =\na1.sinks.k2.hdfs.inUseSuffix =\n");
  EXPECT_THAT(lines(p.diags),
              ElementsAre("warning: source r1: a1.sources.r1.port: empty value ignored (the "
                          "default applies)",
                          "warning: sink k2: a1.sinks.k2.hdfs.inUseSuffix: empty value ignored "
                          "(the default applies)"));
  EXPECT_FALSE(p.diags.has_errors());
  // The earlier `port = 44444` was replaced by the empty value, which is then ignored.
  EXPECT_EQ(p.config.sources[0].context.count("port"), 0u);
  EXPECT_EQ(p.config.sinks[1].context.count("hdfs.inUseSuffix"), 0u);
}

TEST(AgentConfig, Interceptors) {
  Parsed p = parse(std::string(kValid) +
                   "a1.sources.r1.interceptors = ts bad none\n"
                   "a1.sources.r1.interceptors.bad.regex = x\n"
                   "a1.sources.r1.interceptors.stray.type = static\n");
  EXPECT_THAT(
      lines(p.diags),
      ElementsAre("error: interceptor r1.bad: a1.sources.r1.interceptors.bad.type: no type "
                  "configured",
                  "error: interceptor r1.none: a1.sources.r1.interceptors: listed but has no "
                  "properties",
                  "warning: interceptor r1.host: a1.sources.r1.interceptors.host.type: not listed "
                  "in a1.sources.r1.interceptors; its keys are ignored",
                  "warning: interceptor r1.stray: a1.sources.r1.interceptors.stray.type: not "
                  "listed in a1.sources.r1.interceptors; its keys are ignored"));
  EXPECT_TRUE(p.diags.has_errors_for("interceptor", "r1.bad"));
  ASSERT_EQ(p.config.sources[0].interceptors.size(), 3u);
  EXPECT_EQ(p.config.sources[0].interceptors[1].context, (Context{{"regex", "x"}}));
}

TEST(AgentConfig, IncompleteKeys) {
  Parsed p = parse(std::string(kValid) +
                   "a1.sources.r1 = netcat\na1.sources..type = x\n"
                   "a1.sources.r1.interceptors.ts = x\n");
  EXPECT_THAT(lines(p.diags),
              ElementsAre("error: source r1: a1.sources.r1: incomplete key (expected "
                          "'a1.sources.<name>.<key>')",
                          "error: agent: a1.sources..type: incomplete key (expected "
                          "'a1.sources.<name>.<key>')",
                          "error: source r1: a1.sources.r1.interceptors.ts: incomplete key "
                          "(expected 'a1.sources.r1.interceptors.<name>.<key>')"));
}

TEST(AgentConfig, NamesListedTwiceOrWithADot) {
  Parsed p = parse(std::string(kValid) + "a1.channels = c1 c2 c1 c.3\n");
  EXPECT_THAT(lines(p.diags),
              ElementsAre("warning: channel c1: a1.channels: listed twice",
                          "error: channel c.3: a1.channels: invalid name 'c.3': names cannot "
                          "contain '.'"));
  EXPECT_EQ(p.config.channels.size(), 2u);
}

TEST(AgentConfig, ConfigFiltersAreNotSupported) {
  Parsed p = parse(std::string(kValid) + "a1.configfilters = f1\na1.configfilters.f1.type = env\n");
  EXPECT_THAT(lines(p.diags),
              ElementsAre("error: agent: a1.configfilters: config filters are not supported; use "
                          "${env:VAR} in values instead"));
}

TEST(AgentConfig, AgentWithoutChannelsOrWithoutSourcesAndSinks) {
  Parsed p = parse("a1.sources = r1\na1.sources.r1.type = seq\na1.sources.r1.channels = c1\n");
  EXPECT_THAT(lines(p.diags),
              ElementsAre("error: source r1: a1.sources.r1.channels: unknown channel 'c1' (not "
                          "in a1.channels)",
                          "error: agent: a1.channels: no channels configured"));
  Parsed q = parse("a1.channels = c1\na1.channels.c1.type = memory\n");
  EXPECT_THAT(lines(q.diags),
              ElementsAre("error: agent: a1.sources: no sources or sinks configured",
                          "warning: channel c1: a1.channels: not used by any source or sink"));
}

TEST(AgentConfig, KeysWithoutAnAgentName) {
  Parsed p = parse(std::string(kValid) + "loose = 1\n.x = 2\n= 3\n");
  EXPECT_THAT(lines(p.diags),
              ElementsAre("warning: file: loose: no agent name (expected '<agent>.<key>'); "
                          "ignored",
                          "warning: file: .x: no agent name (expected '<agent>.<key>'); ignored",
                          "warning: file: (empty key): no key before the separator; ignored"));
  EXPECT_FALSE(p.diags.has_errors());
}

TEST(Subcontext, KeysUnderAPrefixWithThePrefixRemoved) {
  Context ctx{{"selector.type", "multiplexing"},
              {"selector.mapping.CZ", "c1"},
              {"selector.", "ignored"},
              {"selectorx", "no"},
              {"port", "1"}};
  EXPECT_EQ(subcontext(ctx, "selector."),
            (Context{{"type", "multiplexing"}, {"mapping.CZ", "c1"}}));
  EXPECT_EQ(subcontext(ctx, "selector.mapping."), (Context{{"CZ", "c1"}}));
  EXPECT_TRUE(subcontext(ctx, "nothing.").empty());
}

TEST(DiagnosticFormat, OneLinePerProblem) {
  Diagnostics d;
  d.error("source", "r1", "a1.sources.r1.port", "expected an integer, got 'abc'");
  d.warning("interceptor", "r1.i1", "a1.sources.r1.interceptors.i1.x", "m");
  d.error("agent", "", "", "no configuration for agent 'a1' in the given files");
  d.error("", "", "k", "bare");
  EXPECT_THAT(lines(d),
              ElementsAre("error: source r1: a1.sources.r1.port: expected an integer, got 'abc'",
                          "warning: interceptor r1.i1: a1.sources.r1.interceptors.i1.x: m",
                          "error: agent: no configuration for agent 'a1' in the given files",
                          "error: k: bare"));
  EXPECT_EQ(d.size(), 4u);
  EXPECT_TRUE(d.has_errors());
  EXPECT_TRUE(d.has_errors_for("source", "r1"));
  EXPECT_FALSE(d.has_errors_for("interceptor", "r1.i1"));  // a warning only
  EXPECT_FALSE(d.has_errors_for("sink", "r1"));

  Diagnostics w;
  w.warning("sink", "k1", "", "w");
  EXPECT_FALSE(w.has_errors());
}

}  // namespace
}  // namespace ingestor
