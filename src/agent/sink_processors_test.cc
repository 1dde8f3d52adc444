// Sink groups: Flume's failover and load-balancing checklists (flume-components.md section 3,
// after TestFailoverSinkProcessor and TestLoadBalancingSinkProcessor), on a fake clock.
#include "agent/sink_processors.h"

#include <gtest/gtest.h>

#include "agent/channels/memory_channel.h"

namespace ingestor {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Takes one event per call while it has `remaining` capacity; fails (an Error, Flume's exception)
// when it has none left.
class CountingSink : public Sink {
 public:
  CountingSink(const char* name, int remaining) : Sink(name, "test"), remaining(remaining) {}
  Result<SinkStatus> process() override {
    ++calls;
    if (remaining <= 0) return make_error(Errc::kUnavailable, "full");
    Tx tx = channel_->begin();
    auto n = tx.take(1);
    if (!n) return n.error();
    if (*n == 0) {
      counters_.batch_empty.add();
      return SinkStatus::kBackoff;
    }
    if (auto s = tx.commit(); !s) return s.error();
    --remaining;
    ++delivered;
    return SinkStatus::kReady;
  }
  int remaining;
  int delivered = 0;
  int calls = 0;
};

struct Rig {
  std::unique_ptr<MemoryChannel> ch;
  std::vector<std::unique_ptr<CountingSink>> sinks;
  std::map<std::string, Sink*> by_name;
  Clock::time_point now = Clock::now();
  explicit Rig(std::vector<std::pair<const char*, int>> spec) {
    MemoryChannelOptions o;
    o.capacity = 10000;
    o.transaction_capacity = 100;
    ch = std::make_unique<MemoryChannel>("c1", o);
    for (auto [n, r] : spec) {
      sinks.push_back(std::make_unique<CountingSink>(n, r));
      sinks.back()->set_channel(ch.get());
      by_name[n] = sinks.back().get();
    }
  }
  void put(int n) {
    while (n > 0) {
      Tx tx = ch->begin();
      for (int i = 0; i < 100 && n > 0; ++i, --n) ASSERT_TRUE(tx.put(Event::of("e")));
      ASSERT_TRUE(tx.commit());
    }
  }
  std::unique_ptr<SinkGroup> group(Context ctx, Diagnostics& d, bool lenient = false) {
    SinkGroupConfig g;
    g.name = "g1";
    for (auto& s : sinks) g.sinks.push_back(s->name());
    g.context = std::move(ctx);
    auto grp = build_sink_group(g, by_name, "a1.sinkgroups.g1.", d, lenient);
    if (grp) grp->set_clock([this] { return now; });
    return grp;
  }
  CountingSink& operator[](size_t i) { return *sinks[i]; }
};

TEST(FailoverSinkProcessor, FlumeChecklist) {
  Rig r({{"s1", 10}, {"s2", 50}, {"s3", 100}});
  Diagnostics d;
  auto g = r.group({{"processor.type", "failover"},
                    {"processor.priority.s1", "3"},
                    {"processor.priority.s2", "2"},
                    {"processor.priority.s3", "1"}},
                   d);
  ASSERT_TRUE(g);
  r.put(15);
  for (int i = 0; i < 15; ++i) ASSERT_TRUE(g->process());
  EXPECT_EQ(r[0].delivered, 10);
  EXPECT_EQ(r[1].delivered, 5);
  r.put(50);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(g->process());
  EXPECT_EQ(r[1].delivered, 50);
  EXPECT_EQ(r[2].delivered, 5);
  r[1].remaining = 20;  // s2 recovers
  r.now += 5001ms;
  r.put(100);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(g->process());
  EXPECT_EQ(r[0].delivered, 10);
  EXPECT_EQ(r[1].delivered, 70);
  EXPECT_EQ(r[2].delivered, 85);
}

TEST(FailoverSinkProcessor, PenaltiesGrowToMaxAndResetOnRecovery) {
  Rig r({{"k1", 0}, {"k2", 1000}});
  Diagnostics d;
  auto g = r.group({{"processor.type", "FAILOVER"},
                    {"processor.priority.k1", "10"},
                    {"processor.priority.k2", "5"},
                    {"processor.maxpenalty", "10000"}},
                   d);
  ASSERT_TRUE(g);
  auto* f = static_cast<FailoverSinkProcessor*>(g.get());
  r.put(100);
  ASSERT_TRUE(g->process());  // k1 fails: 2 s; k2 delivers
  EXPECT_EQ(f->active(), &r[1]);
  auto probes = [&](std::chrono::milliseconds wait) {
    int before = r[0].calls;
    r.now += wait - 1ms;
    ASSERT_TRUE(g->process());
    EXPECT_EQ(r[0].calls, before) << "probed before its cool-down ended";
    r.now += 1ms;
    ASSERT_TRUE(g->process());
    EXPECT_EQ(r[0].calls, before + 1);
  };
  probes(2000ms);  // second failure: 4 s
  probes(4000ms);  // 8 s
  probes(8000ms);  // capped at 10 s
  probes(10000ms);
  probes(10000ms);
  r[0].remaining = 5;  // k1 recovers: probed, delivers, active again
  r.now += 10000ms;
  ASSERT_TRUE(g->process());
  EXPECT_EQ(f->active(), &r[0]);
  EXPECT_EQ(r[0].delivered, 1);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(g->process());
  EXPECT_EQ(r[0].delivered, 5);
  ASSERT_TRUE(g->process());  // fails again: the count starts again at 2 s
  probes(2000ms);
}

TEST(FailoverSinkProcessor, BackoffDoesNotFailOverAndAllFailedIsAnError) {
  Rig r({{"k1", 5}, {"k2", 5}});
  Diagnostics d;
  auto g = r.group({{"processor.type", "failover"}, {"processor.priority.k1", "2"}}, d);
  ASSERT_TRUE(g);
  auto st = g->process();  // empty channel: k1 backs off, k2 not called
  ASSERT_TRUE(st);
  EXPECT_EQ(*st, SinkStatus::kBackoff);
  EXPECT_EQ(r[1].calls, 0);
  EXPECT_EQ(g->counters().batch_empty.get(), 1);
  r[0].remaining = r[1].remaining = 0;
  r.put(1);
  auto e = g->process();
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("All sinks failed to process, nothing left to failover to"),
            std::string::npos);
  EXPECT_EQ(r[0].counters().process_error.get(), 1);
}

TEST(FailoverSinkProcessor, AutomaticAndDuplicatePriorities) {
  Rig r({{"k1", 5}, {"k2", 5}, {"k3", 5}});
  Diagnostics d;
  // k1 and k2 have no priority: -1 and -2 in the listed order; k3 duplicates nobody.
  auto g = r.group({{"processor.type", "failover"}, {"processor.priority.k3", "-1"}}, d);
  ASSERT_TRUE(g);
  // k1 took -1 first: k3 duplicates it and is left out.
  EXPECT_EQ(g->members().size(), 2u);
  ASSERT_EQ(d.all().size(), 1u);
  EXPECT_NE(d.all()[0].message.find("duplicates that of sink k1"), std::string::npos);
  EXPECT_EQ(static_cast<FailoverSinkProcessor*>(g.get())->active(), &r[0]);
}

TEST(FailoverSinkProcessor, BadNumbersStrictAndLenient) {
  Rig r({{"k1", 5}, {"k2", 5}});
  Diagnostics d;
  EXPECT_FALSE(r.group({{"processor.type", "failover"}, {"processor.maxpenalty", "30s"}}, d));
  ASSERT_TRUE(d.has_errors());
  EXPECT_EQ(d.all()[0].key, "a1.sinkgroups.g1.processor.maxpenalty");
  Diagnostics l;
  EXPECT_TRUE(r.group({{"processor.type", "failover"}, {"processor.maxpenalty", "30s"}}, l, true));
  EXPECT_FALSE(l.has_errors());
}

TEST(LoadBalancingSinkProcessor, RoundRobinByDefault) {
  Rig r({{"s1", 1000}, {"s2", 1000}, {"s3", 1000}});
  Diagnostics d;
  auto g = r.group({{"processor.type", "load_balance"}}, d);
  ASSERT_TRUE(g);
  r.put(300);
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(g->process());
  EXPECT_EQ(r[0].delivered, 100);
  EXPECT_EQ(r[1].delivered, 100);
  EXPECT_EQ(r[2].delivered, 100);
}

TEST(LoadBalancingSinkProcessor, AnEmptyCallDoesNotUseUpASinksTurn) {
  // A low rate: one event, then calls until the channel is empty, again and again. Each delivery
  // is followed by an empty call; the sinks must still take turns.
  Rig r({{"s1", 1000}, {"s2", 1000}});
  Diagnostics d;
  auto g = r.group({{"processor.type", "load_balance"}}, d);
  ASSERT_TRUE(g);
  for (int i = 0; i < 10; ++i) {
    r.put(1);
    ASSERT_TRUE(g->process());  // delivers
    auto empty = g->process();
    ASSERT_TRUE(empty);
    EXPECT_EQ(*empty, SinkStatus::kBackoff);
  }
  EXPECT_EQ(r[0].delivered, 5);
  EXPECT_EQ(r[1].delivered, 5);
}

TEST(LoadBalancingSinkProcessor, BackoffBlacklistsAndRecovers) {
  Rig r({{"s1", 1000}, {"s2", 0}, {"s3", 1000}});
  Diagnostics d;
  auto g = r.group({{"processor.type", "load_balance"},
                    {"processor.backoff", "true"},
                    {"processor.selector.maxTimeOut", "10000"}},
                   d);
  ASSERT_TRUE(g);
  r.put(1000);
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(g->process());
  EXPECT_EQ(r[0].delivered + r[2].delivered, 300);
  EXPECT_EQ(r[1].calls, 1);  // blacklisted for 2 s after its first failure
  r.now += 2000ms;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(g->process());
  EXPECT_EQ(r[1].calls, 2);  // tried once more, fails: 4 s now
  r.now += 3999ms;
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(g->process());
  EXPECT_EQ(r[1].calls, 2);
  r[1].remaining = 1000;  // recovers
  r.now += 1ms;
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(g->process());
  EXPECT_EQ(r[1].delivered, 10);
}

TEST(LoadBalancingSinkProcessor, WithoutBackoffAFailingSinkIsTriedEveryTime) {
  Rig r({{"s1", 1000}, {"s2", 0}});
  Diagnostics d;
  auto g = r.group({{"processor.type", "load_balance"}, {"processor.selector", "RANDOM"}}, d);
  ASSERT_TRUE(g);
  r.put(100);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(g->process());
  EXPECT_EQ(r[0].delivered, 100);
  EXPECT_GT(r[1].calls, 20);
  r[0].remaining = 0;
  auto e = g->process();
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("All configured sinks have failed"), std::string::npos);
}

