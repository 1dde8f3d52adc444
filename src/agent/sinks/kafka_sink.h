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
// Up to four batches are in flight at once (the next ones are taken and produced while the oldest
// waits for its acknowledgements; takes commit in order, a failed batch stops new ones until it
// is through).
// Memory: four batches (flumeBatchSize events each, their Avro encodings) plus librdkafka's queue.
// Thread-safety: process() on the runner thread; stop() from the agent's.

#include <deque>
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
  const KafkaSinkOptions& options() const { return opts_; }

 private:
  // A taken batch whose records are in Kafka's hands: its take commits once all are acknowledged.
  struct InFlight {
    Tx tx;
    std::vector<kafka::OutRecord> recs;  // one per taken event, same order
    std::vector<std::string> topics;     // expanded topics and Avro values the records point into
    std::vector<std::string> values;
    bool failed = false;  // some record was refused: re-send only those
  };
  // Up to this many batches are in flight: the next ones are taken and produced while the oldest
  // waits for its acknowledgements (takes still commit in order). 4 measured best against the
  // mock cluster (bench/bench_kafka.py: 1 batch ~0.5 of kcat -P, 2 ~0.55, 4 ~0.8-1.0).
  static constexpr size_t kDepth = 4;

  KafkaSink(std::string name, KafkaSinkOptions o, BucketPath topic);
  // Fills b.recs from the taken events (topic, key, partition, ...). An event that cannot be
  // mapped (a partition header that is not an integer, a topic escape without a timestamp) fails
  // the batch with that message.
  Status build_records(InFlight& b);
  // Takes and produces one more batch; false when the channel had nothing (or failed: `err`).
  bool start_batch(Status& err);

  KafkaSinkOptions opts_;
  BucketPath topic_;
  std::unique_ptr<kafka::KafkaProducer> producer_;
  std::deque<InFlight> in_flight_;  // oldest first
  Counter send_timer_ms_, rollbacks_, resent_;
  log::Throttle warn_;
};

}  // namespace ingestor
