// Channel selectors built from Flume's keys (flume-components.md section 2 checklist, after
// TestMultiplexingChannelSelector) and the ChannelProcessor routing events with them.
#include "agent/channel_selectors.h"

#include <gtest/gtest.h>

#include "agent/channels/memory_channel.h"

namespace ingestor {
namespace {

struct Fixture {
  std::vector<std::unique_ptr<MemoryChannel>> owned;
  std::map<std::string, Channel*> channels;
  Fixture() {
    for (const char* n : {"ch1", "ch2", "ch3"}) {
      MemoryChannelOptions o;
      o.capacity = 100;
      o.transaction_capacity = 100;
      owned.push_back(std::make_unique<MemoryChannel>(n, o));
      channels[n] = owned.back().get();
    }
  }
  ChannelSelector build(Context selector, Diagnostics& d, bool expect_ok = true) {
    SourceConfig sc;
    sc.name = "r1";
    sc.channels = {"ch1", "ch2", "ch3"};
    sc.selector = std::move(selector);
    ChannelSelector out;
    std::set<std::string> used;
    EXPECT_EQ(build_channel_selector(sc, channels, "a1.sources.r1.", d, out, used), expect_ok);
    return out;
  }
};

std::vector<std::string> names(const std::vector<Channel*>& v) {
  std::vector<std::string> out;
  for (auto* c : v) out.push_back(c->name());
  return out;
}

using V = std::vector<std::string>;

Event with(const char* header, const char* value) { return Event::of("x", {{header, value}}); }

std::pair<V, V> route(const ChannelSelector& s, const Event& e) {
  const auto& req = s.multiplexing->required_for(e);
  std::vector<Channel*> opt;
  s.multiplexing->optional_for(e, req, opt);
  return {names(req), names(opt)};
}

Context flume_test_config() {
  return {
      {"type", "multiplexing"},    {"header", "myheader"},         {"mapping.foo", "ch1 ch2"},
      {"mapping.bar", "ch2 ch3"},  {"mapping.xyz", "ch1 ch2 ch3"}, {"default", "ch1 ch3"},
      {"optional.foo", "ch2 ch3"}, {"optional.xyz", "ch1 ch3"},    {"optional.zebra", "ch1 ch2"}};
}

TEST(MultiplexingSelector, FlumeChecklistSelection) {
  Fixture f;
  Diagnostics d;
  ChannelSelector s = f.build(flume_test_config(), d);
  EXPECT_FALSE(d.has_errors());
  EXPECT_EQ(route(s, with("myheader", "foo")), (std::pair<V, V>{{"ch1", "ch2"}, {"ch3"}}));
  EXPECT_EQ(route(s, with("myheader", "xyz")), (std::pair<V, V>{{"ch1", "ch2", "ch3"}, {}}));
  // No header, another header, an unmapped value: the default, no optional.
  EXPECT_EQ(route(s, Event::of("x")), (std::pair<V, V>{{"ch1", "ch3"}, {}}));
  EXPECT_EQ(route(s, with("other", "foo")), (std::pair<V, V>{{"ch1", "ch3"}, {}}));
  EXPECT_EQ(route(s, with("myheader", "bar1")), (std::pair<V, V>{{"ch1", "ch3"}, {}}));
  EXPECT_EQ(route(s, with("myheader", "  ")), (std::pair<V, V>{{"ch1", "ch3"}, {}}));
  // Exact and case-sensitive, untrimmed.
  EXPECT_EQ(route(s, with("myheader", "FOO")).first, (V{"ch1", "ch3"}));
  EXPECT_EQ(route(s, with("myheader", " foo")).first, (V{"ch1", "ch3"}));
  // Unmapped but with optional channels: default required, optional minus those.
  EXPECT_EQ(route(s, with("myheader", "zebra")), (std::pair<V, V>{{"ch1", "ch3"}, {"ch2"}}));
  // getAllChannels order: the source's.
  EXPECT_EQ(names(s.required), (V{"ch1", "ch2", "ch3"}));
}

TEST(MultiplexingSelector, NoDefaultNoMandatoryOnlyOptional) {
  Fixture f;
  Diagnostics d;
  ChannelSelector s = f.build({{"type", "multiplexing"},
                               {"header", "myheader"},
                               {"mapping.zebra", "ch2"},
                               {"optional.zebra", "ch1 ch3"}},
                              d);
  EXPECT_EQ(route(s, with("myheader", "zebra")), (std::pair<V, V>{{"ch2"}, {"ch1", "ch3"}}));
  EXPECT_EQ(route(s, with("myheader", "foo")), (std::pair<V, V>{{}, {}}));
  Diagnostics d2;
  ChannelSelector s2 = f.build({{"type", "multiplexing"},
                                {"header", "myheader"},
                                {"default", "ch3"},
                                {"optional.foo", "ch1 ch2"}},
                               d2);
  EXPECT_EQ(route(s2, with("myheader", "foo")), (std::pair<V, V>{{"ch3"}, {"ch1", "ch2"}}));
  Diagnostics d3;
  ChannelSelector s3 = f.build(
      {{"type", "org.apache.flume.channel.MultiplexingChannelSelector"}, {"optional.a", "ch1 ch2"}},
      d3);
  EXPECT_EQ(route(s3, with("flume.selector.header", "a")), (std::pair<V, V>{{}, {"ch1", "ch2"}}));
  EXPECT_TRUE(s3.required.empty());
  EXPECT_FALSE(d3.has_errors());
}

TEST(MultiplexingSelector, ConfigErrorsNameTheKey) {
  Fixture f;
  Diagnostics d;
  f.build({{"type", "multiplexing"}, {"mapping.x", "gone"}}, d, false);
  ASSERT_TRUE(d.has_errors());
  EXPECT_EQ(d.all().front().key, "a1.sources.r1.selector.mapping.x");
  EXPECT_NE(d.all().front().message.find("No channel configured for when header value is: x"),
            std::string::npos);
  Diagnostics d2;
  f.build({{"type", "multiplexing"}, {"mapings.x", "ch1"}}, d2, false);
  ASSERT_TRUE(d2.has_errors());
  EXPECT_EQ(d2.all().front().key, "a1.sources.r1.selector.mapings.x");
  Diagnostics d3;
  f.build({{"type", "com.example.MySelector"}}, d3, false);
  ASSERT_TRUE(d3.has_errors());
  EXPECT_NE(d3.all().front().message.find("not supported"), std::string::npos);
}

TEST(ReplicatingSelector, OptionalChannels) {
  Fixture f;
  Diagnostics d;
  ChannelSelector s = f.build({{"optional", "ch3 ch3"}}, d);
  EXPECT_FALSE(d.has_errors());
  EXPECT_EQ(names(s.required), (V{"ch1", "ch2"}));
  EXPECT_EQ(names(s.optional), (V{"ch3"}));
  EXPECT_EQ(s.multiplexing, nullptr);
}

std::vector<std::string> drain(Channel& ch) {
  Tx tx = ch.begin();
  EXPECT_TRUE(tx.take(1000));
  std::vector<std::string> out;
  for (const auto& e : tx.taken()) out.push_back(e.body.str());
  EXPECT_TRUE(tx.commit());
  return out;
}

TEST(MultiplexingSelector, ProcessorRoutesEachEventOnce) {
  Fixture f;
  Diagnostics d;
  ChannelSelector s = f.build(flume_test_config(), d);
  ChannelProcessor p({}, s);
  Batch b;
  b.push_back(Event::of("foo1", {{"myheader", "foo"}}));
  b.push_back(Event::of("none"));
  b.push_back(Event::of("bar1", {{"myheader", "bar"}}));
  b.push_back(Event::of("zebra1", {{"myheader", "zebra"}}));
  PutProgress pr;
  ASSERT_TRUE(p.process(b, pr));
  EXPECT_TRUE(b.empty());
  // ch1: foo (required), none (default), zebra (default). ch2: foo, bar, zebra (optional).
  // ch3: foo (optional), none, bar, zebra.
  EXPECT_EQ(drain(*f.channels["ch1"]), (V{"foo1", "none", "zebra1"}));
  EXPECT_EQ(drain(*f.channels["ch2"]), (V{"foo1", "bar1", "zebra1"}));
  EXPECT_EQ(drain(*f.channels["ch3"]), (V{"foo1", "none", "bar1", "zebra1"}));
}

TEST(MultiplexingSelector, RetryAfterFullChannelDoesNotDuplicate) {
  std::vector<std::unique_ptr<MemoryChannel>> owned;
  std::map<std::string, Channel*> channels;
  for (auto [n, cap] : {std::pair{"ch1", 10}, std::pair{"ch2", 2}}) {
    MemoryChannelOptions o;
    o.capacity = cap;
    o.transaction_capacity = cap;
    owned.push_back(std::make_unique<MemoryChannel>(n, o));
    channels[n] = owned.back().get();
  }
  SourceConfig sc;
  sc.name = "r1";
  sc.channels = {"ch1", "ch2"};
  sc.selector = {
      {"type", "multiplexing"}, {"header", "h"}, {"mapping.a", "ch1 ch2"}, {"default", "ch1"}};
  Diagnostics d;
  ChannelSelector s;
  std::set<std::string> used;
  ASSERT_TRUE(build_channel_selector(sc, channels, "a1.sources.r1.", d, s, used));
  ChannelProcessor p({}, s);
  Batch pre;
  pre.push_back(Event::of("p1", {{"h", "a"}}));
  pre.push_back(Event::of("p2", {{"h", "a"}}));
  PutProgress pre_pr;
  ASSERT_TRUE(p.process(pre, pre_pr));  // ch2 is full now
  drain(*channels["ch1"]);
  Batch b;
  b.push_back(Event::of("x", {{"h", "a"}}));
  b.push_back(Event::of("y"));
  PutProgress pr;
  auto st = p.process(b, pr);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kChannelFull);
  EXPECT_EQ(b.size(), 2u);
  drain(*channels["ch2"]);
  ASSERT_TRUE(p.process(b, pr));
  EXPECT_EQ(drain(*channels["ch1"]), (V{"x", "y"}));
  EXPECT_EQ(drain(*channels["ch2"]), (V{"x"}));
}

}  // namespace
}  // namespace ingestor
