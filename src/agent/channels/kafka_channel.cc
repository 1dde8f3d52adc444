#include "agent/channels/kafka_channel.h"

#include <algorithm>

#include "core/flume_avro.h"

namespace ingestor {

using Clock = std::chrono::steady_clock;

namespace {
int64_t ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}
}  // namespace

class KafkaChannel::KafkaTransaction final : public Transaction {
 public:
  explicit KafkaTransaction(KafkaChannel& ch) : ch_(ch) {}
  ~KafkaTransaction() override = default;

  Status put(Batch& events) override {
    // Flume: a partition header that is not an integer fails the put.
    if (!ch_.opts_.partition_id_header.empty()) {
      for (const Event& e : events) {
        if (const std::string* p = e.headers.find(ch_.opts_.partition_id_header)) {
          int64_t v = 0;
          bool overflow = false;
          if (!parse_java_integer(*p, v, overflow) || overflow || v < 0 || v > INT32_MAX)
            return make_error(Errc::kInvalidArgument,
                              "Non integer partition id specified in header " +
                                  ch_.opts_.partition_id_header + ": " + log::escape(*p));
        }
      }
    }
    ch_.counters_.event_put_attempt.add(static_cast<int64_t>(events.size()));
    for (Event& e : events) puts_.push_back(std::move(e));
    events.clear();
    recs_.clear();  // rebuilt at commit
    return {};
  }

  Result<size_t> take(size_t max) override {
    std::lock_guard<std::mutex> lk(ch_.cmu_);
    if (auto s = ch_.ensure_consumer(); !s) return s.error();
    if (ch_.ready_.size() < max) ch_.fill(max - ch_.ready_.size(), std::chrono::milliseconds(0));
    size_t n = 0;
    while (n < max && !ch_.ready_.empty()) {
      Taken& t = ch_.ready_.front();
      taken_.push_back(std::move(t.event));
      meta_.push_back({Event(), std::move(t.topic), t.partition, t.offset});
      ch_.ready_.pop_front();
      ++n;
    }
    ch_.counters_.event_take_attempt.add(static_cast<int64_t>(n));
    return n;
  }

  const Batch& taken() const override { return taken_; }

  Status commit() override {
    if (!puts_.empty()) {
      if (recs_.empty()) build_records();
      const auto t0 = Clock::now();
      size_t failed = ch_.send(recs_);
      ch_.send_timer_ms_.add(ms_since(t0));
      if (failed > 0) {
        rd_kafka_resp_err_t first = RD_KAFKA_RESP_ERR_NO_ERROR;
        for (auto& r : recs_)
          if (!r.delivered()) {
            first = r.err;
            break;
          }
        return make_error(Errc::kUnavailable,
                          "Commit failed as send to Kafka failed: " + std::to_string(failed) +
                              " of " + std::to_string(recs_.size()) + " records (" +
                              kafka::KafkaProducer::err_name(first) +
                              "); a retried commit sends only those");
      }
      ch_.counters_.event_put_success.add(static_cast<int64_t>(puts_.size()));
      puts_.clear();
      recs_.clear();
      values_.clear();
    }
    if (!meta_.empty()) {
      kafka::OffsetMap next;
      for (const Taken& t : meta_) {
        int64_t& o = next[{t.topic, t.partition}];
        o = std::max(o, t.offset + 1);
      }
      ch_.commit_offsets(next);
      ch_.counters_.event_take_success.add(static_cast<int64_t>(meta_.size()));
      meta_.clear();
      taken_.clear();
    }
    return {};
  }

  void rollback(Batch* puts_out) override {
    if (puts_out)
      for (Event& e : puts_) puts_out->push_back(std::move(e));
    puts_.clear();
    if (!meta_.empty()) {
      ch_.rollbacks_.add(static_cast<int64_t>(meta_.size()));
      std::lock_guard<std::mutex> lk(ch_.cmu_);
      for (size_t i = meta_.size(); i-- > 0;) {
        meta_[i].event = std::move(taken_[i]);
        ch_.ready_.push_front(std::move(meta_[i]));
      }
      meta_.clear();
      taken_.clear();
    }
  }

