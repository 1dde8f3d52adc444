#pragma once
// KafkaProducer: what the Kafka sink and the Kafka channel's put commit share: a librdkafka
// producer that sends a batch of records and waits for the delivery report of every one of them
// (Java's send() + flush() + future.get(), with a deadline), so the caller commits its transaction
// only when Kafka acknowledged everything, and re-sends only the records that failed.
//
// Records are not copied: topic, key, value and header bytes must stay valid until send() returns
// (send() never returns while librdkafka still holds one of them: it waits for every report, which
// librdkafka delivers within message.timeout.ms, or purges them when the producer is stopping).
// Memory: librdkafka's queue (queue.buffering.max.kbytes/.messages) plus the caller's batch.
// Thread-safety: send() from one thread at a time; request_stop() from any thread.

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/kafka/kafka_client.h"

namespace ingestor::kafka {

struct OutRecord {
  std::string_view topic;
  int32_t partition = RD_KAFKA_PARTITION_UA;  // UA: the partitioner chooses (by key)
  std::optional<std::string_view> key;
  std::string_view value;
  int64_t timestamp_ms = 0;  // 0: the producer's clock (CreateTime)
  // Header names must view NUL-terminated strings (std::string), as `topic`: librdkafka reads
  // them as C strings.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  // Set by send(): NO_ERROR once Kafka acknowledged the record; anything else: not (yet) delivered.
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__IN_PROGRESS;
  bool delivered() const { return err == RD_KAFKA_RESP_ERR_NO_ERROR; }
};

class KafkaProducer {
 public:
  // `props` are complete (translated, defaults and forced values applied). `component` names the
  // owner in log lines ("kafka sink k1").
  [[nodiscard]] static Result<std::unique_ptr<KafkaProducer>> create(
      std::string component, const std::vector<ClientProperty>& props);
  ~KafkaProducer();

  // Sends every record of `recs` that is not delivered yet and waits for their reports. Returns
  // how many of `recs` are still not delivered (their `err` says why). Never leaves a record
  // inside librdkafka.
  size_t send(std::span<OutRecord> recs) {
    produce(recs);
    return wait(recs, true);
  }

  // The two halves of send(), for a caller that keeps several batches in flight: produce()
  // enqueues every record not delivered yet (an immediate failure is set in its `err`); wait()
  // serves delivery reports until none of `recs` is in flight (`flush`: make lingering records go
  // at once, else they leave after linger.ms while the caller prepares its next batch) and
  // returns how many are not delivered. Every produced record must be waited for before its bytes
  // go away.
  void produce(std::span<OutRecord> recs);
  size_t wait(std::span<OutRecord> recs, bool flush);

  // Makes a send() in progress give up at once (its records purged, reported as not delivered).
  void request_stop();
  // librdkafka's name of an error, for messages.
  static const char* err_name(rd_kafka_resp_err_t e) { return rd_kafka_err2str(e); }
  rd_kafka_t* handle() { return rk_.get(); }

 private:
  explicit KafkaProducer(std::string component) : component_(std::move(component)) {}
  std::string component_;  // the handle's log context (kept by pointer)
  HandlePtr rk_;
  std::atomic<bool> stopping_{false};
};

// Producer defaults every component applies before the user's kafka.producer.* keys win:
// the idempotent producer (librdkafka then requires acks=all; a user's acks=0/1 turns idempotence
// off, with a warning in `warnings`), the Java client's key partitioner (murmur2_random, so keyed
// records land in the partitions Flume's would) and a 30 s delivery timeout (Java: 120 s; the
// sink's runner backs off and retries after it).
void apply_producer_defaults(std::vector<ClientProperty>& props, std::vector<std::string>* warnings,
                             std::string_view acks_default);

}  // namespace ingestor::kafka
