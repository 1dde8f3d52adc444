#pragma once
// Sink: drains one channel. The SinkRunner calls process() in a loop on the sink's own thread.
// A process() call takes a batch in one transaction, delivers it, and commits the take only when
// the destination has it (rolls back otherwise). It returns kReady to be called again at once,
// kBackoff when there was nothing to do, or an Error: the runner logs it, counts it and retries
// after backing off (1 s, 2 s, ... 5 s). A sink that found its channel empty counts it in
// counters().batch_empty (Flume's BatchEmptyCount) before returning kBackoff: the runner then
// wakes it as soon as events arrive; a kBackoff without an empty take (a destination pushing
// back) waits the whole step. A sink never sleeps in a loop of its own.

#include <chrono>
#include <string>

#include "base/result.h"
#include "core/channel.h"
#include "core/component.h"
#include "core/metrics.h"

namespace ingestor {

enum class SinkStatus { kReady, kBackoff };

class Sink : public Component {
 public:
  using Component::Component;
  const char* metrics_group() const override { return "SINK"; }
  void collect_metrics(MetricList& out) const override { counters_.collect(out); }
  SinkCounters& counters() { return counters_; }

  void set_channel(Channel* c) { channel_ = c; }
  // Told by the agent when this sink is the only one taking from its channel (so it sees every
  // event of the channel, in position order).
  virtual void set_sole_taker(bool) {}
  Channel* channel() const { return channel_; }
  // Events taken per transaction (Flume's batchSize); checked against the channel's
  // transactionCapacity at build time.
  virtual size_t batch_size() const { return 100; }

  [[nodiscard]] virtual Result<SinkStatus> process() = 0;

  // When the sink has timed work (a roll interval, an idle timeout), the time it is due: the runner
  // calls process() by then even if no event arrives.
  virtual std::chrono::steady_clock::time_point next_timer() const {
    return std::chrono::steady_clock::time_point::max();
  }

 protected:
  Channel* channel_ = nullptr;
  SinkCounters counters_;
};

}  // namespace ingestor