 private:
  void build_records() {
    const KafkaChannelOptions& o = ch_.opts_;
    recs_.assign(puts_.size(), kafka::OutRecord{});
    values_.clear();
    values_.reserve(o.parse_as_flume_event ? puts_.size() : 0);
    for (size_t i = 0; i < puts_.size(); ++i) {
      const Event& e = puts_[i];
      kafka::OutRecord& r = recs_[i];
      r.topic = o.topic;
      if (const std::string* k = e.headers.find("key")) r.key = *k;
      const std::string* p =
          o.partition_id_header.empty() ? nullptr : e.headers.find(o.partition_id_header);
      int64_t v = 0;
      bool overflow = false;
      if (p && parse_java_integer(*p, v, overflow))
        r.partition = static_cast<int32_t>(v);
      else if (o.default_partition)
        r.partition = *o.default_partition;
      if (o.parse_as_flume_event) {
        values_.emplace_back();
        encode_avro_flume_event(e, values_.back());
        r.value = values_.back();
      } else {
        r.value = e.body.view();
      }
    }
  }

  KafkaChannel& ch_;
  Batch puts_;
  std::vector<kafka::OutRecord> recs_;
  std::vector<std::string> values_;
  Batch taken_;
  std::vector<Taken> meta_;  // topic/partition/offset of taken_ (same order)
};

KafkaChannel::KafkaChannel(std::string name, KafkaChannelOptions o)
    : Channel(std::move(name), "kafka"), opts_(std::move(o)) {}

KafkaChannel::~KafkaChannel() { stop(); }

Status KafkaChannel::start() {
  if (auto r = kafka::check_bootstrap_resolves(opts_.bootstrap); !r)
    return make_error(Errc::kConfig, "kafka channel " + name() + ": " + r.error().message);
  auto p = kafka::KafkaProducer::create("kafka channel " + name(), opts_.producer);
  if (!p) return p.error();
  producer_ = std::move(*p);
  counters_.started();
  return {};
}

void KafkaChannel::stop() {
  {
    std::lock_guard<std::mutex> lk(cmu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (producer_) producer_->request_stop();
  std::lock_guard<std::mutex> plk(pmu_);
  std::lock_guard<std::mutex> lk(cmu_);
  if (consumer_) {
    // Offsets of takes whose commit succeeded but whose Kafka commit failed: committed now.
    if (!uncommitted_.empty()) (void)consumer_->commit(uncommitted_);
    consumer_->close();
  }
  producer_.reset();
  counters_.stopped();
}

Tx KafkaChannel::begin() { return Tx(std::make_unique<KafkaTransaction>(*this)); }

Status KafkaChannel::ensure_consumer() {
  if (consumer_) return {};
  if (stopping_)
    return make_error(Errc::kChannelClosed, "kafka channel " + name() + " is stopping");
  auto c = kafka::KafkaConsumer::create("kafka channel " + name(), opts_.consumer, this);
  if (!c) return c.error();
  if (auto s = (*c)->subscribe({opts_.topic}); !s) return s.error();
  consumer_ = std::move(*c);
  return {};
}

void KafkaChannel::fill(size_t max, std::chrono::milliseconds wait) {
  const auto t0 = Clock::now();
  int timeout = static_cast<int>(wait.count());
  size_t got = 0;
  while (got < max) {
    auto m = consumer_->poll(timeout);
    timeout = 0;
    if (!m) break;
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && warn_.allow())
        log::warn("kafka channel {}: {}", name(), log::escape(rd_kafka_message_errstr(m.get())));
      continue;
    }
    Taken t;
    t.topic = rd_kafka_topic_name(m->rkt);
    t.partition = m->partition;
    t.offset = m->offset;
    std::string_view value(static_cast<const char*>(m->payload), m->len);
    if (opts_.parse_as_flume_event) {
      auto e = decode_avro_flume_event(Slice::copy_of(value));
      if (!e) {
        dropped_.add();
        if (warn_.allow())
          log::error(
              "kafka channel {}: record {} offset {} is not an AvroFlumeEvent ({}); "
              "skipped (is parseAsFlumeEvent right for this topic?)",
              name(), log::escape(kafka::partition_key(t.topic, t.partition)), t.offset,
              e.error().message);
        continue;
      }
      t.event = std::move(*e);
    } else {
      t.event.body = Slice::copy_of(value);
    }
    if (m->key)
      t.event.headers.set("key", std::string(static_cast<const char*>(m->key), m->key_len));
    ready_.push_back(std::move(t));
    ++got;
  }
  if (got) {
    get_timer_ms_.add(ms_since(t0));
    kafka::OffsetMap pos;
    for (const Taken& t : ready_) pos[{t.topic, t.partition}] = t.offset + 1;
    consumer_->set_positions(pos);
  }
}

