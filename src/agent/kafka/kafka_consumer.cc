#include "agent/kafka/kafka_consumer.h"

#include <cstring>

#include "base/log.h"

namespace ingestor::kafka {

Result<std::vector<ClientProperty>> consumer_properties(
    const Settings& s, const std::vector<std::pair<std::string, std::string>>& given,
    const std::string& bootstrap, std::string& group_id,
    const std::function<void(std::string)>& warn) {
  auto t = translate_java_properties(given, ClientRole::kConsumer, "kafka.consumer.");
  if (!t) return t.error();
  for (auto& w : t->warnings) warn(std::move(w));
  std::vector<ClientProperty> props = std::move(t->props);
  if (const std::string* g = find(props, "group.id")) {
    group_id = *g;
  } else if (s.has("groupId")) {
    group_id = s.str("groupId");
    warn("groupId is deprecated. Please use the parameter kafka.consumer.group.id");
  }
  set_default(props, "session.timeout.ms", "10000");
  set_default(props, "isolation.level", "read_uncommitted");
  force(props, "bootstrap.servers", bootstrap);
  force(props, "group.id", group_id);
  force(props, "enable.auto.commit", "false");
  force(props, "enable.auto.offset.store", "false");
  return props;
}

Result<std::unique_ptr<KafkaConsumer>> KafkaConsumer::create(
    std::string component, const std::vector<ClientProperty>& props, RebalanceListener* listener) {
  std::unique_ptr<KafkaConsumer> c(new KafkaConsumer(std::move(component)));
  c->listener_ = listener;
  auto conf = make_conf(props, &c->component_);
  if (!conf) return conf.error();
  // The opaque is the log context; the rebalance callback finds us through this map instead.
  rd_kafka_conf_set_rebalance_cb((*conf).get(), rebalance_cb);
  auto h = make_handle(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!h) return h.error();
  c->rk_ = std::move(*h);
  rd_kafka_poll_set_consumer(c->rk_.get());
  return c;
}

namespace {
// rd_kafka_t -> its KafkaConsumer (the handle's opaque is taken by the log context).
std::mutex g_mu;
std::map<const rd_kafka_t*, KafkaConsumer*>& registry() {
  static std::map<const rd_kafka_t*, KafkaConsumer*> m;
  return m;
}
}  // namespace

KafkaConsumer::~KafkaConsumer() { close(); }

void KafkaConsumer::close() {
  if (!rk_ || closed_) return;
  closed_ = true;
  rd_kafka_consumer_close(rk_.get());  // revokes (callback: no commit there at close)
  std::lock_guard<std::mutex> lk(g_mu);
  registry().erase(rk_.get());
}

void KafkaConsumer::rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                 rd_kafka_topic_partition_list_t* parts, void*) {
  KafkaConsumer* self = nullptr;
  {
    std::lock_guard<std::mutex> lk(g_mu);
    auto it = registry().find(rk);
    if (it != registry().end()) self = it->second;
  }
  if (self) {
    self->on_rebalance(err, parts);
    return;
  }
  // Not registered (closing): do what librdkafka would do by itself.
  const bool coop = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (coop) {
      if (auto* e = rd_kafka_incremental_assign(rk, parts)) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, parts);
    }
  } else if (coop) {
    if (auto* e = rd_kafka_incremental_unassign(rk, parts)) rd_kafka_error_destroy(e);
  } else {
    rd_kafka_assign(rk, nullptr);
  }
}

