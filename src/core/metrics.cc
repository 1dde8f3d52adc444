#include "core/metrics.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

namespace ingestor {

int64_t now_epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
void put(MetricList& out, const char* name, const Counter& c) {
  out.emplace_back(name, std::to_string(c.get()));
}
}  // namespace

void SourceCounters::collect(MetricList& out) const {
  put(out, "EventReceivedCount", event_received);
  put(out, "EventAcceptedCount", event_accepted);
  put(out, "AppendReceivedCount", append_received);
  put(out, "AppendAcceptedCount", append_accepted);
  put(out, "AppendBatchReceivedCount", append_batch_received);
  put(out, "AppendBatchAcceptedCount", append_batch_accepted);
  put(out, "OpenConnectionCount", open_connection);
  put(out, "EventReadFail", event_read_fail);
  put(out, "ChannelWriteFail", channel_write_fail);
  put(out, "GenericProcessingFail", generic_processing_fail);
  put(out, "StartTime", start_time);
  put(out, "StopTime", stop_time);
}

void ChannelCounters::collect(MetricList& out) const {
  put(out, "EventPutAttemptCount", event_put_attempt);
  put(out, "EventPutSuccessCount", event_put_success);
  put(out, "EventTakeAttemptCount", event_take_attempt);
  put(out, "EventTakeSuccessCount", event_take_success);
  put(out, "StartTime", start_time);
  put(out, "StopTime", stop_time);
}

void SinkCounters::collect(MetricList& out) const {
  put(out, "ConnectionCreatedCount", connection_created);
  put(out, "ConnectionClosedCount", connection_closed);
  put(out, "ConnectionFailedCount", connection_failed);
  put(out, "BatchEmptyCount", batch_empty);
  put(out, "BatchUnderflowCount", batch_underflow);
  put(out, "BatchCompleteCount", batch_complete);
  put(out, "EventDrainAttemptCount", event_drain_attempt);
  put(out, "EventDrainSuccessCount", event_drain_success);
  put(out, "EventWriteFail", event_write_fail);
  put(out, "ChannelReadFail", channel_read_fail);
  put(out, "ProcessErrorCount", process_error);
  put(out, "ConsecutiveErrors", consecutive_errors);
  put(out, "BackingOff", backing_off);
  put(out, "StartTime", start_time);
  put(out, "StopTime", stop_time);
}

std::string java_double_string(double v) {
  if (std::isinf(v) || v >= 1.7976931348623157e308) return "1.7976931348623157E308";
  if (v == std::floor(v) && std::fabs(v) < 1e7) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
  }
  // Shortest representation that round-trips, as Java's Double.toString does for this range.
  char buf[64];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

}  // namespace ingestor
