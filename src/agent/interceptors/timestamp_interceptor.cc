#include "agent/interceptors/timestamp_interceptor.h"

#include "core/metrics.h"

namespace ingestor {

const ComponentSpec& timestamp_interceptor_spec() {
  static const ComponentSpec spec{
      "interceptor",
      "timestamp",
      "org.apache.flume.interceptor.TimestampInterceptor$Builder",
      "Adds the time the event was received, in epoch ms.",
      {
          {"headerName", KeyType::kString, "timestamp", false, "Header to set"},
          {"preserveExisting", KeyType::kBool, "false", false, "Keep a value already there"},
      }};
  return spec;
}

TimestampInterceptor::TimestampInterceptor(const Settings& s)
    : header_(s.str("headerName")), preserve_(s.boolean("preserveExisting")) {}

void TimestampInterceptor::intercept(Batch& events) {
  std::string now = std::to_string(now_epoch_ms());
  for (Event& e : events) {
    if (preserve_) {
      e.headers.set_if_absent(header_, now);
    } else {
      e.headers.set(header_, now);
    }
  }
}

}  // namespace ingestor
