#include "agent/sinks/null_sink.h"

#include "base/log.h"

namespace ingestor {

const ComponentSpec& null_sink_spec() {
  static const ComponentSpec spec{
      "sink",
      "null",
      "org.apache.flume.sink.NullSink",
      "Discards every event (for tests and benchmarks).",
      {
          {"batchSize", KeyType::kInt, "100", false, "Events taken per transaction", 1},
          {"logEveryNEvents", KeyType::kLong, "10000", false,
           "Log a debug line every N events discarded", 1},
      }};
  return spec;
}

NullSink::NullSink(std::string name, const Settings& s)
    : Sink(std::move(name), "null"),
      batch_size_(static_cast<size_t>(s.i64("batchSize"))),
      log_every_(s.i64("logEveryNEvents")) {}

Status NullSink::start() {
  counters_.started();
  return {};
}

void NullSink::stop() { counters_.stopped(); }

Result<SinkStatus> NullSink::process() {
  Tx tx = channel_->begin();
  auto n = tx.take(batch_size_);
  if (!n) {
    counters_.channel_read_fail.add();
    return n.error();
  }
  size_t got = *n;
  if (got == 0) {
    counters_.batch_empty.add();
  } else if (got < batch_size_) {
    counters_.batch_underflow.add();
  } else {
    counters_.batch_complete.add();
  }
  counters_.event_drain_attempt.add(static_cast<int64_t>(got));
  if (auto s = tx.commit(); !s) return s.error();
  counters_.event_drain_success.add(static_cast<int64_t>(got));
  since_log_ += static_cast<int64_t>(got);
  if (since_log_ >= log_every_) {
    log::debug("Null sink {} successful processed {} events.", name(), since_log_);
    since_log_ = 0;
  }
  return got == 0 ? SinkStatus::kBackoff : SinkStatus::kReady;
}

}  // namespace ingestor
