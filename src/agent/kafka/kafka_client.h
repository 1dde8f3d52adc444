#pragma once
// librdkafka handles for the Kafka source, sink and channel: configuration from translated
// properties (kafka_properties.h), librdkafka's log and error callbacks routed to our log (escaped:
// broker messages come from the network), and RAII handles.
//
// Thread-safety: as librdkafka's: a handle may be used from several threads, but the
// delivery-report and rebalance callbacks run on whichever thread calls rd_kafka_poll /
// rd_kafka_flush / rd_kafka_consumer_poll; each component calls those from one thread only.

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/kafka/kafka_properties.h"
#include "base/result.h"

namespace ingestor::kafka {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct HandleDeleter {
  void operator()(rd_kafka_t* k) const { rd_kafka_destroy(k); }
};
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;

struct TopicPartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionListPtr =
    std::unique_ptr<rd_kafka_topic_partition_list_t, TopicPartitionListDeleter>;

// A librdkafka configuration holding `props`, with logs routed to ours under `component`
// ("kafka sink k1"). Each property's error names the user's key (ClientProperty::from), e.g.
// "kafka.producer.lingerms: No such configuration property: \"lingerms\"". The component name
// must outlive the handle (it is kept by pointer as the handle's log context).
[[nodiscard]] Result<ConfPtr> make_conf(const std::vector<ClientProperty>& props,
                                        const std::string* component);

// Configure-time check: make_conf plus what rd_kafka_new refuses (idempotence with acks=1,
// missing key files...), with a throwaway handle that connects to nothing.
[[nodiscard]] Status check_client(const std::vector<ClientProperty>& props, rd_kafka_type_t type);

// rd_kafka_new with `conf` (consumed, also on failure).
[[nodiscard]] Result<HandlePtr> make_handle(rd_kafka_type_t type, ConfPtr conf);

// "topic-partition" key of position maps and metrics labels: "<partition>@<topic>" (the topic may
// hold '-' and '.', a partition never '@').
std::string partition_key(std::string_view topic, int32_t partition);
// Inverse of partition_key; false when `key` is not one.
bool parse_partition_key(std::string_view key, std::string& topic, int32_t& partition);

// The "host:port" list must name at least one host that resolves (librdkafka itself only logs an
// unresolvable host, forever; Flume's start fails: kafka.md §1.8 testNonExistingKafkaServer).
[[nodiscard]] Status check_bootstrap_resolves(std::string_view servers);

}  // namespace ingestor::kafka
