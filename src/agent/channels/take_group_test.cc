// TakeGroup (src/core/take_group.h) over the real channels: several takes committed together, and
// a rollback that leaves the queue in its original order.
#include "core/take_group.h"

#include <gtest/gtest.h>

#include "agent/channels/memory_channel.h"

namespace ingestor {
namespace {

std::unique_ptr<MemoryChannel> channel_with(int n) {
  MemoryChannelOptions o;
  o.capacity = 100;
  o.transaction_capacity = 10;
  auto ch = std::make_unique<MemoryChannel>("c1", o);
  for (int i = 0; i < n; ++i) {
    Tx tx = ch->begin();
    EXPECT_TRUE(tx.put(Event::of(std::to_string(i))));
    EXPECT_TRUE(tx.commit());
  }
  return ch;
}

std::vector<std::string> drain(Channel& ch) {
  std::vector<std::string> out;
  for (;;) {
    Tx tx = ch.begin();
    auto n = tx.take(10);
    EXPECT_TRUE(n);
    if (*n == 0) return out;
    for (const auto& e : tx.taken()) out.push_back(e.body.str());
    EXPECT_TRUE(tx.commit());
  }
}

TEST(TakeGroup, CommitsEveryTake) {
  auto ch = channel_with(25);
  TakeGroup g(*ch);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(g.begin().take(10));
  EXPECT_EQ(ch->size(), 0u);
  ASSERT_TRUE(g.commit());
  g.rollback();  // nothing open: no effect
  EXPECT_EQ(ch->size(), 0u);
}

TEST(TakeGroup, RollbackRestoresTheOriginalOrder) {
  auto ch = channel_with(25);
  {
    TakeGroup g(*ch);
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(g.begin().take(10));
    EXPECT_EQ(g.size(), 2u);
  }  // destroyed open: rolled back, newest first
  std::vector<std::string> want;
  for (int i = 0; i < 25; ++i) want.push_back(std::to_string(i));
  EXPECT_EQ(drain(*ch), want);
}

TEST(TakeGroup, DropLastReturnsOnlyTheNewestTake) {
  auto ch = channel_with(15);
  TakeGroup g(*ch);
  ASSERT_EQ(*g.begin().take(10), 10u);
  ASSERT_EQ(*g.begin().take(10), 5u);
  g.drop_last();
  EXPECT_EQ(ch->size(), 5u);
  ASSERT_TRUE(g.commit());
  EXPECT_EQ(drain(*ch), (std::vector<std::string>{"10", "11", "12", "13", "14"}));
}

}  // namespace
}  // namespace ingestor
