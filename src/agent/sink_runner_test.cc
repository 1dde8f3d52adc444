#include "agent/sink_runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

#include "agent/channels/memory_channel.h"

namespace ingestor {
namespace {

using namespace std::chrono_literals;

bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

// A sink that fails or throws a given number of times, then delivers.
class FlakySink : public Sink {
 public:
  FlakySink(int errors, int throws) : Sink("k1", "test"), errors_(errors), throws_(throws) {}
  Result<SinkStatus> process() override {
    calls++;
    if (throws_ > 0) {
      --throws_;
      throw std::runtime_error("boom");
    }
    Tx tx = channel_->begin();
    auto n = tx.take(10);
    if (!n) return n.error();
    if (*n == 0) {
      counters_.batch_empty.add();
      if (on_empty) on_empty();
      return SinkStatus::kBackoff;
    }
    if (errors_ > 0) {
      --errors_;
      return make_error(Errc::kUnavailable, "destination down");  // tx rolls back
    }
    delivered += static_cast<int>(*n);
    if (auto s = tx.commit(); !s) return s.error();
    return SinkStatus::kReady;
  }
  std::atomic<int> calls{0};
  std::atomic<int> delivered{0};
  std::function<void()> on_empty;  // runs after an empty take, before returning kBackoff

 private:
  int errors_;
  int throws_;
};

std::unique_ptr<MemoryChannel> channel_with(int n) {
  MemoryChannelOptions o;
  o.capacity = 100;
  o.transaction_capacity = 100;
  auto ch = std::make_unique<MemoryChannel>("c1", o);
  Tx tx = ch->begin();
  for (int i = 0; i < n; ++i) EXPECT_TRUE(tx.put(Event::of(std::to_string(i))));
  EXPECT_TRUE(tx.commit());
  return ch;
}

TEST(SinkRunner, BackoffStepsAsFlume) {
  EXPECT_EQ(SinkRunner::backoff_for(1), 1000ms);
  EXPECT_EQ(SinkRunner::backoff_for(3), 3000ms);
  EXPECT_EQ(SinkRunner::backoff_for(9), 5000ms);
}

TEST(SinkRunner, ErrorsAndExceptionsAreCountedAndRetriedNotFatal) {
  auto ch = channel_with(5);
  FlakySink sink(/*errors=*/1, /*throws=*/1);
  sink.set_channel(ch.get());
  SinkRunner runner(sink);
  runner.start();
  // throw (1 s backoff), error (2 s backoff), then delivery. While failing, the sink's state
  // gauge says how many failed in a row; a delivery sets it back to 0.
  ASSERT_TRUE(eventually([&] { return sink.counters().consecutive_errors.get() == 2; }, 15s));
  ASSERT_TRUE(eventually([&] { return sink.delivered == 5; }, 15s));
  EXPECT_EQ(sink.counters().process_error.get(), 2);
  EXPECT_TRUE(eventually([&] { return sink.counters().consecutive_errors.get() == 0; }));
  EXPECT_EQ(sink.counters().backing_off.get(), 0) << "an empty channel is idle, not backing off";
  EXPECT_EQ(ch->size(), 0u);
  runner.stop();
}

TEST(SinkRunner, EmptyChannelWakesOnNewEvents) {
  auto ch = channel_with(0);
  FlakySink sink(0, 0);
  sink.set_channel(ch.get());
  SinkRunner runner(sink);
  runner.start();
  ASSERT_TRUE(eventually([&] { return sink.calls >= 3; }, 15s));  // backing off: 1 s, 2 s, ...
  auto t0 = std::chrono::steady_clock::now();
  {
    Tx tx = ch->begin();
    ASSERT_TRUE(tx.put(Event::of("x")));
    ASSERT_TRUE(tx.commit());
  }
  ASSERT_TRUE(eventually([&] { return sink.delivered == 1; }));
  // Woken by the commit, not after the remaining backoff (which is at least 2 s here).
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
  runner.stop();
}

TEST(SinkRunner, EventsArrivingWhileTheSinkFindsTheChannelEmptyAreTakenAtOnce) {
  // The race of a source committing between the sink's empty take and its backoff: the runner
  // must not mistake the events now waiting for a destination pushing back and sleep a step.
  auto ch = channel_with(0);
  FlakySink sink(0, 0);
  sink.on_empty = [&] {
    sink.on_empty = nullptr;
    Tx tx = ch->begin();
    ASSERT_TRUE(tx.put(Event::of("raced")));
    ASSERT_TRUE(tx.commit());
  };
  sink.set_channel(ch.get());
  SinkRunner runner(sink);
  auto t0 = std::chrono::steady_clock::now();
  runner.start();
  ASSERT_TRUE(eventually([&] { return sink.delivered == 1; }));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  runner.stop();
}

// Backs off with events waiting, as a sink whose destination pushes back.
class PushbackSink : public Sink {
 public:
  PushbackSink() : Sink("k1", "test") {}
  Result<SinkStatus> process() override {
    ++calls;
    return SinkStatus::kBackoff;
  }
  std::atomic<int> calls{0};
};

TEST(SinkRunner, BackoffWithEventsWaitingWaitsTheWholeStep) {
  auto ch = channel_with(5);
  PushbackSink sink;
  sink.set_channel(ch.get());
  SinkRunner runner(sink);
  runner.start();
  ASSERT_TRUE(eventually([&] { return sink.calls >= 1; }));
  EXPECT_TRUE(eventually([&] { return sink.counters().backing_off.get() == 1; }));
  EXPECT_EQ(sink.counters().consecutive_errors.get(), 0);
  auto t0 = std::chrono::steady_clock::now();
  // The first step is 1 s: no second call before most of it has passed.
  ASSERT_TRUE(eventually([&] { return sink.calls >= 2; }, 5s));
  EXPECT_GT(std::chrono::steady_clock::now() - t0, 800ms);
  runner.stop();
}

TEST(SinkRunner, StopDrainsTheChannel) {
  auto ch = channel_with(50);
  FlakySink sink(0, 0);
  sink.set_channel(ch.get());
  SinkRunner runner(sink);
  runner.start();
  runner.stop();
  EXPECT_EQ(sink.delivered, 50);
}

}  // namespace
}  // namespace ingestor
