// The avro sink against the avro source in one process, on loopback (port 0): batches, deflate,
// FAILED from a full channel (rollback, nothing lost), a dead server, connection reset; and the
// sink's configuration.
#include "agent/sinks/avro_sink.h"

#include <gtest/gtest.h>

#include <set>

#include "agent/channels/memory_channel.h"
#include "agent/sources/avro_source.h"
#include "net/io_pool.h"

namespace ingestor {
namespace {

Result<AvroSinkOptions> sink_options(Context ctx, std::vector<std::string>* w = nullptr) {
  Diagnostics d;
  Settings s = Settings::validate(avro_sink_spec(), ctx, "sink", "k1", "a1.sinks.k1.", d);
  EXPECT_FALSE(d.has_errors());
  return avro_sink_options(s, w);
}

TEST(AvroSinkOptions, FlumesKeysAndDefaults) {
  std::vector<std::string> w;
  auto o = sink_options({{"hostname", "h"}, {"port", "4141"}, {"connect-timeout", "500"}}, &w);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->batch_size, 100u);
  EXPECT_EQ(o->connect_timeout.count(), 20000);  // under 1 s: Flume's default, with a warning
  EXPECT_EQ(o->request_timeout.count(), 20000);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("less than 1s"), std::string::npos);
  EXPECT_FALSE(o->deflate);
  auto d = sink_options({{"hostname", "h"},
                         {"port", "1"},
                         {"compression-type", "deflate"},
                         {"compression-level", "9"},
                         {"batch-size", "7"},
                         {"reset-connection-interval", "5"}});
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->deflate);
  EXPECT_EQ(d->compression_level, 9);
  EXPECT_EQ(d->batch_size, 7u);
  EXPECT_EQ(d->reset_connection_interval.count(), 5);
  EXPECT_TRUE(sink_options({{"hostname", "h"}, {"port", "1"}, {"ssl", "true"}}));  // system CAs
  EXPECT_FALSE(sink_options(
      {{"hostname", "h"}, {"port", "1"}, {"ssl", "true"}, {"compression-type", "deflate"}}));
  auto jks = sink_options(
      {{"hostname", "h"}, {"port", "1"}, {"ssl", "true"}, {"truststore", "/nonexistent.jks"}});
  ASSERT_FALSE(jks);
  EXPECT_NE(jks.error().message.find("truststore: cannot open"), std::string::npos);
  EXPECT_FALSE(sink_options({{"hostname", "h"}, {"port", "1"}, {"client.type", "THRIFT"}}));
}

std::unique_ptr<MemoryChannel> channel(int64_t capacity, int64_t tx_capacity) {
  MemoryChannelOptions co;
  co.capacity = capacity;
  co.transaction_capacity = tx_capacity;
  co.byte_capacity = 0;
  auto c = std::make_unique<MemoryChannel>("c", co);
  EXPECT_TRUE(c->start());
  return c;
}

void put(Channel& c, int from, int n) {
  Tx tx = c.begin();
  for (int i = from; i < from + n; ++i)
    ASSERT_TRUE(tx.put(Event::of("event " + std::to_string(i), {{"i", std::to_string(i)}})));
  ASSERT_TRUE(tx.commit());
}

std::vector<std::string> drain(Channel& c) {
  std::vector<std::string> out;
  for (;;) {
    Tx tx = c.begin();
    EXPECT_TRUE(tx.take(1000));
    for (auto& e : tx.taken()) {
      out.push_back(e.body.str());
      EXPECT_EQ(*e.headers.find("i"), e.body.str().substr(6));
    }
    const size_t n = tx.taken().size();
    EXPECT_TRUE(tx.commit());
    if (n == 0) return out;
  }
}

