#include "agent/sources/kafka_source.h"

#include <algorithm>
#include <cstring>

#include "core/flume_avro.h"

namespace ingestor {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const ComponentSpec& kafka_source_spec() {
  static const ComponentSpec spec{
      "source",
      "kafka",
      "org.apache.flume.source.kafka.KafkaSource",
      "Consumes Kafka topics in a consumer group (librdkafka); offsets commit after the channel "
      "commit, in the file channel's WAL when it stores positions.",
      {
          {"kafka.bootstrap.servers", KeyType::kString, std::nullopt, false,
           "Kafka brokers, host:port,... (required)"},
          {"kafka.topics", KeyType::kString, std::nullopt, false, "Comma-separated topics"},
          {"kafka.topics.regex", KeyType::kString, std::nullopt, false,
           "Java regex of topics (full match); wins over kafka.topics"},
          {"batchSize", KeyType::kInt, "1000", false, "Most events put in one transaction", 1},
          {"batchDurationMillis", KeyType::kLong, "1000", false, "Most ms spent filling a batch",
           1},
          {"backoffSleepIncrement", KeyType::kLong, "1000", false,
           "ms added to the wait after each failed poll in a row", 1},
          {"maxBackoffSleep", KeyType::kLong, "5000", false, "Longest wait after failed polls", 1},
          {"useFlumeEventFormat", KeyType::kBool, "false", false,
           "Record values are AvroFlumeEvent datums; their headers become event headers"},
          {"setTopicHeader", KeyType::kBool, "true", false, "Add the record's topic as a header"},
          {"topicHeader", KeyType::kString, "topic", false, "Name of that header"},
          {"header.*", KeyType::kPrefix, std::nullopt, false,
           "header.NAME = kname: copy Kafka record header kname into event header NAME"},
          {"kafka.consumer.*", KeyType::kPrefix, std::nullopt, false,
           "Consumer properties (Java names translated; group.id defaults to flume)"},
          {"timestampHeader", KeyType::kString, std::nullopt, false,
           "Documented by Flume but read by nothing: ignored, with a warning (the record "
           "timestamp always goes to header timestamp)"},
          {"migrateZookeeperOffsets", KeyType::kBool, "true", false,
           "Deprecated: ZooKeeper offsets are not migrated (warned when zookeeperConnect is set)"},
          {"topic", KeyType::kString, std::nullopt, false, "Deprecated (1.6): kafka.topics"},
          {"groupId", KeyType::kString, std::nullopt, false,
           "Deprecated (1.6): kafka.consumer.group.id"},
          {"zookeeperConnect", KeyType::kString, std::nullopt, false,
           "Deprecated (1.6): not used (no ZooKeeper lookup); give kafka.bootstrap.servers"},
      }};
  return spec;
}

Result<KafkaSourceOptions> kafka_source_options(const Settings& s,
                                                std::vector<std::string>* warnings) {
  KafkaSourceOptions o;
  auto warn = [&](std::string w) {
    if (warnings) warnings->push_back(std::move(w));
  };
  o.bootstrap = s.str("kafka.bootstrap.servers");
  if (s.has("zookeeperConnect"))
    warn(
        "zookeeperConnect is deprecated and not used: brokers are not looked up in ZooKeeper "
        "and ZooKeeper offsets are not migrated");
  if (o.bootstrap.empty())
    return make_error(Errc::kConfig,
                      "Bootstrap Servers must be specified (kafka.bootstrap.servers)");
  if (s.has("kafka.topics.regex") && !s.str("kafka.topics.regex").empty()) {
    auto re = kafka::java_regex_to_posix(s.str("kafka.topics.regex"));
    if (!re) return re.error();
    o.topics.push_back(*re);
  } else if (s.has("kafka.topics")) {
    std::string t = s.str("kafka.topics");
    size_t start = 0;
    while (start <= t.size()) {
      size_t c = t.find(',', start);
      std::string item = t.substr(start, c == std::string::npos ? std::string::npos : c - start);
      item.erase(0, item.find_first_not_of(" \t"));
      item.erase(item.find_last_not_of(" \t") + 1);
      if (!item.empty()) o.topics.push_back(item);
      if (c == std::string::npos) break;
      start = c + 1;
    }
  } else if (s.has("topic")) {
    o.topics.push_back(s.str("topic"));
    warn("topic is deprecated. Please use the parameter kafka.topics");
  }
  if (o.topics.empty())
    return make_error(Errc::kConfig, "At least one Kafka topic must be specified (kafka.topics)");
  if (s.has("timestampHeader"))
    warn(
        "timestampHeader is documented by Flume but read by nothing; ignored (the record "
        "timestamp is always in header timestamp)");
  o.batch_size = static_cast<size_t>(s.i64("batchSize"));
  o.batch_duration = std::chrono::milliseconds(s.i64("batchDurationMillis"));
  o.backoff.increment = std::chrono::milliseconds(s.i64("backoffSleepIncrement"));
  o.backoff.max = std::chrono::milliseconds(s.i64("maxBackoffSleep"));
  o.use_flume_event_format = s.boolean("useFlumeEventFormat");
  o.set_topic_header = s.boolean("setTopicHeader");
  o.topic_header = s.str("topicHeader");
  for (const auto& [name, kname] : s.sub("header.")) o.header_map.emplace_back(name, kname);

  std::vector<std::pair<std::string, std::string>> given;
  for (const auto& kv : s.sub("kafka.consumer.")) given.push_back(kv);
  auto c = kafka::consumer_properties(s, given, o.bootstrap, o.group_id, warn);
  if (!c) return c.error();
  o.consumer = std::move(*c);
  if (auto r = kafka::check_client(o.consumer, RD_KAFKA_CONSUMER); !r) return r.error();
  return o;
}

KafkaSource::KafkaSource(std::string name, std::shared_ptr<ChannelProcessor> processor,
                         KafkaSourceOptions o)
    : PollableSource(std::move(name), "kafka", std::move(processor), o.backoff),
      opts_(std::move(o)) {
  const ChannelSelector& sel = this->processor().selector();
  if (!sel.multiplexing && sel.required.size() == 1 && sel.required[0]->stores_positions())
    pos_channel_ = sel.required[0];
}

KafkaSource::~KafkaSource() {
  stop_runner();
  if (consumer_) consumer_->close();
}

Status KafkaSource::start() {
  if (auto r = kafka::check_bootstrap_resolves(opts_.bootstrap); !r)
    return make_error(Errc::kConfig, "kafka source " + name() + ": " + r.error().message);
  auto c = kafka::KafkaConsumer::create("kafka source " + name(), opts_.consumer, this);
  if (!c) return c.error();
  consumer_ = std::move(*c);
  if (auto s = consumer_->subscribe(opts_.topics); !s) return s.error();
  if (pos_channel_)
    log::info("kafka source {}: offsets commit with the events in channel {}", name(),
              pos_channel_->name());
  return PollableSource::start();
}

void KafkaSource::stop() {
  PollableSource::stop();
  if (!consumer_) return;
  // What the channel committed, committed to Kafka too (Flume commits nothing at stop); the
  // batch not in the channel is read again by whoever gets its partitions.
  if (auto s = consumer_->commit(channel_committed_); !s)
    log::warn("kafka source {}: {}", name(), s.error().message);
  channel_committed_.clear();
  consumer_->close();
}

Slice KafkaSource::copy_body(const void* data, size_t n) {
  constexpr size_t kChunk = 256 * 1024;
  if (!arena_ || arena_->capacity() - arena_used_ < n) {
    arena_ = ChunkRef::adopt(Chunk::make(std::max(kChunk, n)));
    arena_used_ = 0;
  }
  char* p = arena_->data() + arena_used_;
  if (n) std::memcpy(p, data, n);
  arena_used_ += n;
  return Slice(arena_, p, n);
}

void KafkaSource::add(const rd_kafka_message_t* m) {
  const char* topic = rd_kafka_topic_name(m->rkt);
  auto tp = std::make_pair(std::string(topic), m->partition);
  batch_first_.try_emplace(tp, m->offset);
  batch_next_[tp] = m->offset + 1;
  Slice value = copy_body(m->payload, m->len);
  Event e;
  if (opts_.use_flume_event_format) {
    auto d = decode_avro_flume_event(value);
    if (!d) {
      counters_.event_read_fail.add();
      if (warn_.allow())
        log::error("kafka source {}: record {} offset {} is not an AvroFlumeEvent ({}); dropped",
                   name(), log::escape(kafka::partition_key(topic, m->partition)), m->offset,
                   d.error().message);
      return;
    }
    e = std::move(*d);
  } else {
    e.body = std::move(value);
  }
  e.headers.reserve(e.headers.size() + 5 + opts_.header_map.size());
  rd_kafka_timestamp_type_t tstype;
  int64_t ts = rd_kafka_message_timestamp(m, &tstype);
  if (ts >= 0 && !e.headers.contains("timestamp")) e.headers.set("timestamp", std::to_string(ts));
  if (!opts_.header_map.empty()) {
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
      for (const auto& [flume_name, kname] : opts_.header_map) {
        const void* v = nullptr;
        size_t n = 0;
        if (rd_kafka_header_get_last(hdrs, kname.c_str(), &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            v)
          e.headers.set(flume_name, std::string(static_cast<const char*>(v), n));
      }
    }
  }
  if (opts_.set_topic_header) e.headers.set_if_absent(opts_.topic_header, topic);
  e.headers.set_if_absent("partition", std::to_string(m->partition));
  e.headers.set_if_absent("offset", std::to_string(m->offset));
  if (m->key) e.headers.set("key", std::string(static_cast<const char*>(m->key), m->key_len));
  batch_.push_back(std::move(e));
}

bool KafkaSource::put_batch() {
  const size_t n = batch_.size();
  if (pos_channel_ && !progress_.position) {
    PositionUpdate u;
    for (const auto& [tp, off] : batch_next_)
      u.emplace_back(kafka::partition_key(tp.first, tp.second), std::to_string(off));
    progress_.position.emplace(name(), std::move(u));
  }
  if (Status s = processor().process(batch_, progress_); !s) {
    counters_.channel_write_fail.add();
    if (warn_.allow())
      log::warn(
          "kafka source {}: channel refused a batch of {} events ({}); partitions paused "
          "until it fits",
          name(), n, log::escape(s.error().message));
    consumer_->pause_all();
    return false;
  }
  counters_.event_accepted.add(static_cast<int64_t>(n));
  counters_.append_batch_accepted.add();
  for (const auto& [tp, off] : batch_next_) channel_committed_[tp] = off;
  consumer_->set_positions(batch_next_);
  batch_.clear();
  batch_next_.clear();
  batch_first_.clear();
  progress_ = PutProgress{};
  const auto t0 = Clock::now();
  // With positions in the channel the Kafka commit is informational (other members, lag tools):
  // asynchronous. Otherwise it is the resume point: synchronous, as Flume.
  if (Status c = consumer_->commit(channel_committed_, pos_channel_ != nullptr); !c) {
    commit_fail_.add();
    if (warn_.allow()) log::warn("kafka source {}: {}", name(), c.error().message);
    if (consumer_->last_commit_error() == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS) {
      rebalancing_ = true;
      rebalancing_until_ = Clock::now() + std::chrono::seconds(30);
      consumer_->pause_all();
    }
  } else {
    channel_committed_.clear();
  }
  commit_timer_ms_.add(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
  return true;
}

void KafkaSource::discard_batch() {
  batch_.clear();
  batch_next_.clear();
  batch_first_.clear();
  progress_ = PutProgress{};  // an open put transaction rolls back
}

PollStatus KafkaSource::poll() {
  if (!consumer_) return PollStatus::kBackoff;
  if (!batch_.empty()) {
    // The channel refused this batch: stay in the group (poll with partitions paused), retry.
    idle_poll(0);
    if (batch_.empty()) return PollStatus::kReady;  // a revocation discarded it
    if (!put_batch()) return PollStatus::kRetry;
    consumer_->resume_all();
    return PollStatus::kReady;
  }
  if (rebalancing_) {
    if (Clock::now() < rebalancing_until_) {
      idle_poll(100);  // the revocation comes inside
      if (rebalancing_) return PollStatus::kReady;
    }
    rebalancing_ = false;
  }
  consumer_->resume_all();
  const size_t max = std::min(opts_.batch_size, std::max<size_t>(processor().max_batch(), 1));
  const auto start = Clock::now();
  const auto deadline = start + opts_.batch_duration;
  size_t received = 0;
  while (batch_.size() < max && !stopping()) {
    auto now = Clock::now();
    if (now >= deadline) break;
    // The first record may take the whole batch time; after that, a short wait ends the batch
    // when the fetched records are used up (Flume: the first empty poll).
    auto wait = received == 0 ? std::min<Clock::duration>(deadline - now, 100ms)
                              : std::min<Clock::duration>(deadline - now, 5ms);
    auto m = consumer_->poll(
        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()));
    if (!m) {
      if (received > 0) break;
      continue;
    }
    if (m->err) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      counters_.event_read_fail.add();
      if (warn_.allow())
        log::warn("kafka source {}: {}", name(), log::escape(rd_kafka_message_errstr(m.get())));
      continue;
    }
    ++received;
    add(m.get());
  }
  if (received == 0) {
    empty_count_.add();
    return PollStatus::kReady;  // the wait happened inside poll
  }
  get_timer_ms_.add(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
  counters_.event_received.add(static_cast<int64_t>(batch_.size()));
  counters_.append_batch_received.add();
  if (batch_.empty()) {  // every record was dropped (undecodable): commit past them
    for (const auto& [tp, off] : batch_next_) channel_committed_[tp] = off;
    batch_next_.clear();
    batch_first_.clear();
    if (Status c = consumer_->commit(channel_committed_); c) channel_committed_.clear();
    return PollStatus::kReady;
  }
  return put_batch() ? PollStatus::kReady : PollStatus::kRetry;
}

void KafkaSource::idle_poll(int timeout_ms) {
  kafka::OffsetMap reread;  // records fetched before the pause took effect: read them later
  for (auto m = consumer_->poll(timeout_ms); m; m = consumer_->poll(0))
    if (!m->err) reread.try_emplace({rd_kafka_topic_name(m->rkt), m->partition}, m->offset);
  for (const auto& [tp, off] : reread) consumer_->seek(tp.first, tp.second, off);
}

void KafkaSource::on_assign(rd_kafka_topic_partition_list_t* parts) {
  rebalances_.add();
  rebalancing_ = false;
  if (!pos_channel_) return;  // the group's committed offsets
  auto positions = pos_channel_->committed_positions(name());
  if (!positions) return;
  kafka::PartitionListPtr committed(rd_kafka_topic_partition_list_copy(parts));
  bool have_committed = static_cast<bool>(consumer_->committed(committed.get(), 10000));
  for (int i = 0; i < parts->cnt; ++i) {
    auto& el = parts->elems[i];
    auto it = positions->find(kafka::partition_key(el.topic, el.partition));
    if (it == positions->end()) continue;
    int64_t off = -1;
    bool overflow = false;
    if (!parse_java_integer(it->second, off, overflow) || overflow || off < 0) continue;
    // Another member may have moved the partition on since this channel's last commit of it.
    int64_t group = have_committed ? committed->elems[i].offset : RD_KAFKA_OFFSET_INVALID;
    el.offset = std::max(off, group);
  }
}

void KafkaSource::on_revoke(const rd_kafka_topic_partition_list_t* parts) {
  rebalances_.add();
  rebalancing_ = false;
  if (!batch_.empty() || !batch_next_.empty()) {
    // Not in the channel: the next owner of the revoked partitions reads them again; this
    // consumer re-reads its remaining partitions from the batch's first offsets.
    for (const auto& [tp, first] : batch_first_) {
      bool revoked = false;
      for (int i = 0; i < parts->cnt && !revoked; ++i)
        revoked = parts->elems[i].partition == tp.second && tp.first == parts->elems[i].topic;
      if (!revoked) consumer_->seek(tp.first, tp.second, first);
    }
    discard_batch();
  }
  kafka::OffsetMap mine;
  for (int i = 0; i < parts->cnt; ++i) {
    auto it = channel_committed_.find({parts->elems[i].topic, parts->elems[i].partition});
    if (it != channel_committed_.end()) {
      mine.insert(*it);
      channel_committed_.erase(it);
    }
  }
  if (Status s = consumer_->commit(mine); !s) {
    commit_fail_.add();
    log::warn(
        "kafka source {}: commit before giving partitions up failed ({}): their next owner "
        "may read up to one batch again",
        name(), s.error().message);
  }
}

void KafkaSource::collect_metrics(MetricList& out) const {
  counters_.collect(out);
  out.emplace_back("KafkaEventGetTimer", std::to_string(get_timer_ms_.get()));
  out.emplace_back("KafkaCommitTimer", std::to_string(commit_timer_ms_.get()));
  out.emplace_back("KafkaEmptyCount", std::to_string(empty_count_.get()));
  out.emplace_back("KafkaCommitFailCount", std::to_string(commit_fail_.get()));
  out.emplace_back("KafkaRebalanceCount", std::to_string(rebalances_.get()));
  if (consumer_) {
    int64_t total = 0;
    for (const auto& [tp, lag] : consumer_->lag()) {
      out.emplace_back("KafkaConsumerLag." + tp, std::to_string(lag));
      if (lag > 0) total += lag;
    }
    out.emplace_back("KafkaConsumerLag", std::to_string(total));
  }
}

}  // namespace ingestor
