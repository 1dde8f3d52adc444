#pragma once
// KafkaChannel: Flume's org.apache.flume.channel.kafka.KafkaChannel (shared reference kafka.md
// §1.4) on librdkafka: the channel's events live in one Kafka topic.
//  - Put: nothing reaches Kafka before commit(); commit() produces the transaction's events (value
//    = AvroFlumeEvent datum when parseAsFlumeEvent, else the body; key from the `key` header;
//    partition from partitionIdHeader / defaultPartitionId) and succeeds once every record is
//    acknowledged. When some failed, the transaction stays open and a retried commit() re-sends
//    only those (Flume fails and the source re-sends everything).
//  - Take: records read in the consumer group (kafka.consumer.group.id), decoded; commit() commits
//    their offsets (a failed offset commit is logged and counted, KafkaCommitFailCount, and the
//    offsets go with the next commit: the take itself succeeded, its events were delivered);
//    rollback() puts the taken events back at the head, in order, for the next take (replay).
//  - Works with a source only (the take side never joins the group), a sink only, or both, as
//    Flume. Several takers share one consumer (takes are serialized).
// Better than Flume: a decode failure is counted and logged (topic, partition, offset) and the
// record skipped instead of failing every take; on a rebalance the records buffered for revoked
// partitions are dropped and the offsets already taken and committed are committed before the
// partitions go; ChannelSize reports the consumer lag (records in the topic not yet taken here),
// ChannelCapacity 0.
// Refused: migrateZookeeperOffsets = true (no ZooKeeper); zookeeperConnect is warned about.
//
// Memory: one transaction's events plus a read-ahead of at most max(pollTimeout batch, 500)
// records, plus librdkafka's queues. Thread-safety: any thread; one lock for the put side's
// sends, one for the consumer.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/kafka/kafka_consumer.h"
#include "agent/kafka/kafka_producer.h"
#include "base/log.h"
#include "core/channel.h"
#include "core/config/spec.h"

namespace ingestor {

const ComponentSpec& kafka_channel_spec();

struct KafkaChannelOptions {
  std::string bootstrap;
  std::string topic = "flume-channel";
  std::string group_id = "flume";
  bool parse_as_flume_event = true;
  std::chrono::milliseconds poll_timeout{500};
  std::optional<int32_t> default_partition;
  std::string partition_id_header;
  std::vector<kafka::ClientProperty> producer, consumer;  // complete librdkafka properties
};

[[nodiscard]] Result<KafkaChannelOptions> kafka_channel_options(const Settings& s,
                                                                std::vector<std::string>* warnings);

class KafkaChannel final : public Channel, private kafka::RebalanceListener {
 public:
  KafkaChannel(std::string name, KafkaChannelOptions o);
  ~KafkaChannel() override;
  Status start() override;
  void stop() override;
  Tx begin() override;
  bool wait_for_events(std::chrono::milliseconds timeout) override;
  void wake() override;
  size_t size() const override;
  size_t capacity() const override { return 0; }
  size_t transaction_capacity() const override { return SIZE_MAX; }
  void collect_metrics(MetricList& out) const override;

 private:
  class KafkaTransaction;
  friend class KafkaTransaction;
  struct Taken {
    Event event;
    std::string topic;
    int32_t partition;
    int64_t offset;
  };
  // Consumer side (under cmu_).
  Status ensure_consumer();
  // Reads up to `max` records into ready_, waiting at most `wait` for the first.
  void fill(size_t max, std::chrono::milliseconds wait);
  void on_assign(rd_kafka_topic_partition_list_t* parts) override;
  void on_revoke(const rd_kafka_topic_partition_list_t* parts) override;
  // Put side: sends `recs` (under pmu_); returns how many failed.
  size_t send(std::vector<kafka::OutRecord>& recs);
  void commit_offsets(const kafka::OffsetMap& offsets);

  KafkaChannelOptions opts_;
  std::mutex pmu_;
  std::unique_ptr<kafka::KafkaProducer> producer_;
  mutable std::mutex cmu_;
  std::unique_ptr<kafka::KafkaConsumer> consumer_;
  std::deque<Taken> ready_;       // read from Kafka (or rolled back), not taken yet
  kafka::OffsetMap uncommitted_;  // taken and committed by a sink, Kafka commit failed
  bool stopping_ = false;
  Counter get_timer_ms_, send_timer_ms_, commit_timer_ms_, rollbacks_, commit_fail_, dropped_;
  log::Throttle warn_;
};

}  // namespace ingestor
