#include "agent/sinks/kafka_sink.h"

#include <chrono>

#include "core/flume_avro.h"

namespace ingestor {

const ComponentSpec& kafka_sink_spec() {
  static const ComponentSpec spec{
      "sink",
      "kafka",
      "org.apache.flume.sink.kafka.KafkaSink",
      "Produces each event as a Kafka record (librdkafka); commits the take after every record "
      "of the batch is acknowledged.",
      {
          {"kafka.bootstrap.servers", KeyType::kString, std::nullopt, false,
           "Kafka brokers, host:port,... (required, or the 1.6 key brokerList)"},
          {"kafka.topic", KeyType::kString, "default-flume-topic", false,
           "Target topic; may hold %{header} and time escapes"},
          {"flumeBatchSize", KeyType::kInt, "100", false, "Events taken per transaction", 1},
          {"allowTopicOverride", KeyType::kBool, "true", false,
           "Let the topicHeader header choose the topic"},
          {"topicHeader", KeyType::kString, "topic", false, "Header naming the target topic"},
          {"defaultPartitionId", KeyType::kInt, std::nullopt, false,
           "Partition of every record (default: the key's murmur2 hash, as the Java client)", 0},
          {"partitionIdHeader", KeyType::kString, std::nullopt, false,
           "Header whose integer value is the partition (wins over defaultPartitionId)"},
          {"timestampHeader", KeyType::kString, std::nullopt, false,
           "Header holding the record timestamp, epoch ms (default: the producer's clock)"},
          {"useFlumeEventFormat", KeyType::kBool, "false", false,
           "Record value = the event (headers and body) as an AvroFlumeEvent datum"},
          {"header.*", KeyType::kPrefix, std::nullopt, false,
           "header.NAME = kname: copy Flume header NAME into Kafka record header kname"},
          {"kafka.producer.*", KeyType::kPrefix, std::nullopt, false,
           "Producer properties (Java names translated to librdkafka's)"},
          {"kafka.flumeBatchSize", KeyType::kInt, std::nullopt, false,
           "The user guide's spelling of flumeBatchSize (Flume ignores it; accepted, warned)", 1},
          {"brokerList", KeyType::kString, std::nullopt, false,
           "Deprecated (1.6): kafka.bootstrap.servers"},
          {"topic", KeyType::kString, std::nullopt, false, "Deprecated (1.6): kafka.topic"},
          {"batchSize", KeyType::kInt, std::nullopt, false, "Deprecated (1.6): flumeBatchSize", 1},
          {"requiredAcks", KeyType::kString, std::nullopt, false,
           "Deprecated (1.6): kafka.producer.acks"},
          {"serializer.class", KeyType::kString, std::nullopt, false, "Deprecated (1.6): ignored"},
          {"key.serializer.class", KeyType::kString, std::nullopt, false,
           "Deprecated (1.6): ignored"},
      }};
  return spec;
}

Result<KafkaSinkOptions> kafka_sink_options(const Settings& s, std::vector<std::string>* warnings) {
  KafkaSinkOptions o;
  auto warn = [&](std::string w) {
    if (warnings) warnings->push_back(std::move(w));
  };
  // Flume 1.6 keys (KafkaSink.translateOldProps), each only when the new key is absent.
  o.bootstrap = s.str("kafka.bootstrap.servers");
  if (!s.has("kafka.bootstrap.servers") && s.has("brokerList")) {
    o.bootstrap = s.str("brokerList");
    warn("brokerList is deprecated. Please use the parameter kafka.bootstrap.servers");
  }
  if (o.bootstrap.empty())
    return make_error(Errc::kConfig,
                      "Bootstrap Servers must be specified (kafka.bootstrap.servers)");
  if (s.has("kafka.topic")) {
    o.topic = s.str("kafka.topic");
  } else if (s.has("topic")) {
    o.topic = s.str("topic");
    warn("topic is deprecated. Please use the parameter kafka.topic");
  } else {
    warn("Topic was not specified. Using default-flume-topic as the topic.");
  }
  o.batch_size = static_cast<size_t>(s.i64("flumeBatchSize"));
  if (!s.has("flumeBatchSize") && s.has("kafka.flumeBatchSize")) {
    o.batch_size = static_cast<size_t>(s.i64("kafka.flumeBatchSize"));
    warn(
        "kafka.flumeBatchSize is the user guide's spelling, which Flume ignores; "
        "used here as flumeBatchSize");
  } else if (!s.has("flumeBatchSize") && s.has("batchSize")) {
    o.batch_size = static_cast<size_t>(s.i64("batchSize"));
    warn("batchSize is deprecated. Please use the parameter flumeBatchSize");
  }
  for (const char* k : {"serializer.class", "key.serializer.class"})
    if (s.has(k))
      warn(std::string(k) +
           " is deprecated. Flume now uses the latest Kafka producer which "
           "implements a different interface for serializers; ignored");
  o.allow_topic_override = s.boolean("allowTopicOverride");
  o.topic_header = s.str("topicHeader");
  if (s.has("defaultPartitionId"))
    o.default_partition = static_cast<int32_t>(s.i64("defaultPartitionId"));
  o.partition_id_header = s.str("partitionIdHeader");
  o.timestamp_header = s.str("timestampHeader");
  o.use_flume_event_format = s.boolean("useFlumeEventFormat");
  for (const auto& [name, kname] : s.sub("header.")) o.kafka_headers.emplace_back(name, kname);

  std::vector<std::pair<std::string, std::string>> given;
  for (const auto& kv : s.sub("kafka.producer.")) given.push_back(kv);
  if (!s.has("kafka.producer.acks") && s.has("requiredAcks")) {
    given.emplace_back("acks", s.str("requiredAcks"));
    warn("requiredAcks is deprecated. Please use the parameter kafka.producer.acks");
  }
  auto t = kafka::translate_java_properties(given, kafka::ClientRole::kProducer, "kafka.producer.");
  if (!t) return t.error();
  for (auto& w : t->warnings) warn(std::move(w));
  o.producer = std::move(t->props);
  kafka::apply_producer_defaults(o.producer, warnings, "1");
  kafka::force(o.producer, "bootstrap.servers", o.bootstrap);
  if (auto c = kafka::check_client(o.producer, RD_KAFKA_PRODUCER); !c) return c.error();
  if (auto b = BucketPath::compile(o.topic); !b) return b.error();
  return o;
}

KafkaSink::KafkaSink(std::string name, KafkaSinkOptions o, BucketPath topic)
    : Sink(std::move(name), "kafka"), opts_(std::move(o)), topic_(std::move(topic)) {}

Result<std::unique_ptr<KafkaSink>> KafkaSink::create(std::string name, KafkaSinkOptions o) {
  auto topic = BucketPath::compile(o.topic);
  if (!topic) return topic.error();
  return std::unique_ptr<KafkaSink>(
      new KafkaSink(std::move(name), std::move(o), std::move(*topic)));
}

KafkaSink::~KafkaSink() { stop(); }

Status KafkaSink::start() {
  if (auto r = kafka::check_bootstrap_resolves(opts_.bootstrap); !r)
    return make_error(Errc::kConfig, "kafka sink " + name() + ": " + r.error().message);
  auto p = kafka::KafkaProducer::create("kafka sink " + name(), opts_.producer);
  if (!p) return p.error();
  producer_ = std::move(*p);
  counters_.started();
  return {};
}

void KafkaSink::stop() {
  if (!producer_) return;
  producer_->request_stop();
  // Newest first, so the events go back to the head of the channel in their order.
  while (!in_flight_.empty()) {
    InFlight& b = in_flight_.back();
    producer_->wait(b.recs, true);  // purged: returns at once
    size_t acked = 0;
    for (auto& r : b.recs) acked += r.delivered();
    rollbacks_.add();
    log::warn(
        "kafka sink {}: stopping with a batch of {} events not fully acknowledged; rolled "
        "back ({} of them already in Kafka will be sent again)",
        name(), b.recs.size(), acked);
    b.tx.rollback();
    in_flight_.pop_back();
  }
  producer_.reset();
  counters_.stopped();
}

Status KafkaSink::build_records(InFlight& b) {
  const Batch& events = b.tx.taken();
  std::vector<kafka::OutRecord>& recs_ = b.recs;
  std::vector<std::string>& topics_ = b.topics;
  std::vector<std::string>& values_ = b.values;
  recs_.resize(events.size());
  topics_.reserve(events.size());  // the records point into these: no reallocation below
  values_.reserve(opts_.use_flume_event_format ? events.size() : 0);
  const int64_t now = now_epoch_ms();
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    kafka::OutRecord& r = recs_[i];
    const std::string* override_topic =
        opts_.allow_topic_override ? e.headers.find(opts_.topic_header) : nullptr;
    if (override_topic) {
      topics_.push_back(*override_topic);
    } else if (opts_.allow_topic_override && !topic_.is_constant()) {
      auto t = topic_.expand(e.headers, now, TimeOptions{});
      if (!t) return make_error(Errc::kInvalidArgument, "kafka.topic: " + t.error().message);
      topics_.push_back(std::move(*t));
    } else {
      topics_.push_back(opts_.topic);  // as is, without escaping (Flume, allowTopicOverride=false)
    }
    r.topic = topics_.back();
    if (const std::string* k = e.headers.find("key")) r.key = *k;
    const std::string* ph =
        opts_.partition_id_header.empty() ? nullptr : e.headers.find(opts_.partition_id_header);
    if (ph) {
      int64_t p = 0;
      bool overflow = false;
      if (!parse_java_integer(*ph, p, overflow) || overflow || p < 0 || p > INT32_MAX)
        return make_error(Errc::kInvalidArgument, "Non integer partition id specified in header " +
                                                      opts_.partition_id_header + ": " +
                                                      log::escape(*ph));
      r.partition = static_cast<int32_t>(p);
    } else if (opts_.default_partition) {
      r.partition = *opts_.default_partition;
    }
    if (!opts_.timestamp_header.empty()) {
      if (const std::string* ts = e.headers.find(opts_.timestamp_header)) {
        int64_t v = 0;
        bool overflow = false;
        if (parse_java_integer(*ts, v, overflow) && !overflow && v > 0) {
          r.timestamp_ms = v;
        } else if (warn_.allow()) {
          log::warn("kafka sink {}: Invalid timestamp in header {} - {}", name(),
                    opts_.timestamp_header, log::escape(*ts));
        }
      }
    }
    for (const auto& [flume_name, kname] : opts_.kafka_headers)
      if (const std::string* v = e.headers.find(flume_name)) r.headers.emplace_back(kname, *v);
    if (opts_.use_flume_event_format) {
      values_.emplace_back();
      encode_avro_flume_event(e, values_.back());
      r.value = values_.back();
    } else {
      r.value = e.body.view();
    }
  }
  return {};
}

