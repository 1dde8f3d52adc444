#pragma once
// SinkRunner: one thread per sink, looping on Sink::process() as Flume's SinkRunner does.
//  - kReady: call again at once.
//  - kBackoff (nothing to do): wait for events in the channel, at most min(n x 1 s, 5 s) for the
//    n-th backoff in a row, and never past the sink's next_timer().
//  - an Error or an exception: logged (at most once per backoff step with its count), counted in
//    the sink's ProcessErrorCount, and retried after min(n x 1 s, 5 s). Nothing kills the thread.
// After each call the runner sets the sink's ConsecutiveErrors (errors in a row) and BackingOff
// (1 after a kBackoff that was not an empty channel: a destination pushing back) gauges, which
// the status page shows as the sink's state (ok, backing off, failing) and alerts watch.
// stop() lets the sink drain what the channel holds for up to `drain_timeout`, then joins.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/sink.h"

namespace ingestor {

class SinkRunner {
 public:
  explicit SinkRunner(Sink& sink,
                      std::chrono::milliseconds drain_timeout = std::chrono::seconds(5));
  ~SinkRunner();
  void start();
  void stop();
  // Backoff after `n` consecutive backoffs or errors (1-based): min(n s, 5 s), as Flume.
  static std::chrono::milliseconds backoff_for(int n);

 private:
  void run();
  void wait_until(std::chrono::steady_clock::time_point t, bool for_events);

  Sink& sink_;
  std::chrono::milliseconds drain_timeout_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace ingestor
