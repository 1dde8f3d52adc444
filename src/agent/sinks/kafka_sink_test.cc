// KafkaSink's keys (kafka.md §1.3.1, §1.3.2): Flume's defaults, the 1.6 keys, the producer
// properties it sets (idempotence, murmur2_random, bootstrap.servers forced), refusals.
// The runtime (records in Kafka) is tests/test_kafka_sink.py against the mock cluster.
#include "agent/sinks/kafka_sink.h"

#include <gtest/gtest.h>

namespace ingestor {
namespace {

Result<KafkaSinkOptions> options(Context ctx, std::vector<std::string>* warnings = nullptr) {
  Diagnostics d;
  Settings s = Settings::validate(kafka_sink_spec(), ctx, "sink", "k1", "a1.sinks.k1.", d);
  EXPECT_FALSE(d.has_errors());
  return kafka_sink_options(s, warnings);
}

const std::string& prop(const KafkaSinkOptions& o, std::string_view key) {
  static const std::string none = "<unset>";
  const std::string* v = kafka::find(o.producer, key);
  return v ? *v : none;
}

TEST(KafkaSinkConfig, DefaultsAreFlumesWithTheIdempotentProducer) {
  std::vector<std::string> w;
  auto o = options({{"kafka.bootstrap.servers", "b1:9092"}}, &w);
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->topic, "default-flume-topic");
  EXPECT_EQ(o->batch_size, 100u);
  EXPECT_TRUE(o->allow_topic_override);
  EXPECT_EQ(o->topic_header, "topic");
  EXPECT_FALSE(o->default_partition);
  EXPECT_FALSE(o->use_flume_event_format);
  EXPECT_EQ(prop(*o, "bootstrap.servers"), "b1:9092");
  EXPECT_EQ(prop(*o, "enable.idempotence"), "true");
  EXPECT_EQ(prop(*o, "acks"), "all");
  EXPECT_EQ(prop(*o, "partitioner"), "murmur2_random");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0], "Topic was not specified. Using default-flume-topic as the topic.");
}

TEST(KafkaSinkConfig, Flume16KeysAreMappedWithWarnings) {
  std::vector<std::string> w;
  auto o = options({{"brokerList", "old:9092"},
                    {"topic", "t"},
                    {"batchSize", "300"},
                    {"requiredAcks", "all"},
                    {"serializer.class", "kafka.serializer.DefaultEncoder"}},
                   &w);
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->bootstrap, "old:9092");
  EXPECT_EQ(o->topic, "t");
  EXPECT_EQ(o->batch_size, 300u);
  EXPECT_EQ(prop(*o, "acks"), "all");
  EXPECT_EQ(w.size(), 5u);
  // The new keys win.
  o = options({{"brokerList", "old:9092"},
               {"kafka.bootstrap.servers", "new:9092"},
               {"flumeBatchSize", "7"},
               {"batchSize", "300"}});
  ASSERT_TRUE(o);
  EXPECT_EQ(prop(*o, "bootstrap.servers"), "new:9092");
  EXPECT_EQ(o->batch_size, 7u);
}

TEST(KafkaSinkConfig, AcksOneTurnsIdempotenceOffWithAWarning) {
  std::vector<std::string> w;
  auto o = options(
      {{"kafka.bootstrap.servers", "b:1"}, {"kafka.topic", "t"}, {"kafka.producer.acks", "1"}}, &w);
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(prop(*o, "enable.idempotence"), "false");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("idempotent"), std::string::npos);
}

TEST(KafkaSinkConfig, ForcedAndUserProperties) {
  auto o = options({{"kafka.bootstrap.servers", "b:1"},
                    {"kafka.topic", "t"},
                    {"kafka.producer.bootstrap.servers", "ignored:1"},
                    {"kafka.producer.compression.type", "zstd"},
                    {"kafka.producer.partitioner", "consistent_random"},
                    {"header.corr", "FLUME_CORRELATOR"},
                    {"defaultPartitionId", "3"},
                    {"partitionIdHeader", "p"}});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(prop(*o, "bootstrap.servers"), "b:1");
  EXPECT_EQ(prop(*o, "compression.type"), "zstd");
  EXPECT_EQ(prop(*o, "partitioner"), "consistent_random");
  EXPECT_EQ(o->default_partition, 3);
  ASSERT_EQ(o->kafka_headers.size(), 1u);
  EXPECT_EQ(o->kafka_headers[0].second, "FLUME_CORRELATOR");
}

TEST(KafkaSinkConfig, Refusals) {
  auto o = options({{"kafka.topic", "t"}});
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message.find("Bootstrap Servers must be specified"), std::string::npos);
  o = options(
      {{"kafka.bootstrap.servers", "b:1"}, {"kafka.producer.ssl.truststore.location", "/t.jks"}});
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message.find("ssl.ca.location"), std::string::npos);
  o = options({{"kafka.bootstrap.servers", "b:1"}, {"kafka.producer.no.such.thing", "1"}});
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message.find("kafka.producer.no.such.thing"), std::string::npos);
  o = options({{"kafka.bootstrap.servers", "b:1"}, {"kafka.topic", "a-%[nope]"}});
  ASSERT_FALSE(o);
}

}  // namespace
}  // namespace ingestor
