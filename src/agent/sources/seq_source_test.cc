// SequenceGeneratorSource: the config table and Flume's checklist (flume-components.md 1.4: a
// failed put is retried without advancing the counter, bodies 0..N-1) against a MemoryChannel,
// plus the pollable runner.
#include "agent/sources/seq_source.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "agent/sources/test_channel.h"

namespace ingestor {
namespace {

using namespace std::chrono_literals;

Settings settings(Context ctx, Diagnostics& d) {
  return Settings::validate(seq_source_spec(), ctx, "source", "r1", "a1.sources.r1.", d);
}

TEST(SeqSourceConfig, DefaultsAreFlumes) {
  Diagnostics d;
  auto o = seq_source_options(settings({}, d));
  ASSERT_FALSE(d.has_errors());
  ASSERT_TRUE(o);
  EXPECT_EQ(o->total_events, INT64_MAX);  // Long.MAX_VALUE
  EXPECT_EQ(o->batch_size, 1u);
  EXPECT_EQ(o->backoff.increment, 1000ms);
  EXPECT_EQ(o->backoff.max, 5000ms);
  EXPECT_EQ(seq_source_spec().alias, "seq");
  EXPECT_EQ(seq_source_spec().class_name, "org.apache.flume.source.SequenceGeneratorSource");

  Diagnostics d2;
  settings({{"batchSize", "0"}}, d2);  // must be positive, as Flume
  EXPECT_TRUE(d2.has_errors());
  Diagnostics d3;
  auto big = seq_source_options(settings({{"totalEvents", "1000"}, {"batchSize", "100"}}, d3));
  ASSERT_FALSE(d3.has_errors());
  EXPECT_EQ(big->total_events, 1000);
  EXPECT_EQ(big->batch_size, 100u);
}

class SeqSourceTest : public ::testing::Test {
 protected:
  void make(int64_t total, size_t batch, int64_t capacity, int64_t tx_capacity = 0) {
    tc_ = std::make_unique<TestChannel>(capacity, tx_capacity ? tx_capacity : capacity);
    SeqSourceOptions o;
    o.total_events = total;
    o.batch_size = batch;
    o.backoff = {10ms, 50ms};
    source_ = std::make_unique<SequenceGeneratorSource>("r1", tc_->processor, o);
  }
  void drain() { tc_->drain(got_); }
  std::vector<std::string> upto(int n) {
    std::vector<std::string> v;
    for (int i = 0; i < n; ++i) v.push_back(std::to_string(i));
    return v;
  }

  std::unique_ptr<TestChannel> tc_;
  std::unique_ptr<SequenceGeneratorSource> source_;
  std::vector<std::string> got_;
};

TEST_F(SeqSourceTest, FailedPutIsRetriedWithoutAdvancingTheCounter) {
  // Flume's testProcess: batchSize 1, totalEvents 5, the 2nd put fails.
  make(5, 1, 1);
  EXPECT_EQ(source_->poll(), PollStatus::kReady);
  EXPECT_EQ(source_->poll(), PollStatus::kRetry);  // the channel is full
  EXPECT_EQ(source_->next_value(), 1);
  EXPECT_EQ(source_->counters().channel_write_fail.get(), 1);
  for (int i = 0; i < 10; ++i) {
    drain();
    source_->poll();
  }
  drain();
  EXPECT_EQ(got_, upto(5));  // no duplicate at all, and no gap
  EXPECT_EQ(source_->poll(), PollStatus::kBackoff);
  EXPECT_EQ(source_->counters().event_accepted.get(), 5);
  EXPECT_EQ(source_->counters().append_batch_accepted.get(), 0);  // batch mode only
}

TEST_F(SeqSourceTest, BatchesAreRetriedWhole) {
  // Flume's testBatchProcessWithLifeCycle: batch 3, the 2nd batch fails.
  make(5, 3, 3);
  EXPECT_EQ(source_->poll(), PollStatus::kReady);
  EXPECT_EQ(source_->poll(), PollStatus::kRetry);
  drain();
  EXPECT_EQ(source_->poll(), PollStatus::kReady);
  EXPECT_EQ(source_->poll(), PollStatus::kBackoff);
  drain();
  EXPECT_EQ(got_, upto(5));
  EXPECT_EQ(source_->counters().append_batch_accepted.get(), 2);
}

TEST_F(SeqSourceTest, BatchesLargerThanATransactionAreSplit) {
  make(25, 50, 100, 10);
  while (source_->poll() == PollStatus::kReady) {
  }
  drain();
  EXPECT_EQ(got_, upto(25));
}

TEST_F(SeqSourceTest, RunnerStopsAfterTotalEventsAndStopsPromptly) {
  make(1000, 7, 50);
  ASSERT_TRUE(source_->start());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (got_.size() < 1000 && std::chrono::steady_clock::now() < deadline) {
    drain();
    std::this_thread::sleep_for(1ms);
  }
  // Backing off now: stop() does not wait for the back-off to end.
  const auto t0 = std::chrono::steady_clock::now();
  source_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  drain();
  EXPECT_EQ(got_, upto(1000));
}

}  // namespace
}  // namespace ingestor
