// Java client properties -> librdkafka 2.0.2 (kafka.md §1.6, §2): renames, drops, refusals naming
// the librdkafka keys, SASL/SSL passthrough, and librdkafka's own check of the result.
#include "agent/kafka/kafka_properties.h"

#include <gtest/gtest.h>

#include "agent/kafka/kafka_client.h"

namespace ingestor::kafka {
namespace {

using Given = std::vector<std::pair<std::string, std::string>>;

TranslatedProperties ok(const Given& g, ClientRole role = ClientRole::kProducer) {
  auto r = translate_java_properties(g, role, "kafka.producer.");
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : TranslatedProperties{};
}

std::string refused(const Given& g, ClientRole role = ClientRole::kProducer) {
  auto r = translate_java_properties(g, role, "kafka.producer.");
  EXPECT_FALSE(r);
  return r ? "" : r.error().message;
}

TEST(KafkaProperties, SameNamesPassThroughInOrder) {
  auto t = ok({{"acks", "all"}, {"linger.ms", "0"}, {"compression.type", "zstd"}});
  ASSERT_EQ(t.props.size(), 3u);
  EXPECT_EQ(t.props[0], (ClientProperty{"acks", "all", "kafka.producer.acks"}));
  EXPECT_EQ(t.props[2].key, "compression.type");
  EXPECT_TRUE(t.warnings.empty());
}

TEST(KafkaProperties, JavaNamesBecomeLibrdkafkaNames) {
  auto t =
      ok({{"max.request.size", "2000000"},
          {"fetch.max.wait.ms", "100"},
          {"metadata.max.age.ms", "1000"},
          {"send.buffer.bytes", "131072"},
          {"receive.buffer.bytes", "65536"},
          {"buffer.memory", "33554432"},
          {"partitioner.class", "org.apache.kafka.clients.producer.internals.DefaultPartitioner"}});
  EXPECT_EQ(*find(t.props, "message.max.bytes"), "2000000");
  EXPECT_EQ(*find(t.props, "fetch.wait.max.ms"), "100");
  EXPECT_EQ(*find(t.props, "topic.metadata.refresh.interval.ms"), "1000");
  EXPECT_EQ(*find(t.props, "socket.send.buffer.bytes"), "131072");
  EXPECT_EQ(*find(t.props, "socket.receive.buffer.bytes"), "65536");
  EXPECT_EQ(*find(t.props, "queue.buffering.max.kbytes"), "32768");
  EXPECT_EQ(*find(t.props, "partitioner"), "murmur2_random");
  EXPECT_EQ(find(t.props, "max.request.size"), nullptr);
  EXPECT_EQ(t.props[0].from, "kafka.producer.max.request.size");
}

TEST(KafkaProperties, ConsumerSpecifics) {
  auto t = ok({{"request.timeout.ms", "20000"},
               {"auto.offset.reset", "none"},
               {"partition.assignment.strategy",
                "org.apache.kafka.clients.consumer.RoundRobinAssignor, range"}},
              ClientRole::kConsumer);
  EXPECT_EQ(*find(t.props, "socket.timeout.ms"), "20000");
  EXPECT_EQ(*find(t.props, "auto.offset.reset"), "error");
  EXPECT_EQ(*find(t.props, "partition.assignment.strategy"), "roundrobin,range");
}

TEST(KafkaProperties, JavaOnlyKeysAreDroppedWithAWarning) {
  auto t = ok({{"key.serializer", "org.apache.kafka.common.serialization.StringSerializer"},
               {"max.block.ms", "1000"},
               {"ssl.enabled.protocols", "TLSv1.2"}});
  EXPECT_TRUE(t.props.empty());
  ASSERT_EQ(t.warnings.size(), 3u);
  EXPECT_NE(t.warnings[0].find("kafka.producer.key.serializer is ignored"), std::string::npos);
}

TEST(KafkaProperties, JaasIsRefusedNamingTheKeysAndNeverTheSecret) {
  std::string m = refused({{"sasl.jaas.config",
                            "org.apache.kafka.common.security.plain.PlainLoginModule required "
                            "username=\"u\" password=\"s3cret\";"}});
  EXPECT_NE(m.find("kafka.producer.sasl.username"), std::string::npos) << m;
  EXPECT_NE(m.find("kafka.producer.sasl.password"), std::string::npos) << m;
  EXPECT_EQ(m.find("s3cret"), std::string::npos) << m;
  m = refused({{"sasl.jaas.config",
                "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true "
                "keyTab=\"/k.keytab\" principal=\"p@R\";"}});
  EXPECT_NE(m.find("sasl.kerberos.keytab"), std::string::npos) << m;
  EXPECT_NE(m.find("sasl.kerberos.principal"), std::string::npos) << m;
  m = refused({{"sasl.jaas.config", "org.apache...OAuthBearerLoginModule required;"}});
  EXPECT_NE(m.find("sasl.oauthbearer"), std::string::npos) << m;
}

TEST(KafkaProperties, JksStoresAreRefusedNamingPemKeys) {
  std::string m = refused({{"ssl.truststore.location", "/etc/kafka/truststore.jks"}});
  EXPECT_NE(m.find("ssl.ca.location"), std::string::npos) << m;
  m = refused({{"ssl.keystore.location", "/etc/kafka/keystore.JKS"}});
  EXPECT_NE(m.find("PKCS#12"), std::string::npos) << m;
  EXPECT_NE(m.find("ssl.certificate.location"), std::string::npos) << m;
  m = refused({{"ssl.keystore.type", "jks"}});
  EXPECT_NE(m.find("ssl.key.location"), std::string::npos) << m;
}

TEST(KafkaProperties, SaslAndSslPassThrough) {
  auto t = ok({{"security.protocol", "SASL_SSL"},
               {"sasl.mechanism", "SCRAM-SHA-512"},
               {"sasl.username", "u"},
               {"sasl.password", "p"},
               {"ssl.ca.location", "/etc/ssl/ca.pem"},
               {"ssl.keystore.location", "/etc/ssl/client.p12"},
               {"ssl.keystore.password", "pw"},
               {"ssl.keystore.type", "PKCS12"},
               {"ssl.disableTLSHostnameVerification", "TRUE"}});
  EXPECT_EQ(*find(t.props, "security.protocol"), "SASL_SSL");
  EXPECT_EQ(*find(t.props, "sasl.mechanism"), "SCRAM-SHA-512");
  EXPECT_EQ(*find(t.props, "ssl.keystore.location"), "/etc/ssl/client.p12");
  EXPECT_EQ(*find(t.props, "ssl.endpoint.identification.algorithm"), "none");
  EXPECT_EQ(find(t.props, "ssl.keystore.type"), nullptr);
  EXPECT_EQ(find(t.props, "ssl.disableTLSHostnameVerification"), nullptr);
  // librdkafka accepts every one of them (the files are only opened by rd_kafka_new).
  auto conf = make_conf(t.props, nullptr);
  EXPECT_TRUE(conf) << (conf ? "" : conf.error().message);
}

TEST(KafkaProperties, HostnameFlagOnlyActsWithTls) {
  auto t =
      ok({{"security.protocol", "SASL_PLAINTEXT"}, {"ssl.disableTLSHostnameVerification", "true"}});
  EXPECT_EQ(find(t.props, "ssl.endpoint.identification.algorithm"), nullptr);
  t = ok({{"ssl.endpoint.identification.algorithm", ""}});
  EXPECT_EQ(*find(t.props, "ssl.endpoint.identification.algorithm"), "none");
}

TEST(KafkaProperties, MalformedValuesAreRefused) {
  EXPECT_NE(refused({{"buffer.memory", "lots"}}).find("kafka.producer.buffer.memory"),
            std::string::npos);
  EXPECT_FALSE(refused({{"buffer.memory", "-5"}}).empty());
  EXPECT_FALSE(refused({{"buffer.memory", ""}}).empty());
  EXPECT_NE(refused({{"partitioner.class", "com.acme.MyPartitioner"}}).find("murmur2_random"),
            std::string::npos);
  std::string m =
      refused({{"partition.assignment.strategy", "a.StickyAssignor\n"}}, ClientRole::kConsumer);
  EXPECT_NE(m.find("cooperative-sticky"), std::string::npos);
  EXPECT_EQ(m.find('\n'), std::string::npos);  // escaped
  // Empty list items are skipped, not an error.
  auto t = ok({{"partition.assignment.strategy", " , range ,"}}, ClientRole::kConsumer);
  EXPECT_EQ(*find(t.props, "partition.assignment.strategy"), "range");
}

TEST(KafkaProperties, LibrdkafkaNamesTheUsersKeyForATypo) {
  auto t = ok({{"lingerms", "5"}});
  auto conf = make_conf(t.props, nullptr);
  ASSERT_FALSE(conf);
  EXPECT_NE(conf.error().message.find("kafka.producer.lingerms"), std::string::npos);
  // And what rd_kafka_new refuses: idempotence with acks=1.
  auto s = check_client({{"enable.idempotence", "true", ""}, {"acks", "1", "kafka.producer.acks"}},
                        RD_KAFKA_PRODUCER);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("acks"), std::string::npos);
}

TEST(KafkaProperties, DefaultsAndForcedValues) {
  std::vector<ClientProperty> p{{"acks", "1", "kafka.producer.acks"}};
  set_default(p, "acks", "all");
  set_default(p, "linger.ms", "5");
  EXPECT_EQ(*find(p, "acks"), "1");
  EXPECT_EQ(*find(p, "linger.ms"), "5");
  p.push_back({"enable.auto.commit", "true", "kafka.consumer.enable.auto.commit"});
  force(p, "enable.auto.commit", "false");
  EXPECT_EQ(*find(p, "enable.auto.commit"), "false");
}

TEST(KafkaPartitionKey, RoundTripAndMalformed) {
  std::string t;
  int32_t p = 0;
  EXPECT_EQ(partition_key("a-b.c", 7), "7@a-b.c");
  ASSERT_TRUE(parse_partition_key("7@a-b.c", t, p));
  EXPECT_EQ(t, "a-b.c");
  EXPECT_EQ(p, 7);
  for (const char* bad : {"", "@", "7@", "@t", "x@t", "-1@t", "7", "99999999999@t", "7x@t"})
    EXPECT_FALSE(parse_partition_key(bad, t, p)) << bad;
}

TEST(KafkaBootstrap, UnresolvableHostsFail) {
  EXPECT_TRUE(check_bootstrap_resolves("127.0.0.1:9092"));
  EXPECT_TRUE(check_bootstrap_resolves(" nohost.invalid:1 , localhost:9092"));
  EXPECT_FALSE(check_bootstrap_resolves("blabla.invalid:666"));
  EXPECT_FALSE(check_bootstrap_resolves(""));
}

}  // namespace
}  // namespace ingestor::kafka
