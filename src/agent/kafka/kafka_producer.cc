#include "agent/kafka/kafka_producer.h"

#include "base/log.h"

namespace ingestor::kafka {
namespace {

void dr_msg_cb(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (auto* rec = static_cast<OutRecord*>(m->_private)) rec->err = m->err;
}

bool is_all(std::string_view acks) { return acks == "all" || acks == "-1"; }

}  // namespace

void apply_producer_defaults(std::vector<ClientProperty>& props, std::vector<std::string>* warnings,
                             std::string_view acks_default) {
  const std::string* acks = find(props, "acks");
  if (!acks) acks = find(props, "request.required.acks");
  const std::string* idem = find(props, "enable.idempotence");
  if (acks && !is_all(*acks) && !idem) {
    if (warnings)
      warnings->push_back("acks=" + log::escape(*acks) +
                          " turns the idempotent producer off (librdkafka requires acks=all for "
                          "it): retries may then duplicate records");
    set_default(props, "enable.idempotence", "false");
  } else if (!acks) {
    // Flume's sink default is acks=1; with the idempotent producer librdkafka needs all.
    set_default(props, "acks", idem && *idem == "false" ? std::string(acks_default) : "all");
    set_default(props, "enable.idempotence", "true");
  } else {
    set_default(props, "enable.idempotence", "true");
  }
  set_default(props, "partitioner", "murmur2_random");
  set_default(props, "message.timeout.ms", "30000");
}

Result<std::unique_ptr<KafkaProducer>> KafkaProducer::create(
    std::string component, const std::vector<ClientProperty>& props) {
  std::unique_ptr<KafkaProducer> p(new KafkaProducer(std::move(component)));
  auto conf = make_conf(props, &p->component_);
  if (!conf) return conf.error();
  rd_kafka_conf_set_dr_msg_cb((*conf).get(), dr_msg_cb);
  auto h = make_handle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!h) return h.error();
  p->rk_ = std::move(*h);
  return p;
}

KafkaProducer::~KafkaProducer() {
  if (rk_) {
    rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(rk_.get(), 5000);
  }
}

void KafkaProducer::request_stop() {
  stopping_ = true;
  if (rk_) rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
}

void KafkaProducer::produce(std::span<OutRecord> recs) {
  rd_kafka_t* rk = rk_.get();
  std::vector<rd_kafka_vu_t> vu;
  for (OutRecord& r : recs) {
    if (r.delivered()) continue;
    if (stopping_) {
      r.err = RD_KAFKA_RESP_ERR__PURGE_QUEUE;
      continue;
    }
    r.err = RD_KAFKA_RESP_ERR__IN_PROGRESS;
    vu.clear();
    rd_kafka_vu_t v{};
    v.vtype = RD_KAFKA_VTYPE_TOPIC;
    // produceva wants a C string: topics are kept NUL-terminated by the callers (std::string).
    v.u.cstr = r.topic.data();
    vu.push_back(v);
    v = {};
    v.vtype = RD_KAFKA_VTYPE_PARTITION;
    v.u.i32 = r.partition;
    vu.push_back(v);
    v = {};
    v.vtype = RD_KAFKA_VTYPE_VALUE;
    v.u.mem.ptr = const_cast<char*>(r.value.data());
    v.u.mem.size = r.value.size();
    vu.push_back(v);
    if (r.key) {
      v = {};
      v.vtype = RD_KAFKA_VTYPE_KEY;
      v.u.mem.ptr = const_cast<char*>(r.key->data());
      v.u.mem.size = r.key->size();
      vu.push_back(v);
    }
    if (r.timestamp_ms > 0) {
      v = {};
      v.vtype = RD_KAFKA_VTYPE_TIMESTAMP;
      v.u.i64 = r.timestamp_ms;
      vu.push_back(v);
    }
    for (auto& [hk, hv] : r.headers) {
      v = {};
      v.vtype = RD_KAFKA_VTYPE_HEADER;
      v.u.header.name = hk.data();  // NUL-terminated (OutRecord)
      v.u.header.val = hv.data();
      v.u.header.size = static_cast<ssize_t>(hv.size());
      vu.push_back(v);
    }
    v = {};
    v.vtype = RD_KAFKA_VTYPE_OPAQUE;
    v.u.ptr = &r;
    vu.push_back(v);
    v = {};
    v.vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    v.u.i32 = 0;  // no copy: the caller keeps the bytes alive until send() returns
    vu.push_back(v);
    for (;;) {
      rd_kafka_error_t* e = rd_kafka_produceva(rk, vu.data(), vu.size());
      if (!e) break;
      rd_kafka_resp_err_t code = rd_kafka_error_code(e);
      rd_kafka_error_destroy(e);
      if (code == RD_KAFKA_RESP_ERR__QUEUE_FULL && !stopping_) {
        rd_kafka_poll(rk, 10);  // serves delivery reports, which frees room
        continue;
      }
      r.err = code;  // unknown partition or topic known from metadata, too large, ...
      break;
    }
  }
}

size_t KafkaProducer::wait(std::span<OutRecord> recs, bool flush) {
  rd_kafka_t* rk = rk_.get();
  // Every produced record gets exactly one report within message.timeout.ms (or at once after a
  // purge): wait for all of them, so no pointer into `recs` stays inside librdkafka.
  auto pending = [&] {
    for (const OutRecord& r : recs)
      if (r.err == RD_KAFKA_RESP_ERR__IN_PROGRESS) return true;
    return false;
  };
  while (pending()) {
    if (flush)
      rd_kafka_flush(rk, 100);
    else
      rd_kafka_poll(rk, 10);
  }
  size_t failed = 0;
  for (const OutRecord& r : recs) failed += !r.delivered();
  return failed;
}

}  // namespace ingestor::kafka
