// MemoryChannel: Flume's checklist (flume.md section 9, "Memory channel") and the transaction
// rules of core/channel.h.
#include "agent/channels/memory_channel.h"

#include <gtest/gtest.h>

#include <thread>

namespace ingestor {
namespace {

MemoryChannelOptions opts(int64_t cap, int64_t tx_cap, int64_t bytes = 0, int64_t pct = 20) {
  MemoryChannelOptions o;
  o.capacity = cap;
  o.transaction_capacity = tx_cap;
  o.byte_capacity = bytes;
  o.byte_capacity_buffer_percentage = pct;
  return o;
}

Status put_all(Channel& ch, std::vector<std::string> bodies) {
  Tx tx = ch.begin();
  Batch b;
  for (auto& s : bodies) b.push_back(Event::of(s));
  if (auto s = tx.put(b); !s) return s;
  return tx.commit();
}

std::vector<std::string> take_all(Channel& ch, size_t max) {
  Tx tx = ch.begin();
  auto n = tx.take(max);
  EXPECT_TRUE(n);
  std::vector<std::string> out;
  for (const auto& e : tx.taken()) out.push_back(e.body.str());
  EXPECT_TRUE(tx.commit());
  return out;
}

TEST(MemoryChannel, PutTakeRoundTripKeepsHeadersAndOrder) {
  MemoryChannel ch("c1", opts(10, 10));
  Tx tx = ch.begin();
  Batch b;
  b.push_back(Event::of("a", {{"k", ""}}));  // an empty header value is accepted
  b.push_back(Event::of("b"));
  ASSERT_TRUE(tx.put(b));
  ASSERT_TRUE(tx.commit());
  Tx t2 = ch.begin();
  ASSERT_EQ(*t2.take(10), 2u);
  EXPECT_EQ(t2.taken()[0].body.str(), "a");
  EXPECT_EQ(*t2.taken()[0].headers.find("k"), "");
  EXPECT_EQ(t2.taken()[1].body.str(), "b");
  ASSERT_TRUE(t2.commit());
  EXPECT_EQ(ch.size(), 0u);
}

TEST(MemoryChannel, PutOverTransactionCapacityFails) {
  MemoryChannel ch("c1", opts(5, 2));
  Tx tx = ch.begin();
  ASSERT_TRUE(tx.put(Event::of("1")));
  ASSERT_TRUE(tx.put(Event::of("2")));
  auto s = tx.put(Event::of("3"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kChannelFull);
  EXPECT_NE(s.error().message.find("Put queue for MemoryTransaction of capacity 2 full"),
            std::string::npos);
}

TEST(MemoryChannel, CapacityIsCheckedAtCommit) {
  MemoryChannel ch("c1", opts(5, 5));
  ASSERT_TRUE(put_all(ch, {"1", "2", "3"}));
  Tx tx = ch.begin();
  Batch b{Event::of("4"), Event::of("5"), Event::of("6")};
  ASSERT_TRUE(tx.put(b));  // puts are accepted...
  auto s = tx.commit();    // ...the commit finds no room
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kChannelFull);
  EXPECT_EQ(s.error().message,
            "Space for commit to queue couldn't be acquired. Sinks are likely not keeping up with "
            "sources, or the buffer size is too tight");
  // The transaction stays open; rollback hands the events back in order.
  ASSERT_TRUE(tx.open());
  Batch back;
  tx.rollback(&back);
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[0].body.str(), "4");
  EXPECT_EQ(back[2].body.str(), "6");
  EXPECT_EQ(ch.size(), 3u);
}

TEST(MemoryChannel, ByteCapacityCountsBodySlotsAndIsReleased) {
  // byteCapacity 2000 with 20% buffer: 16 slots of 100 bytes; a 405-byte body takes 5 slots.
  MemoryChannel ch("c1", opts(100, 100, 2000, 20));
  std::string body(405, 'x');
  ASSERT_TRUE(put_all(ch, {body, body, body}));  // 15 slots
  auto s = put_all(ch, {body, body});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("Byte capacity allocated to store event body"),
            std::string::npos);
  // A take that rolls back keeps the bytes; a committed take releases them.
  {
    Tx tx = ch.begin();
    ASSERT_EQ(*tx.take(1), 1u);
    tx.rollback();
  }
  EXPECT_EQ(ch.byte_slots_used(), 15);
  EXPECT_EQ(take_all(ch, 2).size(), 2u);
  EXPECT_EQ(ch.byte_slots_used(), 5);
  ASSERT_TRUE(put_all(ch, {body, body}));
}

TEST(MemoryChannel, EmptyBodyTakesOneSlot) {
  MemoryChannel ch("c1", opts(100, 100, 200, 0));  // 2 slots
  ASSERT_TRUE(put_all(ch, {"", ""}));
  EXPECT_FALSE(put_all(ch, {""}));
  EXPECT_EQ(ch.size(), 2u);
}

TEST(MemoryChannel, RollbackOfTakesRestoresHeadInOrder) {
  MemoryChannel ch("c1", opts(10, 10));
  ASSERT_TRUE(put_all(ch, {"1", "2", "3", "4"}));
  {
    Tx tx = ch.begin();
    ASSERT_EQ(*tx.take(3), 3u);
    EXPECT_EQ(ch.size(), 1u);
    // destroyed without commit: RAII rollback
  }
  EXPECT_EQ(ch.size(), 4u);
  EXPECT_EQ(take_all(ch, 10), (std::vector<std::string>{"1", "2", "3", "4"}));
}