struct Tier {
  explicit Tier(bool deflate, int64_t collector_capacity = 10000) {
    pool.start();
    collector = channel(collector_capacity, 1000);
    ChannelSelector sel;
    sel.required.push_back(collector.get());
    AvroSourceOptions so;
    so.bind = "127.0.0.1";
    so.port = 0;
    so.deflate = deflate;
    source = std::make_unique<AvroSource>(
        "r1",
        std::make_shared<ChannelProcessor>(std::vector<std::unique_ptr<Interceptor>>{},
                                           std::move(sel)),
        pool, so);
    EXPECT_TRUE(source->start());
    edge = channel(10000, 1000);
    AvroSinkOptions ko;
    ko.hostname = "127.0.0.1";
    ko.port = static_cast<uint16_t>(source->bound_port());
    ko.batch_size = 10;
    ko.deflate = deflate;
    ko.connect_timeout = ko.request_timeout = std::chrono::milliseconds(5000);
    sink = std::make_unique<AvroSink>("k1", ko);
    sink->set_channel(edge.get());
    EXPECT_TRUE(sink->start());
  }
  ~Tier() {
    sink->stop();
    source->stop();
    pool.stop();
  }
  net::IoPool pool{1};
  std::unique_ptr<MemoryChannel> collector, edge;
  std::unique_ptr<AvroSource> source;
  std::unique_ptr<AvroSink> sink;
};

void batches_arrive_in_order(bool deflate) {
  Tier t(deflate);
  put(*t.edge, 0, 25);
  // batch-size 10: 25 events are 3 calls; the empty take after them waits for the answer still
  // due (kReady), then an empty channel backs off.
  for (int i = 0; i < 4; ++i) {
    auto r = t.sink->process();
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, SinkStatus::kReady);
  }
  auto r = t.sink->process();
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, SinkStatus::kBackoff);
  auto got = drain(*t.collector);
  ASSERT_EQ(got.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(got[i], "event " + std::to_string(i));
  EXPECT_EQ(t.sink->counters().connection_created.get(), 1);
  EXPECT_EQ(t.sink->counters().event_drain_success.get(), 25);
}

TEST(AvroTier, BatchesArriveInOrder) { batches_arrive_in_order(false); }
TEST(AvroTier, BatchesArriveInOrderWithDeflate) { batches_arrive_in_order(true); }

// A full collector answers FAILED: the sink rolls back (the events stay in its channel) and
// returns a retryable error; once there is room, the same events go through, nothing lost.
TEST(AvroTier, FullChannelAnswersFailedAndNothingIsLost) {
  Tier t(false, /*collector_capacity=*/5);
  put(*t.edge, 0, 10);
  auto r = t.sink->process();
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().retryable());
  EXPECT_NE(r.error().message.find("Status: FAILED"), std::string::npos) << r.error().message;
  EXPECT_EQ(t.edge->size(), 10u);
  EXPECT_EQ(t.source->counters().channel_write_fail.get(), 1);
  EXPECT_EQ(t.sink->counters().event_write_fail.get(), 1);
  EXPECT_TRUE(drain(*t.collector).empty());  // nothing of the failed batch was committed
  // Room again (a bigger collector is not possible; take batch-size 5 instead).
  t.sink.reset();
  AvroSinkOptions ko;
  ko.hostname = "127.0.0.1";
  ko.port = static_cast<uint16_t>(t.source->bound_port());
  ko.batch_size = 5;
  t.sink = std::make_unique<AvroSink>("k1", ko);
  t.sink->set_channel(t.edge.get());
  ASSERT_TRUE(t.sink->start());
  std::vector<std::string> got;
  // Two batches of 5, the second in flight until the third call's empty take waits for it.
  for (int i = 0; i < 3; ++i) {
    auto ok = t.sink->process();
    ASSERT_TRUE(ok) << ok.error().message;
    for (auto& b : drain(*t.collector)) got.push_back(b);
  }
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(got.front(), "event 0");
  EXPECT_EQ(got.back(), "event 9");
}

