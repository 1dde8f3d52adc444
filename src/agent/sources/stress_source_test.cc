// StressSource: Flume's keys and defaults, and its TestStressSource checklist (bodies of `size`
// bytes of 0x7F, maxTotalEvents, maxSuccessfulEvents, batches), against a MemoryChannel, plus
// what we do better: a failed put is retried and counts toward no limit.
#include "agent/sources/stress_source.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "agent/sources/test_channel.h"

namespace ingestor {
namespace {

using namespace std::chrono_literals;

StressSourceOptions options(Context ctx) {
  Diagnostics d;
  Settings s =
      Settings::validate(stress_source_spec(), ctx, "source", "r1", "a1.sources.r1.", d);
  EXPECT_FALSE(d.has_errors());
  auto o = stress_source_options(s);
  EXPECT_TRUE(o);
  o->backoff = {10ms, 50ms};
  return *o;
}

TEST(StressSource, DefaultsAreFlumes) {
  StressSourceOptions o = options({});
  EXPECT_EQ(o.size, 500u);
  EXPECT_EQ(o.max_total_events, -1);
  EXPECT_EQ(o.max_successful_events, -1);
  EXPECT_EQ(o.batch_size, 1u);
  EXPECT_EQ(o.max_events_per_second, 0);
  EXPECT_EQ(stress_source_spec().class_name, "org.apache.flume.source.StressSource");
}

TEST(StressSource, BodiesAndMaxTotalEventsWithBatches) {
  TestChannel tc(1000, 1000);
  StressSource src("r1", tc.processor,
                   options({{"size", "7"}, {"maxTotalEvents", "35"}, {"batchSize", "10"}}));
  while (src.poll() == PollStatus::kReady) {
  }
  std::vector<std::string> got;
  tc.drain(got);
  ASSERT_EQ(got.size(), 35u);  // 10 + 10 + 10 + 5: the last batch cut to the total
  for (const auto& b : got) EXPECT_EQ(b, std::string(7, '\x7F'));
  EXPECT_EQ(src.poll(), PollStatus::kBackoff);
  EXPECT_EQ(src.counters().event_accepted.get(), 35);
  EXPECT_EQ(src.counters().append_batch_accepted.get(), 4);
}

TEST(StressSource, AFullChannelIsRetriedAndCountsTowardNoLimit) {
  TestChannel tc(5, 5);
  StressSource src("r1", tc.processor, options({{"size", "1"}, {"maxSuccessfulEvents", "12"}}));
  std::vector<std::string> got;
  for (int i = 0; i < 100 && got.size() < 12; ++i) {
    if (src.poll() == PollStatus::kRetry) tc.drain(got);
  }
  tc.drain(got);
  EXPECT_EQ(got.size(), 12u);  // Flume would stop short, having counted its failed puts
  EXPECT_GT(src.counters().channel_write_fail.get(), 0);
  EXPECT_EQ(src.poll(), PollStatus::kBackoff);
  EXPECT_EQ(src.delivered(), 12);
}

TEST(StressSource, RateLimitHoldsTheRunnerBack) {
  TestChannel tc(1000, 1000);
  StressSource src("r1", tc.processor,
                   options({{"size", "1"}, {"maxTotalEvents", "60"}, {"maxEventsPerSecond", "200"},
                            {"batchSize", "10"}}));
  const auto t0 = std::chrono::steady_clock::now();
  while (src.poll() == PollStatus::kReady) {
  }
  // 60 events at 200/s: the first batch goes at once, the other five wait 50 ms each.
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 240ms);
  std::vector<std::string> got;
  tc.drain(got);
  EXPECT_EQ(got.size(), 60u);
}

TEST(StressSource, StopsPromptlyWhileRateLimited) {
  TestChannel tc(1000, 1000);
  StressSource src("r1", tc.processor, options({{"maxEventsPerSecond", "1"}}));
  ASSERT_TRUE(src.start());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (src.delivered() < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  const auto t0 = std::chrono::steady_clock::now();
  src.stop();  // the runner is waiting ~1 s for its next permit
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 900ms);
}

}  // namespace
}  // namespace ingestor