TEST(LoadBalancingSinkProcessor, RandomWithEverySinkBlacklistedFailsCleanly) {
  Rig r({{"s1", 0}, {"s2", 0}});
  Diagnostics d;
  auto g = r.group({{"processor.type", "load_balance"},
                    {"processor.selector", "random"},
                    {"processor.backoff", "true"}},
                   d);
  r.put(1);
  EXPECT_FALSE(g->process());
  auto e = g->process();  // both blacklisted now: Flume throws from Random.nextInt(0)
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("All configured sinks have failed"), std::string::npos);
}

TEST(SinkGroups, ConfigurationErrors) {
  Rig r({{"k1", 1}, {"k2", 1}});
  auto error_of = [&](Context ctx) {
    Diagnostics d;
    EXPECT_FALSE(r.group(std::move(ctx), d));
    return d.has_errors() ? d.all().front().key + ": " + d.all().front().message : std::string();
  };
  EXPECT_NE(error_of({}).find("can only handle one sink"), std::string::npos);
  EXPECT_NE(error_of({{"processor.type", "load_balance"},
                      {"processor.selector", "com.example.MySelector"}})
                .find("processor.selector: Unable to instantiate sink selector"),
            std::string::npos);
  EXPECT_NE(error_of({{"processor.type", "org.example.Custom"}}).find("not supported"),
            std::string::npos);
  EXPECT_NE(error_of({{"processor.type", "failover"}, {"processor.maxpenatly", "1"}})
                .find("processor.maxpenatly"),
            std::string::npos);
  Rig one({{"k1", 1}});
  Diagnostics d;
  EXPECT_FALSE(one.group({{"processor.type", "load_balance"}}, d));
  EXPECT_NE(d.all().front().message.find("cannot be used for a single sink"), std::string::npos);
  Diagnostics ok;
  EXPECT_FALSE(one.group({{"processor.type", "default"}}, ok));  // runs alone
  EXPECT_FALSE(ok.has_errors());
}

}  // namespace
}  // namespace ingestor