bool KafkaSink::start_batch(Status& err) {
  InFlight b;
  b.tx = channel_->begin();
  auto n = b.tx.take(opts_.batch_size);
  if (!n) {
    counters_.channel_read_fail.add();
    b.tx.rollback();
    err = n.error();
    return false;
  }
  const Batch& events = b.tx.taken();
  if (events.empty()) {
    if (auto c = b.tx.commit(); !c) err = c.error();
    return false;
  }
  if (events.size() < opts_.batch_size)
    counters_.batch_underflow.add();
  else
    counters_.batch_complete.add();
  counters_.event_drain_attempt.add(static_cast<int64_t>(events.size()));
  if (Status s = build_records(b); !s) {
    // Flume: EventDeliveryException, rollback; the same batch comes back (a poison event
    // blocks the sink, as in Flume; the message names it).
    counters_.event_write_fail.add();
    rollbacks_.add();
    b.tx.rollback();
    err = s.error();
    return false;
  }
  producer_->produce(b.recs);
  in_flight_.push_back(std::move(b));
  return true;
}

Result<SinkStatus> KafkaSink::process() {
  const bool failing = !in_flight_.empty() && in_flight_.front().failed;
  if (failing) {
    InFlight& f = in_flight_.front();
    size_t todo = 0;
    for (auto& r : f.recs) todo += !r.delivered();
    resent_.add(static_cast<int64_t>(todo));
    producer_->produce(f.recs);  // only the records not delivered
    f.failed = false;
  } else if (in_flight_.size() < kDepth) {
    Status err;
    if (!start_batch(err) && in_flight_.empty()) {
      if (!err) return err.error();  // a failed take or a batch that cannot be mapped
      counters_.batch_empty.add();
      return SinkStatus::kBackoff;
    }
    // (With a batch already in flight, a failed start is retried at the next call.)
  }
  InFlight& f = in_flight_.front();
  const auto t0 = std::chrono::steady_clock::now();
  // Nothing behind it to overlap with: make it go at once instead of after linger.ms.
  const size_t failed = producer_->wait(f.recs, /*flush=*/in_flight_.size() == 1);
  send_timer_ms_.add(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count());
  if (failed > 0) {
    // The transaction stays open: the next call re-sends only these.
    f.failed = true;
    counters_.event_write_fail.add();
    rd_kafka_resp_err_t first = RD_KAFKA_RESP_ERR_NO_ERROR;
    std::string_view topic;
    for (auto& r : f.recs)
      if (!r.delivered()) {
        first = r.err;
        topic = r.topic;
        break;
      }
    return make_error(Errc::kUnavailable,
                      std::to_string(failed) + " of " + std::to_string(f.recs.size()) +
                          " records not acknowledged by Kafka (topic " + log::escape(topic) + ": " +
                          kafka::KafkaProducer::err_name(first) +
                          "); only those will be sent again");
  }
  if (auto c = f.tx.commit(); !c) return c.error();
  counters_.event_drain_success.add(static_cast<int64_t>(f.recs.size()));
  in_flight_.pop_front();
  return SinkStatus::kReady;
}

void KafkaSink::collect_metrics(MetricList& out) const {
  counters_.collect(out);
  out.emplace_back("KafkaEventSendTimer", std::to_string(send_timer_ms_.get()));
  out.emplace_back("RollbackCount", std::to_string(rollbacks_.get()));
  out.emplace_back("EventResendCount", std::to_string(resent_.get()));
}

}  // namespace ingestor
