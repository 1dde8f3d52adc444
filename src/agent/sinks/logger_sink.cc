#include "agent/sinks/logger_sink.h"

#include <cstdio>

#include "agent/sinks/serializer.h"
#include "base/log.h"

namespace ingestor {

const ComponentSpec& logger_sink_spec() {
  static const ComponentSpec spec{
      "sink",
      "logger",
      "org.apache.flume.sink.LoggerSink",
      "Logs each event at INFO (headers and a hex dump of the body).",
      {
          {"maxBytesToLog", KeyType::kInt, "16", false, "Body bytes shown per event", 0},
      }};
  return spec;
}

std::string dump_event(const Event& e, size_t max_bytes) {
  std::string out = "{ headers:" + java_map_string(e.headers) + " body:";
  const auto* data = reinterpret_cast<const unsigned char*>(e.body.data());
  size_t len = std::min(e.body.size(), max_bytes);
  char hex[4];
  for (size_t line = 0; line < len; line += 16) {
    if (line > 0) {
      char off[24];
      std::snprintf(off, sizeof off, "%08zX", line);
      out += off;
    }
    out += ' ';
    size_t n = std::min<size_t>(16, len - line);
    for (size_t k = 0; k < 16; ++k) {
      if (k < n) {
        std::snprintf(hex, sizeof hex, "%02X", data[line + k]);
        out += hex;
      } else {
        out += "  ";
      }
      out += ' ';
    }
    for (size_t k = 0; k < n; ++k) {
      unsigned char c = data[line + k];
      out += (c >= ' ' && c < 127) ? static_cast<char>(c) : '.';
    }
    out += '\n';
  }
  out += " }";
  return out;
}

LoggerSink::LoggerSink(std::string name, const Settings& s)
    : Sink(std::move(name), "logger"), max_bytes_(static_cast<size_t>(s.i64("maxBytesToLog"))) {}

Status LoggerSink::start() {
  counters_.started();
  return {};
}

void LoggerSink::stop() { counters_.stopped(); }

Result<SinkStatus> LoggerSink::process() {
  Tx tx = channel_->begin();
  auto n = tx.take(batch_size());
  if (!n) {
    counters_.channel_read_fail.add();
    return n.error();
  }
  if (*n == 0) {
    counters_.batch_empty.add();
    return SinkStatus::kBackoff;
  }
  (*n < batch_size() ? counters_.batch_underflow : counters_.batch_complete).add();
  counters_.event_drain_attempt.add(static_cast<int64_t>(*n));
  for (const Event& e : tx.taken()) log::info("Event: {}", dump_event(e, max_bytes_));
  if (auto s = tx.commit(); !s) return s.error();
  counters_.event_drain_success.add(static_cast<int64_t>(*n));
  return SinkStatus::kReady;
}

}  // namespace ingestor
