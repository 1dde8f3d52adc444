#pragma once
// Metrics counters with Flume's attribute names (flume.md section 5).
//
// Counters are relaxed atomics, bumped once per batch on hot paths. A component appends its
// attributes to a MetricList; the monitoring server renders the list as Flume's JSON (every value
// a string) or as Prometheus text.

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ingestor {

using MetricList = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void add(int64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  void set(int64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
  int64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

int64_t now_epoch_ms();

// StartTime / StopTime, as Flume's MonitoredCounterGroup: epoch ms, StopTime "0" while running.
struct Lifetime {
  Counter start_time;
  Counter stop_time;
  void started() { start_time.set(now_epoch_ms()); stop_time.set(0); }
  void stopped() { stop_time.set(now_epoch_ms()); }
};

struct SourceCounters : Lifetime {
  Counter event_received, event_accepted, append_received, append_accepted;
  Counter append_batch_received, append_batch_accepted, open_connection;
  Counter event_read_fail, channel_write_fail, generic_processing_fail;
  void collect(MetricList& out) const;
};

struct ChannelCounters : Lifetime {
  Counter event_put_attempt, event_put_success, event_take_attempt, event_take_success;
  // Collects everything but the size gauges, which the channel adds.
  void collect(MetricList& out) const;
};

struct SinkCounters : Lifetime {
  Counter connection_created, connection_closed, connection_failed;
  Counter batch_empty, batch_underflow, batch_complete;
  Counter event_drain_attempt, event_drain_success, event_write_fail, channel_read_fail;
  // Not in Flume: process() calls that failed (the runner logs, counts and retries them).
  Counter process_error;
  // Not in Flume, gauges the runner sets after each process() call, for the status page and
  // alerts: process() calls failed in a row now (0: the last one succeeded), and 1 while the
  // sink backs off with events waiting (a destination pushing back), 0 when it delivers or idles
  // on an empty channel.
  Counter consecutive_errors, backing_off;
  void collect(MetricList& out) const;
};

// Flume's ChannelFillPercentage: a Java double string ("5.0", "33.33333333333333").
std::string java_double_string(double v);

}  // namespace ingestor
