#pragma once
// KafkaSource: Flume's org.apache.flume.source.kafka.KafkaSource (shared reference kafka.md §1.2)
// on librdkafka: a consumer-group member that turns records into events with Flume's headers
// (timestamp, header.NAME, topic, partition, offset, key), or decodes AvroFlumeEvent values with
// useFlumeEventFormat, and puts them in batches of batchSize / batchDurationMillis.
//
// Offsets (DESIGN.md guarantee 8): a record's offset is committed to Kafka only after the channel
// transaction holding its event committed. When the source puts to one channel that stores
// positions (the file channel), each batch's offsets ("<partition>@<topic>" -> next offset) are
// committed in the same WAL record as its events, and an assignment starts from the larger of the
// channel's position and the group's committed offset: a kill -9 at any moment neither loses nor
// duplicates. Otherwise at-least-once, duplicates bounded by one batch per partition.
// On a rebalance the source drops its uncommitted batch (the next owner reads it again) and
// commits what its channel committed before the partitions go (the mock cluster refuses commits
// during a join-triggered rebalance: then the next owner re-reads from the last commit).
// A full channel pauses every assigned partition and keeps polling (Flume stops polling and gets
// evicted from the group after max.poll.interval.ms); the batch is retried until it fits.
// Unlike Flume, an idle topic is waited on inside librdkafka's poll (no backoff sleep), records
// that fail Avro decoding are counted (EventReadFail) and logged with topic/partition/offset, and
// Kafka header values named in header.* are UTF-8, a null value being absent.
//
// Memory: one batch (batchSize events, bodies in shared 256 KiB chunks) plus librdkafka's fetch
// queue (queued.max.messages.kbytes, default 64 MiB: set kafka.consumer.queued.max.messages.kbytes
// to bound it). Thread-safety: the runner thread; metrics from any thread.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "agent/kafka/kafka_consumer.h"
#include "agent/sources/pollable_source.h"
#include "base/log.h"
#include "core/config/spec.h"

namespace ingestor {

const ComponentSpec& kafka_source_spec();

struct KafkaSourceOptions {
  std::string bootstrap;
  std::vector<std::string> topics;  // names, or one librdkafka pattern starting with '^'
  std::string group_id = "flume";
  size_t batch_size = 1000;
  std::chrono::milliseconds batch_duration{1000};
  PollBackoff backoff;
  bool use_flume_event_format = false;
  bool set_topic_header = true;
  std::string topic_header = "topic";
  std::vector<std::pair<std::string, std::string>> header_map;  // Flume NAME <- Kafka kname
  std::vector<kafka::ClientProperty> consumer;                  // complete librdkafka properties
};

[[nodiscard]] Result<KafkaSourceOptions> kafka_source_options(const Settings& s,
                                                              std::vector<std::string>* warnings);

class KafkaSource final : public PollableSource, private kafka::RebalanceListener {
 public:
  KafkaSource(std::string name, std::shared_ptr<ChannelProcessor> processor, KafkaSourceOptions o);
  ~KafkaSource() override;
  Status start() override;
  void stop() override;
  PollStatus poll() override;
  void collect_metrics(MetricList& out) const override;
  const KafkaSourceOptions& options() const { return opts_; }

 private:
  void on_assign(rd_kafka_topic_partition_list_t* parts) override;
  void on_revoke(const rd_kafka_topic_partition_list_t* parts) override;
  // Appends the record's event to batch_ (false when it was dropped: undecodable).
  void add(const rd_kafka_message_t* m);
  // Puts batch_ (with its offsets as a position update when the channel stores positions), then
  // commits the offsets to Kafka. False when the channel refused it (batch_ kept for a retry).
  bool put_batch();
  void discard_batch();
  // Polls with every partition paused (callbacks served, membership kept); records fetched before
  // the pause are sought back to be read later.
  void idle_poll(int timeout_ms);
  Slice copy_body(const void* data, size_t n);

  KafkaSourceOptions opts_;
  Channel* pos_channel_ = nullptr;  // the one required channel that stores positions, if any
  std::unique_ptr<kafka::KafkaConsumer> consumer_;
  Batch batch_;
  PutProgress progress_;
  kafka::OffsetMap batch_next_;         // per partition: next offset after the batch's records
  kafka::OffsetMap batch_first_;        // per partition: the batch's first offset
  kafka::OffsetMap channel_committed_;  // committed to the channel, not yet to Kafka
  // A commit failed because the group is rebalancing: read nothing more until the rebalance
  // happened (so the next owner re-reads at most the batch whose commit failed), up to a deadline.
  bool rebalancing_ = false;
  std::chrono::steady_clock::time_point rebalancing_until_{};
  ChunkRef arena_;
  size_t arena_used_ = 0;
  Counter get_timer_ms_, commit_timer_ms_, empty_count_, commit_fail_, rebalances_;
  log::Throttle warn_;
};

}  // namespace ingestor