TEST(MemoryChannel, RollbackOfPutsDiscardsThem) {
  MemoryChannel ch("c1", opts(10, 10));
  {
    Tx tx = ch.begin();
    ASSERT_TRUE(tx.put(Event::of("x")));
    tx.rollback();
  }
  EXPECT_EQ(ch.size(), 0u);
  {
    Tx tx = ch.begin();
    ASSERT_TRUE(tx.put(Event::of("y")));
  }  // RAII rollback
  EXPECT_EQ(ch.size(), 0u);
}

TEST(MemoryChannel, PutsAreInvisibleUntilCommit) {
  MemoryChannel ch("c1", opts(10, 10));
  Tx tx = ch.begin();
  ASSERT_TRUE(tx.put(Event::of("x")));
  EXPECT_EQ(ch.size(), 0u);
  EXPECT_TRUE(take_all(ch, 10).empty());
  ASSERT_TRUE(tx.commit());
  EXPECT_EQ(take_all(ch, 10), std::vector<std::string>{"x"});
}

TEST(MemoryChannel, TakeIsBoundedByTransactionCapacity) {
  MemoryChannel ch("c1", opts(10, 3));
  ASSERT_TRUE(put_all(ch, {"1", "2", "3"}));
  ASSERT_TRUE(put_all(ch, {"4", "5"}));
  Tx tx = ch.begin();
  EXPECT_EQ(*tx.take(10), 3u);
  auto again = tx.take(1);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::kChannelFull);
}

TEST(MemoryChannel, TransactionHoldsPutsOrTakesNotBoth) {
  MemoryChannel ch("c1", opts(10, 10));
  ASSERT_TRUE(put_all(ch, {"1"}));
  Tx tx = ch.begin();
  ASSERT_EQ(*tx.take(1), 1u);
  EXPECT_FALSE(tx.put(Event::of("2")));
}

TEST(MemoryChannel, CountersFollowFlume) {
  MemoryChannel ch("c1", opts(10, 10));
  ASSERT_TRUE(put_all(ch, {"1", "2"}));
  take_all(ch, 1);
  MetricList m;
  ch.collect_metrics(m);
  auto get = [&](const std::string& k) {
    for (auto& [n, v] : m)
      if (n == k) return v;
    return std::string("missing");
  };
  EXPECT_EQ(get("EventPutAttemptCount"), "2");
  EXPECT_EQ(get("EventPutSuccessCount"), "2");
  EXPECT_EQ(get("EventTakeAttemptCount"), "1");
  EXPECT_EQ(get("EventTakeSuccessCount"), "1");
  EXPECT_EQ(get("ChannelSize"), "1");
  EXPECT_EQ(get("ChannelCapacity"), "10");
  EXPECT_EQ(get("ChannelFillPercentage"), "10.0");
  // An empty poll counts one attempt, as Flume's take() returning null.
  take_all(ch, 5);
  take_all(ch, 5);
  m.clear();
  ch.collect_metrics(m);
  EXPECT_EQ(get("EventTakeAttemptCount"), "4");
  EXPECT_EQ(get("EventTakeSuccessCount"), "2");
}

TEST(MemoryChannel, WaitForEventsWakesOnCommit) {
  MemoryChannel ch("c1", opts(10, 10));
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(put_all(ch, {"x"}));
  });
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(ch.wait_for_events(std::chrono::seconds(10)));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  t.join();
  EXPECT_FALSE(MemoryChannel("c2", opts(1, 1)).wait_for_events(std::chrono::milliseconds(10)));
}

TEST(MemoryChannel, ConcurrentProducersAndConsumerLoseNothing) {
  MemoryChannel ch("c1", opts(1000, 100));
  constexpr int kPerThread = 20000;
  std::vector<std::thread> producers;
  for (int p = 0; p < 2; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerThread; i += 10) {
        Batch b;
        for (int j = 0; j < 10; ++j) b.push_back(Event::of(std::to_string(p * kPerThread + i + j)));
        Tx tx = ch.begin();
        ASSERT_TRUE(tx.put(b));
        while (!tx.commit()) std::this_thread::yield();
      }
    });
  }
  std::vector<int> seen(2 * kPerThread, 0);
  int total = 0;
  while (total < 2 * kPerThread) {
    Tx tx = ch.begin();
    auto n = tx.take(100);
    ASSERT_TRUE(n);
    for (const auto& e : tx.taken()) seen[std::stoi(e.body.str())]++;
    total += static_cast<int>(*n);
    ASSERT_TRUE(tx.commit());
    if (*n == 0) ch.wait_for_events(std::chrono::milliseconds(10));
  }
  for (auto& p : producers) p.join();
  for (int v : seen) ASSERT_EQ(v, 1);
}

TEST(MemoryChannelOptions, FlumeFallbacksAndErrors) {
  Diagnostics d;
  Context ctx{{"capacity", "-5"}, {"transactionCapacity", "-1"}};
  Settings s =
      Settings::validate(memory_channel_spec(), ctx, "channel", "c1", "a1.channels.c1.", d);
  auto o = memory_channel_options(s, d, "c1");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->capacity, 100);
  EXPECT_EQ(o->transaction_capacity, 100);
  EXPECT_FALSE(d.has_errors());
  EXPECT_EQ(d.size(), 2u);  // two warnings

  Diagnostics d2;
  Context bad{{"capacity", "10"}, {"transactionCapacity", "20"}};
  Settings s2 =
      Settings::validate(memory_channel_spec(), bad, "channel", "c1", "a1.channels.c1.", d2);
  auto o2 = memory_channel_options(s2, d2, "c1");
  ASSERT_FALSE(o2);
  EXPECT_NE(o2.error().message.find("transactionCapacity (20) must be smaller than or equal to "
                                    "capacity (10)"),
            std::string::npos);
}

}  // namespace
}  // namespace ingestor
