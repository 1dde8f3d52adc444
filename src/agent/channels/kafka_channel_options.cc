// KafkaChannel's keys (kafka.md §1.4.1) and their translation to librdkafka properties.
#include "agent/channels/kafka_channel.h"

namespace ingestor {

const ComponentSpec& kafka_channel_spec() {
  static const ComponentSpec spec{
      "channel",
      "kafka",
      "org.apache.flume.channel.kafka.KafkaChannel",
      "Keeps the channel's events in a Kafka topic (librdkafka): puts produce at commit, takes "
      "commit offsets at commit.",
      {
          {"kafka.bootstrap.servers", KeyType::kString, std::nullopt, false,
           "Kafka brokers, host:port,... (required, or the 1.6 key brokerList)"},
          {"kafka.topic", KeyType::kString, "flume-channel", false, "The channel's topic"},
          {"parseAsFlumeEvent", KeyType::kBool, "true", false,
           "Values are AvroFlumeEvent datums (headers kept); false: the body only"},
          {"kafka.pollTimeout", KeyType::kLong, "500", false, "ms a take waits for records", 1},
          {"pollTimeout", KeyType::kLong, std::nullopt, false,
           "The user guide's spelling of kafka.pollTimeout (Flume ignores it; accepted, warned)",
           1},
          {"defaultPartitionId", KeyType::kInt, std::nullopt, false, "Partition of every put", 0},
          {"partitionIdHeader", KeyType::kString, std::nullopt, false,
           "Header whose integer value is a put's partition"},
          {"kafka.producer.*", KeyType::kPrefix, std::nullopt, false, "Producer properties"},
          {"kafka.consumer.*", KeyType::kPrefix, std::nullopt, false,
           "Consumer properties (group.id defaults to flume, auto.offset.reset to earliest)"},
          {"migrateZookeeperOffsets", KeyType::kBool, std::nullopt, false,
           "Refused when true: ZooKeeper offsets are not migrated"},
          {"zookeeperConnect", KeyType::kString, std::nullopt, false, "Deprecated: not used"},
          {"brokerList", KeyType::kString, std::nullopt, false,
           "Deprecated (1.6): kafka.bootstrap.servers"},
          {"topic", KeyType::kString, std::nullopt, false, "Deprecated (1.6): kafka.topic"},
          {"groupId", KeyType::kString, std::nullopt, false,
           "Deprecated (1.6): kafka.consumer.group.id"},
          {"readSmallestOffset", KeyType::kBool, std::nullopt, false,
           "Deprecated (1.6): kafka.consumer.auto.offset.reset (true: earliest)"},
          {"timeout", KeyType::kLong, std::nullopt, false, "Deprecated (1.6): ignored"},
      }};
  return spec;
}

Result<KafkaChannelOptions> kafka_channel_options(const Settings& s,
                                                  std::vector<std::string>* warnings) {
  KafkaChannelOptions o;
  auto warn = [&](std::string w) {
    if (warnings) warnings->push_back(std::move(w));
  };
  if (s.has("migrateZookeeperOffsets") && s.boolean("migrateZookeeperOffsets"))
    return make_error(Errc::kConfig,
                      "migrateZookeeperOffsets = true is not supported: offsets kept in ZooKeeper "
                      "by pre-0.9 consumers are not migrated; remove the key (or set it false)");
  if (s.has("zookeeperConnect")) warn("zookeeperConnect is deprecated and not used");
  if (s.has("timeout")) warn("timeout is a 1.6 key; ignored (use kafka.pollTimeout)");
  o.bootstrap = s.str("kafka.bootstrap.servers");
  if (!s.has("kafka.bootstrap.servers") && s.has("brokerList")) {
    o.bootstrap = s.str("brokerList");
    warn("brokerList is deprecated. Please use the parameter kafka.bootstrap.servers");
  }
  if (o.bootstrap.empty())
    return make_error(Errc::kConfig,
                      "Bootstrap Servers must be specified (kafka.bootstrap.servers)");
  o.topic = s.str("kafka.topic");
  if (!s.has("kafka.topic") && s.has("topic")) {
    o.topic = s.str("topic");
    warn("topic is deprecated. Please use the parameter kafka.topic");
  }
  o.parse_as_flume_event = s.boolean("parseAsFlumeEvent");
  o.poll_timeout = std::chrono::milliseconds(s.i64("kafka.pollTimeout"));
  if (!s.has("kafka.pollTimeout") && s.has("pollTimeout")) {
    o.poll_timeout = std::chrono::milliseconds(s.i64("pollTimeout"));
    warn(
        "pollTimeout is the user guide's spelling, which Flume ignores; used here as "
        "kafka.pollTimeout");
  }
  if (s.has("defaultPartitionId"))
    o.default_partition = static_cast<int32_t>(s.i64("defaultPartitionId"));
  o.partition_id_header = s.str("partitionIdHeader");

  std::vector<std::pair<std::string, std::string>> given;
  for (const auto& kv : s.sub("kafka.producer.")) given.push_back(kv);
  auto p = kafka::translate_java_properties(given, kafka::ClientRole::kProducer, "kafka.producer.");
  if (!p) return p.error();
  for (auto& w : p->warnings) warn(std::move(w));
  o.producer = std::move(p->props);
  kafka::apply_producer_defaults(o.producer, warnings, "all");
  kafka::force(o.producer, "bootstrap.servers", o.bootstrap);

  given.clear();
  for (const auto& kv : s.sub("kafka.consumer.")) given.push_back(kv);
  if (!s.has("kafka.consumer.auto.offset.reset") && s.has("readSmallestOffset")) {
    given.emplace_back("auto.offset.reset",
                       s.boolean("readSmallestOffset") ? "earliest" : "latest");
    warn(
        "readSmallestOffset is deprecated. Please use the parameter "
        "kafka.consumer.auto.offset.reset");
  }
  auto c = kafka::consumer_properties(s, given, o.bootstrap, o.group_id, warn);
  if (!c) return c.error();
  o.consumer = std::move(*c);
  kafka::set_default(o.consumer, "auto.offset.reset", "earliest");  // Flume's code default
  if (auto r = kafka::check_client(o.producer, RD_KAFKA_PRODUCER); !r) return r.error();
  if (auto r = kafka::check_client(o.consumer, RD_KAFKA_CONSUMER); !r) return r.error();
  return o;
}

}  // namespace ingestor
