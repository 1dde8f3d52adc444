// ChannelProcessor (core) over real MemoryChannels: interceptors, the replicating selector with
// optional channels, one transaction per required channel, and retries without duplicates.
#include <gtest/gtest.h>

#include "agent/channels/memory_channel.h"
#include "core/channel_processor.h"

namespace ingestor {
namespace {

std::unique_ptr<MemoryChannel> mem(const char* name, int64_t cap, int64_t tx = 100) {
  MemoryChannelOptions o;
  o.capacity = cap;
  o.transaction_capacity = std::min(cap, tx);
  return std::make_unique<MemoryChannel>(name, o);
}

std::vector<std::string> drain(Channel& ch) {
  Tx tx = ch.begin();
  EXPECT_TRUE(tx.take(1000));
  std::vector<std::string> out;
  for (const auto& e : tx.taken()) out.push_back(e.body.str());
  EXPECT_TRUE(tx.commit());
  return out;
}

Batch batch(std::initializer_list<const char*> bodies) {
  Batch b;
  for (auto* s : bodies) b.push_back(Event::of(s));
  return b;
}

struct Tagger : Interceptor {
  int calls = 0;
  void intercept(Batch& events) override {
    ++calls;
    for (auto& e : events) e.headers.set("seen", "1");
    std::erase_if(events, [](const Event& e) { return e.body.view() == "drop"; });
  }
};

TEST(ChannelProcessor, ReplicatesToEveryRequiredChannel) {
  auto c1 = mem("c1", 10), c2 = mem("c2", 10);
  ChannelProcessor p({}, ChannelSelector{{c1.get(), c2.get()}, {}, nullptr});
  Batch b = batch({"a", "b"});
  PutProgress pr;
  ASSERT_TRUE(p.process(b, pr));
  EXPECT_EQ(drain(*c1), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(drain(*c2), (std::vector<std::string>{"a", "b"}));
}

TEST(ChannelProcessor, InterceptorsRunOnceAndMayDrop) {
  auto c1 = mem("c1", 10);
  auto tagger = std::make_unique<Tagger>();
  Tagger* t = tagger.get();
  std::vector<std::unique_ptr<Interceptor>> chain;
  chain.push_back(std::move(tagger));
  ChannelProcessor p(std::move(chain), ChannelSelector{{c1.get()}, {}, nullptr});
  Batch b = batch({"a", "drop", "c"});
  PutProgress pr;
  ASSERT_TRUE(p.process(b, pr));
  EXPECT_EQ(t->calls, 1);
  Tx tx = c1->begin();
  ASSERT_EQ(*tx.take(10), 2u);
  EXPECT_EQ(*tx.taken()[0].headers.find("seen"), "1");
  EXPECT_EQ(tx.taken()[1].body.str(), "c");
}

TEST(ChannelProcessor, OptionalChannelFailureIsIgnored) {
  auto c1 = mem("c1", 10), opt = mem("opt", 1);
  ChannelProcessor p({}, ChannelSelector{{c1.get()}, {opt.get()}, nullptr});
  Batch b = batch({"a", "b"});  // too many for the optional channel
  PutProgress pr;
  ASSERT_TRUE(p.process(b, pr));
  EXPECT_EQ(drain(*c1).size(), 2u);
  EXPECT_EQ(opt->size(), 0u);
}

TEST(ChannelProcessor, RetryAfterFullChannelDoesNotDuplicate) {
  auto c1 = mem("c1", 10), c2 = mem("c2", 2);
  ChannelProcessor p({}, ChannelSelector{{c1.get(), c2.get()}, {}, nullptr});
  Batch pre = batch({"x", "y"});
  PutProgress pre_pr;
  ASSERT_TRUE(p.process(pre, pre_pr));  // c2 is now full
  drain(*c1);

  Batch b = batch({"a", "b"});
  PutProgress pr;
  auto s = p.process(b, pr);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kChannelFull);
  ASSERT_EQ(b.size(), 2u);  // handed back for the retry
  EXPECT_EQ(pr.required_done, 1u);
  drain(*c2);  // room again
  ASSERT_TRUE(p.process(b, pr));
  EXPECT_EQ(drain(*c1), (std::vector<std::string>{"a", "b"}));  // once, not twice
  EXPECT_EQ(drain(*c2), (std::vector<std::string>{"a", "b"}));
}

TEST(ChannelProcessor, MaxBatchIsSmallestTransactionCapacity) {
  auto c1 = mem("c1", 100, 50), c2 = mem("c2", 100, 20);
  ChannelProcessor p({}, ChannelSelector{{c1.get(), c2.get()}, {}, nullptr});
  EXPECT_EQ(p.max_batch(), 20u);
}

}  // namespace
}  // namespace ingestor
