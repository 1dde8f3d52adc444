#include "core/metrics_render.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/source.h"

namespace ingestor {
namespace {

class FakeSource : public Source {
 public:
  FakeSource() : Source("r\"1", "netcat", nullptr) {}
};

TEST(MetricsRender, FlumeJsonHasStringValuesAndGroupKeys) {
  FakeSource s;
  s.counters().event_received.add(12);
  std::string js = render_flume_json({&s});
  EXPECT_NE(js.find("\"SOURCE.r\\\"1\":{"), std::string::npos) << js;
  EXPECT_NE(js.find("\"EventReceivedCount\":\"12\""), std::string::npos) << js;
  EXPECT_NE(js.find("\"Type\":\"SOURCE\""), std::string::npos) << js;
  EXPECT_NE(js.find("\"StopTime\":\"0\""), std::string::npos) << js;
  EXPECT_EQ(render_flume_json({}), "{}");
}

TEST(MetricsRender, PrometheusText) {
  FakeSource s;
  s.counters().event_accepted.add(3);
  std::string p = render_prometheus({&s});
  EXPECT_NE(p.find("# TYPE ingestor_source_event_accepted_count counter\n"), std::string::npos);
  EXPECT_NE(
      p.find("ingestor_source_event_accepted_count{component=\"r\\\"1\",type=\"netcat\"} 3\n"),
      std::string::npos)
      << p;
  EXPECT_NE(p.find("# TYPE ingestor_source_open_connection_count gauge"), std::string::npos);
}

// A component with Flume's "true"/"false" and a value that is not a number (file channel's Open).
class FakeChannel : public Component {
 public:
  FakeChannel() : Component("c1", "file") {}
  const char* metrics_group() const override { return "CHANNEL"; }
  void collect_metrics(MetricList& out) const override {
    out.emplace_back("Open", "true");
    out.emplace_back("Closed", "0");
    out.emplace_back("Note", "not a number");
    out.emplace_back("ChannelFillPercentage", "33.333333333333336");
  }
};

TEST(MetricsRender, PrometheusSamplesAreNumbers) {
  FakeChannel c;
  std::string p = render_prometheus({&c});
  // One bad sample makes Prometheus reject the whole scrape: booleans become 1/0, the rest goes.
  EXPECT_NE(p.find("ingestor_channel_open{component=\"c1\",type=\"file\"} 1\n"), std::string::npos)
      << p;
  EXPECT_NE(p.find("# TYPE ingestor_channel_open gauge"), std::string::npos) << p;
  EXPECT_EQ(p.find("ingestor_channel_note"), std::string::npos) << p;
  EXPECT_NE(p.find("} 33.333333333333336\n"), std::string::npos) << p;
  // Flume's JSON keeps every value as it is.
  EXPECT_NE(render_flume_json({&c}).find("\"Note\":\"not a number\""), std::string::npos);
}

// The Kafka source's per-partition lag ("KafkaConsumerLag.<partition>@<topic>").
class FakeKafkaSource : public Component {
 public:
  FakeKafkaSource() : Component("r1", "kafka") {}
  const char* metrics_group() const override { return "SOURCE"; }
  void collect_metrics(MetricList& out) const override {
    out.emplace_back("KafkaConsumerLag.0@t\"1", "5");
    out.emplace_back("KafkaConsumerLag", "5");
  }
};

TEST(MetricsRender, PerPartitionLagIsALabel) {
  FakeKafkaSource s;
  std::string p = render_prometheus({&s});
  EXPECT_NE(p.find("# TYPE ingestor_source_kafka_consumer_lag gauge\n"), std::string::npos) << p;
  EXPECT_NE(p.find("ingestor_source_kafka_consumer_lag{component=\"r1\",type=\"kafka\","
                   "partition=\"0@t\\\"1\"} 5\n"),
            std::string::npos)
      << p;
  EXPECT_NE(p.find("ingestor_source_kafka_consumer_lag{component=\"r1\",type=\"kafka\"} 5\n"),
            std::string::npos)
      << p;
}

TEST(MetricsRender, SinkStateGauges) {
  SinkCounters k;
  k.consecutive_errors.set(3);
  MetricList m;
  k.collect(m);
  EXPECT_NE(std::find(m.begin(), m.end(), MetricList::value_type{"ConsecutiveErrors", "3"}),
            m.end());
  EXPECT_NE(std::find(m.begin(), m.end(), MetricList::value_type{"BackingOff", "0"}), m.end());
}

TEST(MetricsRender, SnakeCaseAndJavaDouble) {
  EXPECT_EQ(snake_case("EventReceivedCount"), "event_received_count");
  EXPECT_EQ(snake_case("ChannelFillPercentage"), "channel_fill_percentage");
  EXPECT_EQ(java_double_string(5.0), "5.0");
  EXPECT_EQ(java_double_string(0.0), "0.0");
  EXPECT_EQ(java_double_string(100.0 / 3), "33.333333333333336");
}

}  // namespace
}  // namespace ingestor
