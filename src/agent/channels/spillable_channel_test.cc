// SpillableChannel: the reference's checklist (flume-components.md 5.1, SMC:TestSpillableMemory-
// Channel): capacities with and without overflow, restart, FIFO across both stores, byte
// capacity in avgEventSize slots, take rollback, overflowTimeout, and the options' fallbacks.
#include "agent/channels/spillable_channel.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

namespace ingestor {
namespace {

namespace stdfs = std::filesystem;

class SpillableChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (stdfs::temp_directory_path() /
            ("ingestor-smc-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    stdfs::remove_all(dir_);
    stdfs::create_directories(dir_);
  }
  void TearDown() override { stdfs::remove_all(dir_); }

  SpillableChannelOptions opts(int64_t mem, int64_t overflow, int64_t tx_cap = 100) {
    SpillableChannelOptions o;
    o.memory_capacity = mem;
    o.overflow_capacity = overflow;
    o.overflow_timeout = std::chrono::milliseconds(0);
    o.overflow.checkpoint_dir = dir_ + "/checkpoint";
    o.overflow.data_dirs = {dir_ + "/data"};
    o.overflow.capacity = std::max<int64_t>(overflow, 1);
    o.overflow.transaction_capacity = tx_cap;
    o.overflow.minimum_required_space = 1 << 20;
    o.overflow.keep_alive = std::chrono::milliseconds(0);
    return o;
  }
  std::unique_ptr<SpillableChannel> open(SpillableChannelOptions o) {
    auto ch = std::make_unique<SpillableChannel>("c1", std::move(o));
    auto s = ch->start();
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return ch;
  }
  static Status put(Channel& ch, std::vector<std::string> bodies) {
    Tx tx = ch.begin();
    Batch b;
    for (auto& s : bodies) b.push_back(Event::of(s));
    if (auto s = tx.put(b); !s) return s;
    return tx.commit();
  }
  static Status put_range(Channel& ch, int from, int to) {
    std::vector<std::string> v;
    for (int i = from; i < to; ++i) v.push_back(std::to_string(i));
    return put(ch, v);
  }
  // One take transaction of up to `max`, committed.
  static std::vector<std::string> take(Channel& ch, size_t max) {
    Tx tx = ch.begin();
    auto n = tx.take(max);
    EXPECT_TRUE(n);
    std::vector<std::string> out;
    for (const auto& e : tx.taken()) out.emplace_back(e.body.data(), e.body.size());
    EXPECT_TRUE(tx.commit());
    return out;
  }
  static std::vector<std::string> drain(Channel& ch) {
    std::vector<std::string> out;
    for (;;) {
      auto got = take(ch, 7);
      if (got.empty()) return out;
      out.insert(out.end(), got.begin(), got.end());
    }
  }
  static std::vector<std::string> range(int from, int to) {
    std::vector<std::string> v;
    for (int i = from; i < to; ++i) v.push_back(std::to_string(i));
    return v;
  }
  std::string dir_;
};

TEST_F(SpillableChannelTest, StoresNoPositionsEvenInItsOverflow) {
  // Events in memory are lost by a crash: a position committed with them would skip them.
  auto ch = open(opts(0, 100));  // every put goes to the overflow (a file channel)
  EXPECT_FALSE(ch->stores_positions());
  Tx tx = ch->begin();
  Batch b{Event::of("a")};
  ASSERT_TRUE(tx.put(b));
  tx.set_position("src", {{"f", "1"}});
  ASSERT_TRUE(tx.commit());
  EXPECT_EQ(ch->committed_positions("src"), std::nullopt);
  ch->stop();
  ch = open(opts(0, 100));
  EXPECT_EQ(ch->committed_positions("src"), std::nullopt);
  EXPECT_EQ(take(*ch, 10), (std::vector<std::string>{"a"}));
}

TEST_F(SpillableChannelTest, CapacityWithOverflowDisabled) {
  auto ch = open(opts(2, 0));
  ASSERT_TRUE(put(*ch, {"1"}));
  ASSERT_TRUE(put(*ch, {"2"}));
  auto s = put(*ch, {"3"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kChannelFull);
  EXPECT_NE(s.error().message.find("overflow is disabled"), std::string::npos);
  EXPECT_EQ(ch->capacity(), 2u);
}

TEST_F(SpillableChannelTest, CapacityWithOverflow) {
  auto ch = open(opts(2, 4, 3));
  ASSERT_TRUE(put(*ch, {"1", "2"}));  // memory
  ASSERT_TRUE(put(*ch, {"3", "4"}));  // overflow
  ASSERT_TRUE(put(*ch, {"5", "6"}));  // overflow
  auto s = put(*ch, {"7", "8"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kChannelFull);
  EXPECT_EQ(ch->memory_size(), 2u);
  EXPECT_EQ(ch->overflow_size(), 4u);
  EXPECT_EQ(ch->size(), 6u);
  EXPECT_EQ(ch->capacity(), 6u);
  Batch b{Event::of("1"), Event::of("2"), Event::of("3"), Event::of("4")};
  Tx tx = ch->begin();
  EXPECT_FALSE(tx.put(b));  // more than transactionCapacity
}

TEST_F(SpillableChannelTest, OnlyTheOverflowSurvivesARestart) {
  {
    auto ch = open(opts(2, 10));
    ASSERT_TRUE(put(*ch, {"1", "2"}));
    ASSERT_TRUE(put(*ch, {"3", "4"}));
    ch->stop();
  }
  auto ch = open(opts(2, 10));
  EXPECT_EQ(ch->size(), 2u);
  ASSERT_TRUE(put(*ch, {"5"}));  // memory, after the overflow's events
  EXPECT_EQ(drain(*ch), (std::vector<std::string>{"3", "4", "5"}));
}

TEST_F(SpillableChannelTest, TakesKeepPutOrderAcrossBothStores) {
  auto ch = open(opts(10, 100));
  for (int i = 1; i <= 15; ++i) ASSERT_TRUE(put_range(*ch, i, i + 1));
  EXPECT_EQ(ch->memory_size(), 10u);
  EXPECT_EQ(ch->overflow_size(), 5u);
  // A take stops at the store boundary: a short batch.
  EXPECT_EQ(take(*ch, 100), range(1, 11));
  EXPECT_EQ(take(*ch, 100), range(11, 16));
}

TEST_F(SpillableChannelTest, InterleavedPutsAndTakesKeepGlobalFifo) {
  auto ch = open(opts(5, 1000));
  std::vector<std::string> got;
  int next = 0;
  for (int round = 0; round < 40; ++round) {
    int n = 1 + round % 4;
    ASSERT_TRUE(put_range(*ch, next, next + n));
    next += n;
    auto t = take(*ch, 1 + round % 3);
    got.insert(got.end(), t.begin(), t.end());
  }
  auto rest = drain(*ch);
  got.insert(got.end(), rest.begin(), rest.end());
  EXPECT_EQ(got, range(0, next));
}

TEST_F(SpillableChannelTest, ByteCapacityCountsAvgEventSizeSlots) {
  auto o = opts(1000, 20);
  o.byte_capacity = 100;  // 80 bytes after the 20% buffer: 8 slots of 10 bytes
  o.avg_event_size = 10;
  auto ch = open(o);
  const std::string ten(10, 'x');
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(put(*ch, {ten}));
  EXPECT_EQ(ch->memory_size(), 8u);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(put(*ch, {ten})) << i;
  EXPECT_EQ(ch->memory_size(), 8u);
  EXPECT_EQ(ch->overflow_size(), 20u);
  EXPECT_FALSE(put(*ch, {ten}));
}

TEST_F(SpillableChannelTest, TakeRollbackRestoresOrder) {
  auto ch = open(opts(3, 100));
  ASSERT_TRUE(put_range(*ch, 0, 3));  // memory
  ASSERT_TRUE(put_range(*ch, 3, 6));  // overflow
  {
    Tx tx = ch->begin();
    ASSERT_EQ(*tx.take(2), 2u);
    tx.rollback();
  }
  {
    Tx tx = ch->begin();
    ASSERT_EQ(*tx.take(3), 3u);
    ASSERT_EQ(*tx.take(3), 0u);  // boundary
    tx.rollback();
  }
  EXPECT_EQ(drain(*ch), range(0, 6));
}

TEST_F(SpillableChannelTest, SpillsOnlyAfterOverflowTimeoutThenDeactivates) {
  auto o = opts(2, 100);
  o.overflow_timeout = std::chrono::milliseconds(200);
  auto ch = open(o);
  ASSERT_TRUE(put(*ch, {"1", "2"}));
  auto s = put(*ch, {"3"});
  ASSERT_FALSE(s);  // memory full, the timeout not yet over: the source retries
  EXPECT_EQ(s.error().code, Errc::kChannelFull);
  EXPECT_EQ(ch->overflow_size(), 0u);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!put(*ch, {"3"})) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(ch->overflow_size(), 1u);
  EXPECT_TRUE(ch->overflow_active());
  ASSERT_TRUE(put(*ch, {"4"}));  // active: spills at once
  EXPECT_EQ(ch->overflow_size(), 2u);
  EXPECT_EQ(take(*ch, 10), range(1, 3));  // memory free again: deactivated
  EXPECT_FALSE(ch->overflow_active());
  ASSERT_TRUE(put(*ch, {"5"}));
  EXPECT_EQ(ch->memory_size(), 1u);
  EXPECT_EQ(drain(*ch), range(3, 6));
}

TEST_F(SpillableChannelTest, MemoryCapacityZeroSendsEveryPutToTheOverflow) {
  auto ch = open(opts(0, 10));
  ASSERT_TRUE(put_range(*ch, 0, 3));
  EXPECT_EQ(ch->overflow_size(), 3u);
  EXPECT_EQ(drain(*ch), range(0, 3));
}

TEST(SpillableChannelOptions, FlumeFallbacksAndFileChannelKeys) {
  Diagnostics d;
  Settings s = Settings::validate(spillable_channel_spec(),
                                  {{"memoryCapacity", "-5"},
                                   {"overflowCapacity", "50"},
                                   {"checkpointDir", "/tmp/x/ck"},
                                   {"dataDirs", "/tmp/x/d"},
                                   {"transactionCapacity", "20"},
                                   {"avgEventSize", "64"}},
                                  "channel", "c1", "a1.channels.c1.", d);
  ASSERT_FALSE(d.has_errors());
  auto o = spillable_channel_options(s, d, "c1");
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->memory_capacity, 10000);
  EXPECT_EQ(o->overflow_capacity, 50);
  EXPECT_EQ(o->overflow.capacity, 50);
  EXPECT_EQ(o->overflow.transaction_capacity, 20);
  EXPECT_EQ(o->overflow.checkpoint_dir, "/tmp/x/ck");
  EXPECT_EQ(o->avg_event_size, 64);
  EXPECT_EQ(o->overflow_timeout, std::chrono::seconds(3));
  EXPECT_EQ(o->overflow.keep_alive, std::chrono::milliseconds(0));
  ASSERT_FALSE(d.all().empty());
  EXPECT_NE(d.all()[0].to_string().find("Invalid memoryCapacity"), std::string::npos);

  Diagnostics d2;
  Settings z = Settings::validate(spillable_channel_spec(),
                                  {{"memoryCapacity", "0"}, {"overflowCapacity", "0"}}, "channel",
                                  "c1", "a1.channels.c1.", d2);
  auto oz = spillable_channel_options(z, d2, "c1");
  ASSERT_TRUE(oz);
  EXPECT_EQ(oz->overflow_capacity, 100000000);
}

}  // namespace
}  // namespace ingestor
