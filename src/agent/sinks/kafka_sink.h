#pragma once
// KafkaSink: Flume's org.apache.flume.sink.kafka.KafkaSink (shared reference kafka.md §1.3) on
// librdkafka. Per event: topic from the `topicHeader` header when allowTopicOverride, else
// kafka.topic with Flume's escapes (%{header}, time escapes); key from the `key` header; partition
// from partitionIdHeader, else defaultPartitionId, else the Java client's murmur2 partitioner;
// timestamp from timestampHeader; Kafka headers from header.NAME = kname; value = the body, or the
// whole event as an AvroFlumeEvent datum with useFlumeEventFormat.
//
// Better than Flume (kafka.md §4.3, §4.4): the take commits only after every record of the batch
// has a successful delivery report; when some failed, the transaction stays open and the next
// process() re-sends only those (Flume rolls back and re-sends the whole batch), with the
// idempotent producer on (acks=all) so librdkafka's own retries add no duplicates. Each wait is
// bounded by the delivery timeout (30 s by default). A batch still open at stop() is rolled back
// (RollbackCount, and a warning with how many of its records Kafka already had).
// Flume's 1.6 keys brokerList, topic, batchSize and requiredAcks are mapped, with a warning.
//
// Memory: one batch (flumeBatchSize events, their Avro encodings) plus librdkafka's queue.
// Thread-safety: process() on the runner thread; stop() from the agent's.

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/kafka/kafka_producer.h"
#include "agent/sinks/bucket_path.h"
#include "base/log.h"
#include "core/config/spec.h"
#include "core/sink.h"

namespace ingestor {

const ComponentSpec& kafka_sink_spec();

struct KafkaSinkOptions {
  std::string bootstrap;
  std::string topic = "default-flume-topic";
  size_t batch_size = 100;
  bool allow_topic_override = true;
  std::string topic_header = "topic";
  std::optional<int32_t> default_partition;
  std::string partition_id_header;
  std::string timestamp_header;
  // header.NAME = kname: Flume header NAME -> Kafka record header kname.
  std::vector<std::pair<std::string, std::string>> kafka_headers;
  bool use_flume_event_format = false;
  std::vector<kafka::ClientProperty> producer;  // complete librdkafka properties
};

// Validates and translates; `warnings` gets the deprecation and translation warnings (logged once
// by the caller at configure time).
[[nodiscard]] Result<KafkaSinkOptions> kafka_sink_options(const Settings& s,
                                                          std::vector<std::string>* warnings);

class KafkaSink final : public Sink {
 public:
  [[nodiscard]] static Result<std::unique_ptr<KafkaSink>> create(std::string name,
                                                                 KafkaSinkOptions o);
  ~KafkaSink() override;
  Status start() override;
  void stop() override;
  size_t batch_size() const override { return opts_.batch_size; }
  Result<SinkStatus> process() override;
  void collect_metrics(MetricList& out) const override;

 private:
  KafkaSink(std::string name, KafkaSinkOptions o, BucketPath topic);
  // Fills recs_ from the taken events (topic, key, partition, ...). An event that cannot be
  // mapped (a partition header that is not an integer, a topic escape without a timestamp) fails
  // the batch with that message.
  Status build_records(const Batch& events);

  KafkaSinkOptions opts_;
  BucketPath topic_;
  std::unique_ptr<kafka::KafkaProducer> producer_;
  Tx tx_;                                // a batch not fully acknowledged yet (kept across calls)
  std::vector<kafka::OutRecord> recs_;   // one per taken event, same order
  std::vector<std::string> topics_;      // expanded topics, values and keys the records point into
  std::vector<std::string> values_;
  Counter send_timer_ms_, rollbacks_, resent_;
  log::Throttle warn_;
};

}  // namespace ingestor
