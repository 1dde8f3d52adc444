// KafkaChannel's keys (kafka.md §1.4.1), and what a put refuses before anything reaches Kafka.
// The runtime is tests/test_kafka_channel.py against the mock cluster.
#include "agent/channels/kafka_channel.h"

#include <gtest/gtest.h>

namespace ingestor {
namespace {

Result<KafkaChannelOptions> options(Context ctx, std::vector<std::string>* warnings = nullptr) {
  Diagnostics d;
  Settings s = Settings::validate(kafka_channel_spec(), ctx, "channel", "c1", "a1.channels.c1.", d);
  EXPECT_FALSE(d.has_errors());
  return kafka_channel_options(s, warnings);
}

std::string prop(const std::vector<kafka::ClientProperty>& p, std::string_view key) {
  const std::string* v = kafka::find(p, key);
  return v ? *v : "<unset>";
}

TEST(KafkaChannelConfig, DefaultsAreFlumesCode) {
  auto o = options({{"kafka.bootstrap.servers", "b:1"}});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->topic, "flume-channel");
  EXPECT_EQ(o->group_id, "flume");
  EXPECT_TRUE(o->parse_as_flume_event);
  EXPECT_EQ(o->poll_timeout.count(), 500);
  EXPECT_EQ(prop(o->consumer, "auto.offset.reset"), "earliest");
  EXPECT_EQ(prop(o->consumer, "enable.auto.commit"), "false");
  EXPECT_EQ(prop(o->producer, "acks"), "all");
  EXPECT_EQ(prop(o->producer, "enable.idempotence"), "true");
}

TEST(KafkaChannelConfig, OldKeysAndUserGuideSpellings) {
  std::vector<std::string> w;
  auto o = options({{"brokerList", "b:1"},
                    {"topic", "t"},
                    {"groupId", "g"},
                    {"readSmallestOffset", "false"},
                    {"pollTimeout", "50"},
                    {"kafka.producer.some.thing", "x"}},
                   &w);
  ASSERT_FALSE(o);  // librdkafka knows no "some.thing": a typo stops the agent, naming the key
  EXPECT_NE(o.error().message.find("kafka.producer.some.thing"), std::string::npos);
  o = options({{"brokerList", "b:1"},
               {"topic", "t"},
               {"groupId", "g"},
               {"readSmallestOffset", "false"},
               {"pollTimeout", "50"}},
              &w);
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->bootstrap, "b:1");
  EXPECT_EQ(o->topic, "t");
  EXPECT_EQ(o->group_id, "g");
  EXPECT_EQ(prop(o->consumer, "auto.offset.reset"), "latest");
  EXPECT_EQ(o->poll_timeout.count(), 50);
  EXPECT_GE(w.size(), 5u);
}

TEST(KafkaChannelConfig, Refusals) {
  auto o = options({{"kafka.bootstrap.servers", "b:1"}, {"migrateZookeeperOffsets", "true"}});
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message.find("migrateZookeeperOffsets"), std::string::npos);
  EXPECT_TRUE(options({{"kafka.bootstrap.servers", "b:1"}, {"migrateZookeeperOffsets", "false"}}));
  EXPECT_FALSE(options({}));
}

TEST(KafkaChannel, NonIntegerPartitionHeaderFailsThePut) {
  auto o = options({{"kafka.bootstrap.servers", "127.0.0.1:1"}, {"partitionIdHeader", "p"}});
  ASSERT_TRUE(o);
  KafkaChannel ch("c1", std::move(*o));
  Tx tx = ch.begin();
  Batch b;
  b.push_back(Event::of("x", {{"p", "not-a-number"}}));
  auto s = tx.put(b);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("Non integer partition id"), std::string::npos);
  EXPECT_EQ(b.size(), 1u);  // nothing taken from the caller
  b[0].headers.set("p", "2");
  EXPECT_TRUE(tx.put(b));
  tx.rollback();
}

}  // namespace
}  // namespace ingestor
