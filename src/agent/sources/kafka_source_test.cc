// KafkaSource's keys (kafka.md §1.2.1, §1.2.3) and the kafka.topics.regex translation.
// The runtime (records from kcat into events) is tests/test_kafka_source.py on the mock cluster.
#include "agent/sources/kafka_source.h"

#include <gtest/gtest.h>
#include <regex.h>

namespace ingestor {
namespace {

Result<KafkaSourceOptions> options(Context ctx, std::vector<std::string>* warnings = nullptr) {
  Diagnostics d;
  Settings s = Settings::validate(kafka_source_spec(), ctx, "source", "r1", "a1.sources.r1.", d);
  EXPECT_FALSE(d.has_errors());
  return kafka_source_options(s, warnings);
}

const std::string& prop(const KafkaSourceOptions& o, std::string_view key) {
  static const std::string none = "<unset>";
  const std::string* v = kafka::find(o.consumer, key);
  return v ? *v : none;
}

TEST(KafkaSourceConfig, DefaultsAreFlumes) {
  auto o = options({{"kafka.bootstrap.servers", "b:1"}, {"kafka.topics", "test1, test2 ,t3"}});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->topics, (std::vector<std::string>{"test1", "test2", "t3"}));
  EXPECT_EQ(o->group_id, "flume");
  EXPECT_EQ(o->batch_size, 1000u);
  EXPECT_EQ(o->batch_duration.count(), 1000);
  EXPECT_EQ(o->backoff.increment.count(), 1000);
  EXPECT_EQ(o->backoff.max.count(), 5000);
  EXPECT_TRUE(o->set_topic_header);
  EXPECT_EQ(o->topic_header, "topic");
  EXPECT_EQ(prop(*o, "group.id"), "flume");
  EXPECT_EQ(prop(*o, "enable.auto.commit"), "false");
  EXPECT_EQ(prop(*o, "session.timeout.ms"), "10000");   // the Java client's
  EXPECT_EQ(prop(*o, "auto.offset.reset"), "<unset>");  // latest, as the Java default
}

TEST(KafkaSourceConfig, ForcedValuesWin) {
  auto o = options({{"kafka.bootstrap.servers", "b:1"},
                    {"kafka.topics", "t"},
                    {"kafka.consumer.bootstrap.servers", "other:1"},
                    {"kafka.consumer.enable.auto.commit", "true"},
                    {"kafka.consumer.group.id", "g"},
                    {"groupId", "old"},
                    {"kafka.consumer.fetch.max.wait.ms", "10"}});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(prop(*o, "bootstrap.servers"), "b:1");
  EXPECT_EQ(prop(*o, "enable.auto.commit"), "false");
  EXPECT_EQ(o->group_id, "g");
  EXPECT_EQ(prop(*o, "fetch.wait.max.ms"), "10");
}

TEST(KafkaSourceConfig, Flume16KeysAndRegexPrecedence) {
  std::vector<std::string> w;
  auto o = options({{"kafka.bootstrap.servers", "b:1"}, {"topic", "old"}, {"groupId", "og"}}, &w);
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->topics, std::vector<std::string>{"old"});
  EXPECT_EQ(o->group_id, "og");
  EXPECT_EQ(w.size(), 2u);
  o = options({{"kafka.bootstrap.servers", "b:1"},
               {"kafka.topics", "t"},
               {"kafka.topics.regex", "^topic[0-9]$"}});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->topics, std::vector<std::string>{"^(^topic[0-9]$)$"});
}

TEST(KafkaSourceConfig, Refusals) {
  auto o = options({{"kafka.bootstrap.servers", "b:1"}});
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message.find("At least one Kafka topic"), std::string::npos);
  o = options({{"kafka.topics", "t"}, {"zookeeperConnect", "zk:2181"}});
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message.find("Bootstrap Servers"), std::string::npos);
  o = options({{"kafka.bootstrap.servers", "b:1"}, {"kafka.topics.regex", "(?i)t.*"}});
  ASSERT_FALSE(o);
  o = options({{"kafka.bootstrap.servers", "b:1"},
               {"kafka.topics", "t"},
               {"kafka.consumer.partition.assignment.strategy", "org.x.StickyAssignor"}});
  ASSERT_FALSE(o);
}

bool posix_full_match(const std::string& pattern, const char* s) {
  regex_t re;
  if (regcomp(&re, pattern.c_str(), REG_EXTENDED | REG_NOSUB) != 0) return false;
  bool m = regexec(&re, s, 0, nullptr, 0) == 0;
  regfree(&re);
  return m;
}

TEST(JavaRegexToPosix, FullMatchAndJavaClasses) {
  auto r = kafka::java_regex_to_posix("topic\\d");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "^(topic[0-9])$");
  EXPECT_TRUE(posix_full_match(*r, "topic7"));
  EXPECT_FALSE(posix_full_match(*r, "topic"));
  EXPECT_FALSE(posix_full_match(*r, "topic77"));
  r = kafka::java_regex_to_posix("a|b.*?");
  ASSERT_TRUE(r);
  EXPECT_TRUE(posix_full_match(*r, "bcd"));
  EXPECT_FALSE(posix_full_match(*r, "xa"));
  r = kafka::java_regex_to_posix("[\\w.-]+\\.logs");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(posix_full_match(*r, "app_1.web.logs"));
  EXPECT_FALSE(posix_full_match(*r, "app logs"));
}

TEST(JavaRegexToPosix, MalformedAndJavaOnlySyntaxIsRefused) {
  for (const char* bad : {"(?i)topic", "a(?=b)", "\\p{Alpha}", "\\Qa.b\\E", "(a)\\1", "a++", "a*+",
                          "t\\", "[abc", "[\\D]", "\\b"}) {
    auto r = kafka::java_regex_to_posix(bad);
    EXPECT_FALSE(r) << bad << " -> " << (r ? *r : "");
    if (!r) {
      EXPECT_NE(r.error().message.find("kafka.topics.regex"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace ingestor
