#pragma once
// KafkaConsumer: the group consumer the Kafka source and the Kafka channel's take side share:
// subscription (a topic list, or a Java regex translated for librdkafka), the rebalance callback
// handed to the owner (so it commits what its channel committed before partitions go away, and
// chooses start offsets on assignment), synchronous commits of explicit offsets, pausing and
// resuming every assigned partition (a full channel pauses instead of not polling, so the consumer
// keeps its place in the group), and per-partition lag from librdkafka's cached watermarks.
//
// Thread-safety: poll(), commit(), pause/resume and the callbacks run on the owner's one polling
// thread; lag() may be called from any thread.

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/kafka/kafka_client.h"
#include "core/config/spec.h"

namespace ingestor::kafka {

// The consumer properties a Kafka source and the Kafka channel share: `given` (the keys under
// kafka.consumer., prefix removed) translated for librdkafka; `group_id` from
// kafka.consumer.group.id, else Flume 1.6's groupId (with a warning), else left as it is; the Java
// client's defaults where librdkafka's differ (kafka.md §2 rows 24, 32); and what Flume forces
// (bootstrap.servers, group.id, no automatic commit or offset store). Warnings go to `warn`.
[[nodiscard]] Result<std::vector<ClientProperty>> consumer_properties(
    const Settings& s, const std::vector<std::pair<std::string, std::string>>& given,
    const std::string& bootstrap, std::string& group_id,
    const std::function<void(std::string)>& warn);

// Topic-partition -> next offset to read (Kafka's committed-offset meaning: last read + 1).
using OffsetMap = std::map<std::pair<std::string, int32_t>, int64_t>;

class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // Partitions are assigned: set each element's offset to where reading starts, or leave
  // RD_KAFKA_OFFSET_INVALID to start from the group's committed offset (auto.offset.reset if none).
  virtual void on_assign(rd_kafka_topic_partition_list_t* parts) = 0;
  // These partitions are about to be taken away: forget in-flight work of theirs, commit what is
  // safely delivered (KafkaConsumer::commit works here).
  virtual void on_revoke(const rd_kafka_topic_partition_list_t* parts) = 0;
};

struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

class KafkaConsumer {
 public:
  // `props` complete (group.id, bootstrap.servers, enable.auto.commit=false set by the caller).
  [[nodiscard]] static Result<std::unique_ptr<KafkaConsumer>> create(
      std::string component, const std::vector<ClientProperty>& props, RebalanceListener* listener);
  ~KafkaConsumer();

  // `topics` (names) or, when `regex` is set, the one librdkafka pattern (starting with '^').
  [[nodiscard]] Status subscribe(const std::vector<std::string>& topics);

  // One message, an error event, or null after `timeout_ms`. Rebalance callbacks run inside.
  MessagePtr poll(int timeout_ms);

  // Commits `offsets` (synchronously unless `async`). last_commit_error() keeps the code of the
  // last failed synchronous commit (REBALANCE_IN_PROGRESS while the group rebalances).
  [[nodiscard]] Status commit(const OffsetMap& offsets, bool async = false);
  rd_kafka_resp_err_t last_commit_error() const { return last_commit_err_; }
  // The group's committed offsets for `parts` (elements' offsets set; INVALID when none).
  [[nodiscard]] Status committed(rd_kafka_topic_partition_list_t* parts, int timeout_ms);

  // Pauses / resumes every assigned partition (no fetching; the group membership stays).
  void pause_all();
  void resume_all();
  bool paused() const { return paused_; }
  // Re-reads from `offset` (a record polled while paused, or dropped with an in-flight batch).
  void seek(const std::string& topic, int32_t partition, int64_t offset);

  // Per assigned partition: high watermark - next offset to read (-1 when unknown yet).
  std::vector<std::pair<std::string, int64_t>> lag() const;
  // Records where reading is for lag(): called by the owner after each batch.
  void set_positions(const OffsetMap& next);

  // Leaves the group (no commit) and closes.
  void close();
  rd_kafka_t* handle() { return rk_.get(); }
  const std::string& component() const { return component_; }

 private:
  explicit KafkaConsumer(std::string component) : component_(std::move(component)) {}
  static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* parts, void* opaque);
  void on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);

  std::string component_;
  RebalanceListener* listener_ = nullptr;
  HandlePtr rk_;
  bool closed_ = false;
  rd_kafka_resp_err_t last_commit_err_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  bool paused_ = false;
  mutable std::mutex mu_;
  OffsetMap assigned_;  // assigned partitions -> next offset read (-1: nothing read yet)
};

// kafka.topics.regex (a Java Pattern, full match) -> a librdkafka subscription pattern (POSIX
// extended, must start with '^'): "^(" + translated + ")$", with \d \w \s (and \D \W \S) written
// as bracket classes and lazy quantifiers made greedy (same full-match result). Java-only syntax
// with no POSIX equivalent ((?i), (?:, lookaround, \p{..}, \Q..\E, back references, possessive
// quantifiers) is refused with a message naming it.
[[nodiscard]] Result<std::string> java_regex_to_posix(std::string_view java);

}  // namespace ingestor::kafka
