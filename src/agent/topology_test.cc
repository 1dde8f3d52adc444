#include "agent/topology.h"

#include <gtest/gtest.h>

namespace ingestor {
namespace {

TEST(Topology, SelectorFromFlumeKeys) {
  SourceConfig r;
  r.name = "r1";
  r.selector = {{"type", "org.apache.flume.channel.MultiplexingChannelSelector"},
                {"header", "state"},
                {"mapping.CZ", "c1"},
                {"mapping.US", "c2 c3"},
                {"optional.CZ", "c4"},
                {"default", "c4"}};
  SelectorTopology s = describe_selector(r);
  EXPECT_EQ(s.type, "multiplexing");
  EXPECT_EQ(s.header, "state");
  EXPECT_EQ(s.mapping, (std::map<std::string, std::vector<std::string>>{{"CZ", {"c1"}},
                                                                        {"US", {"c2", "c3"}}}));
  EXPECT_EQ(s.optional, (std::map<std::string, std::vector<std::string>>{{"CZ", {"c4"}}}));
  EXPECT_EQ(s.default_channels, std::vector<std::string>{"c4"});

  SourceConfig plain;
  EXPECT_EQ(describe_selector(plain).type, "replicating");
  plain.selector = {{"type", "Replicating"}, {"optional", "c2 c3"}};
  SelectorTopology rep = describe_selector(plain);
  EXPECT_EQ(rep.type, "replicating");
  EXPECT_EQ(rep.optional, (std::map<std::string, std::vector<std::string>>{{"*", {"c2", "c3"}}}));
}

TEST(Topology, SinkGroupAndJson) {
  SinkGroupConfig g{
      "g1", {"k1", "k2"}, {{"processor.type", "Failover"}, {"processor.priority.k1", "5"}}};
  SinkGroupTopology t = describe_sinkgroup(g);
  EXPECT_EQ(t.processor, "failover");
  EXPECT_EQ(describe_sinkgroup(SinkGroupConfig{"g2", {"k3"}, {}}).processor, "default");

  AgentTopology a;
  a.agent = "a\"1";  // escaped in the JSON
  a.sinkgroups.push_back(t);
  a.sinks.push_back({"k1", "null", "c1"});
  EXPECT_EQ(render_topology_json(a),
            R"({"agent":"a\"1","sources":[],"channels":[],"sinkgroups":[{"name":"g1",)"
            R"("processor":"failover","sinks":["k1","k2"]}],"sinks":[{"name":"k1","type":"null",)"
            R"("channel":"c1"}],"roles":[]})");
}

}  // namespace
}  // namespace ingestor