bool KafkaChannel::wait_for_events(std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> lk(cmu_);
  if (!ready_.empty()) return true;
  if (stopping_ || !ensure_consumer()) return false;
  fill(500, std::min(timeout, opts_.poll_timeout));
  return !ready_.empty();
}

void KafkaChannel::wake() {}  // waits are bounded by kafka.pollTimeout

void KafkaChannel::on_assign(rd_kafka_topic_partition_list_t*) {}

void KafkaChannel::on_revoke(const rd_kafka_topic_partition_list_t* parts) {
  // Called inside consumer_->poll, with cmu_ held.
  auto revoked = [&](const std::string& topic, int32_t p) {
    for (int i = 0; i < parts->cnt; ++i)
      if (parts->elems[i].partition == p && topic == parts->elems[i].topic) return true;
    return false;
  };
  std::erase_if(ready_, [&](const Taken& t) { return revoked(t.topic, t.partition); });
  kafka::OffsetMap mine;
  for (auto it = uncommitted_.begin(); it != uncommitted_.end();) {
    if (revoked(it->first.first, it->first.second)) {
      mine.insert(*it);
      it = uncommitted_.erase(it);
    } else {
      ++it;
    }
  }
  if (Status s = consumer_->commit(mine); !s) commit_fail_.add();
}

void KafkaChannel::commit_offsets(const kafka::OffsetMap& offsets) {
  std::lock_guard<std::mutex> lk(cmu_);
  for (const auto& [tp, off] : offsets) {
    int64_t& o = uncommitted_[tp];
    o = std::max(o, off);
  }
  if (!consumer_) return;
  const auto t0 = Clock::now();
  if (Status s = consumer_->commit(uncommitted_); !s) {
    commit_fail_.add();
    if (warn_.allow())
      log::warn("kafka channel {}: {}; the offsets go with the next take commit", name(),
                s.error().message);
  } else {
    uncommitted_.clear();
  }
  commit_timer_ms_.add(ms_since(t0));
}

size_t KafkaChannel::send(std::vector<kafka::OutRecord>& recs) {
  std::lock_guard<std::mutex> lk(pmu_);
  if (!producer_) {
    for (auto& r : recs)
      if (!r.delivered()) r.err = RD_KAFKA_RESP_ERR__DESTROY;
    return recs.size();
  }
  return producer_->send(recs);
}

size_t KafkaChannel::size() const {
  std::unique_lock<std::mutex> lk(cmu_, std::try_to_lock);
  if (!lk.owns_lock() || !consumer_) return 0;
  int64_t total = 0;
  for (const auto& [tp, lag] : consumer_->lag())
    if (lag > 0) total += lag;
  return static_cast<size_t>(total) + ready_.size();
}

void KafkaChannel::collect_metrics(MetricList& out) const {
  out.emplace_back("ChannelSize", std::to_string(size()));
  out.emplace_back("ChannelCapacity", "0");
  out.emplace_back("ChannelFillPercentage", "0.0");
  counters_.collect(out);
  out.emplace_back("KafkaEventGetTimer", std::to_string(get_timer_ms_.get()));
  out.emplace_back("KafkaEventSendTimer", std::to_string(send_timer_ms_.get()));
  out.emplace_back("KafkaCommitTimer", std::to_string(commit_timer_ms_.get()));
  out.emplace_back("RollbackCount", std::to_string(rollbacks_.get()));
  out.emplace_back("KafkaCommitFailCount", std::to_string(commit_fail_.get()));
  out.emplace_back("KafkaRecordsDropped", std::to_string(dropped_.get()));
}

}  // namespace ingestor