void KafkaConsumer::on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  rd_kafka_t* rk = rk_.get();
  const bool coop = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    for (int i = 0; i < parts->cnt; ++i) parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    if (listener_ && !closed_) listener_->on_assign(parts);
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (!coop) assigned_.clear();
      for (int i = 0; i < parts->cnt; ++i)
        assigned_[{parts->elems[i].topic, parts->elems[i].partition}] = -1;
    }
    std::string list;
    for (int i = 0; i < parts->cnt; ++i)
      list += (i ? ", " : "") + partition_key(parts->elems[i].topic, parts->elems[i].partition);
    log::info("{}: assigned {}", component_, log::escape(list));
    if (coop) {
      if (auto* e = rd_kafka_incremental_assign(rk, parts)) {
        log::error("{}: assign: {}", component_, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_assign(rk, parts);
    }
    // librdkafka keeps a partition's pause flag across unassign/assign: set it as we want it.
    if (paused_)
      rd_kafka_pause_partitions(rk, parts);
    else
      rd_kafka_resume_partitions(rk, parts);
  } else {
    if (listener_ && !closed_) listener_->on_revoke(parts);
    {
      std::lock_guard<std::mutex> lk(mu_);
      for (int i = 0; i < parts->cnt; ++i)
        assigned_.erase({parts->elems[i].topic, parts->elems[i].partition});
    }
    log::info("{}: {} partitions revoked", component_, parts->cnt);
    if (coop) {
      if (auto* e = rd_kafka_incremental_unassign(rk, parts)) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  }
}

Status KafkaConsumer::subscribe(const std::vector<std::string>& topics) {
  {
    std::lock_guard<std::mutex> lk(g_mu);
    registry()[rk_.get()] = this;
  }
  PartitionListPtr l(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& t : topics)
    rd_kafka_topic_partition_list_add(l.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto e = rd_kafka_subscribe(rk_.get(), l.get()))
    return make_error(Errc::kConfig, component_ + ": subscribe: " + rd_kafka_err2str(e));
  return {};
}

MessagePtr KafkaConsumer::poll(int timeout_ms) {
  return MessagePtr(rd_kafka_consumer_poll(rk_.get(), timeout_ms));
}

Status KafkaConsumer::commit(const OffsetMap& offsets, bool async) {
  if (offsets.empty()) return {};
  PartitionListPtr l(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& [tp, off] : offsets)
    rd_kafka_topic_partition_list_add(l.get(), tp.first.c_str(), tp.second)->offset = off;
  rd_kafka_resp_err_t e = rd_kafka_commit(rk_.get(), l.get(), async ? 1 : 0);
  last_commit_err_ = e;
  if (e)
    return make_error(Errc::kUnavailable, std::string("offset commit: ") + rd_kafka_err2str(e));
  return {};
}

Status KafkaConsumer::committed(rd_kafka_topic_partition_list_t* parts, int timeout_ms) {
  if (auto e = rd_kafka_committed(rk_.get(), parts, timeout_ms))
    return make_error(Errc::kUnavailable, std::string("committed offsets: ") + rd_kafka_err2str(e));
  return {};
}

void KafkaConsumer::pause_all() {
  if (paused_) return;
  paused_ = true;
  rd_kafka_topic_partition_list_t* a = nullptr;
  if (!rd_kafka_assignment(rk_.get(), &a) && a) {
    rd_kafka_pause_partitions(rk_.get(), a);
    rd_kafka_topic_partition_list_destroy(a);
  }
}

void KafkaConsumer::resume_all() {
  if (!paused_) return;
  paused_ = false;
  rd_kafka_topic_partition_list_t* a = nullptr;
  if (!rd_kafka_assignment(rk_.get(), &a) && a) {
    rd_kafka_resume_partitions(rk_.get(), a);
    rd_kafka_topic_partition_list_destroy(a);
  }
}

void KafkaConsumer::seek(const std::string& topic, int32_t partition, int64_t offset) {
  PartitionListPtr l(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(l.get(), topic.c_str(), partition)->offset = offset;
  if (auto* e = rd_kafka_seek_partitions(rk_.get(), l.get(), 5000)) {
    log::warn("{}: seek {} to {}: {}", component_, partition_key(topic, partition), offset,
              rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
  }
}

void KafkaConsumer::set_positions(const OffsetMap& next) {
  std::lock_guard<std::mutex> lk(mu_);
  for (const auto& [tp, off] : next)
    if (auto it = assigned_.find(tp); it != assigned_.end()) it->second = off;
}

std::vector<std::pair<std::string, int64_t>> KafkaConsumer::lag() const {
  std::vector<std::pair<std::string, int64_t>> out;
  std::lock_guard<std::mutex> lk(mu_);
  for (const auto& [tp, pos] : assigned_) {
    int64_t lo = -1, hi = -1;
    rd_kafka_get_watermark_offsets(rk_.get(), tp.first.c_str(), tp.second, &lo, &hi);
    int64_t lag = -1;
    if (hi >= 0) lag = pos >= 0 ? std::max<int64_t>(0, hi - pos) : -1;
    out.emplace_back(partition_key(tp.first, tp.second), lag);
  }
  return out;
}

Result<std::string> java_regex_to_posix(std::string_view java) {
  std::string out = "^(";
  bool in_class = false;
  auto refuse = [&](std::string_view what) {
    return make_error(Errc::kConfig, "kafka.topics.regex: " + std::string(what) +
                                         " has no POSIX equivalent in librdkafka's topic "
                                         "patterns; write the pattern without it");
  };
  for (size_t i = 0; i < java.size(); ++i) {
    char c = java[i];
    if (c == '\\') {
      if (i + 1 >= java.size()) return refuse("a trailing backslash");
      char n = java[++i];
      const char* cls = nullptr;
      switch (n) {
        case 'd':
          cls = in_class ? "0-9" : "[0-9]";
          break;
        case 'w':
          cls = in_class ? "A-Za-z0-9_" : "[A-Za-z0-9_]";
          break;
        case 's':
          cls = in_class ? "[:space:]" : "[[:space:]]";
          break;
        case 'D':
          cls = in_class ? nullptr : "[^0-9]";
          break;
        case 'W':
          cls = in_class ? nullptr : "[^A-Za-z0-9_]";
          break;
        case 'S':
          cls = in_class ? nullptr : "[^[:space:]]";
          break;
        default:
          break;
      }
      if (cls) {
        out += cls;
        continue;
      }
      if (n == 'D' || n == 'W' || n == 'S') return refuse(std::string("\\") + n + " inside [...]");
      if (std::isalnum(static_cast<unsigned char>(n)))
        return refuse(std::string("\\") + n);  // \p \Q \E \b \1 \t ...
      if (in_class) {
        if (n == ']' || n == '\\' || n == '^' || n == '-')
          return refuse(std::string("\\") + n + " inside [...]");
        out += n;
      } else {
        out += '\\';
        out += n;
      }
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      if (c == '[' && i + 1 < java.size() && java[i + 1] != ':') return refuse("a nested [...]");
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < java.size() && java[i + 1] == '^') out += java[++i];
      if (i + 1 < java.size() && java[i + 1] == ']') out += java[++i];
      continue;
    }
    if (c == '(' && i + 1 < java.size() && java[i + 1] == '?') return refuse("(?...)");
    if ((c == '*' || c == '+' || c == '?' || c == '}') && i + 1 < java.size()) {
      out += c;
      if (java[i + 1] == '+') return refuse("a possessive quantifier");
      if (java[i + 1] == '?') ++i;  // lazy: same full-match result as greedy
      continue;
    }
    out += c;
  }
  if (in_class) return refuse("an unclosed [");
  out += ")$";
  return out;
}

}  // namespace ingestor::kafka