// Pipelining: a batch in flight when the next one's answer is FAILED is rolled back too, after
// the newer one, so the channel keeps its order; nothing is lost once there is room again. (The
// server may still commit the newer batch it was retrying: that copy is at-least-once.)
TEST(AvroTier, FailureWithTwoBatchesInFlightKeepsTheOrder) {
  Tier t(false, /*collector_capacity=*/15);
  put(*t.edge, 0, 30);
  auto r1 = t.sink->process();  // the handshake call, answered at once
  ASSERT_TRUE(r1) << r1.error().message;
  auto r2 = t.sink->process();  // events 10-19 sent, in flight
  ASSERT_TRUE(r2) << r2.error().message;
  EXPECT_EQ(t.edge->size(), 10u);
  auto r3 = t.sink->process();  // 20-29 sent; the answer to 10-19 is FAILED (15 > capacity)
  ASSERT_FALSE(r3);
  EXPECT_NE(r3.error().message.find("Status: FAILED"), std::string::npos) << r3.error().message;
  {
    // Both batches are back in the edge's channel, oldest first.
    Tx tx = t.edge->begin();
    ASSERT_TRUE(tx.take(100));
    ASSERT_EQ(tx.taken().size(), 20u);
    for (int i = 0; i < 20; ++i)
      EXPECT_EQ(tx.taken()[i].body.str(), "event " + std::to_string(10 + i));
    tx.rollback();
  }
  std::vector<std::string> got = drain(*t.collector);
  ASSERT_EQ(got.size(), 10u);
  std::set<std::string> distinct(got.begin(), got.end());
  for (int i = 0; i < 40 && (distinct.size() < 30 || t.edge->size() > 0); ++i) {
    (void)t.sink->process();
    for (auto& b : drain(*t.collector)) distinct.insert(b);
  }
  ASSERT_EQ(distinct.size(), 30u);
  EXPECT_EQ(t.edge->size(), 0u);
}

TEST(AvroTier, DeadServerIsARetryableErrorAndTheBatchStays) {
  std::unique_ptr<MemoryChannel> edge = channel(100, 100);
  put(*edge, 0, 3);
  AvroSinkOptions ko;
  ko.hostname = "127.0.0.1";
  {
    // A port that was free a moment ago: nothing listens there.
    net::IoPool pool(1);
    AvroSourceOptions so;
    so.bind = "127.0.0.1";
    auto c = channel(10, 10);
    ChannelSelector sel;
    sel.required.push_back(c.get());
    AvroSource s("r",
                 std::make_shared<ChannelProcessor>(std::vector<std::unique_ptr<Interceptor>>{},
                                                    std::move(sel)),
                 pool, so);
    ASSERT_TRUE(s.start());
    ko.port = static_cast<uint16_t>(s.bound_port());
    s.stop();
  }
  AvroSink sink("k1", ko);
  sink.set_channel(edge.get());
  ASSERT_TRUE(sink.start());  // only warns
  for (int i = 0; i < 2; ++i) {
    auto r = sink.process();
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().retryable());
    EXPECT_NE(r.error().message.find("Failed to send events"), std::string::npos);
  }
  EXPECT_EQ(edge->size(), 3u);
  EXPECT_EQ(sink.counters().event_write_fail.get(), 2);
  EXPECT_GE(sink.counters().connection_failed.get(), 2);
}

// A deflating sink against a plain source (or the reverse) fails, as in Flume.
TEST(AvroTier, CompressionMismatchFails) {
  Tier t(false);
  AvroSinkOptions ko;
  ko.hostname = "127.0.0.1";
  ko.port = static_cast<uint16_t>(t.source->bound_port());
  ko.deflate = true;
  ko.connect_timeout = std::chrono::milliseconds(1000);
  t.sink = std::make_unique<AvroSink>("k1", ko);
  t.sink->set_channel(t.edge.get());
  ASSERT_TRUE(t.sink->start());
  put(*t.edge, 0, 2);
  EXPECT_FALSE(t.sink->process());
  EXPECT_EQ(t.edge->size(), 2u);
}

}  // namespace
}  // namespace ingestor
