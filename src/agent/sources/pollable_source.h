#pragma once
// PollableSource: Flume's PollableSourceRunner (flume-components.md 0.1) for sources that produce
// on their own (seq): one thread calls poll() in a loop.
//  - kReady: call again at once;
//  - kBackoff (nothing to do): wait min(n x backoffSleepIncrement, maxBackoffSleep), n the number
//    of kBackoff in a row (Flume's keys, read by every pollable source, 1000 and 5000 ms);
//  - kRetry (not in Flume: the channel is full, or another put failed): wait 1 ms, doubling to
//    100 ms while it lasts, then call again. Flume retries such a batch in a tight loop.
// stop() wakes any wait at once and joins the thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "base/log.h"
#include "core/channel_processor.h"
#include "core/source.h"

namespace ingestor {

enum class PollStatus { kReady, kBackoff, kRetry };

struct PollBackoff {
  std::chrono::milliseconds increment{1000};
  std::chrono::milliseconds max{5000};
};

class PollableSource : public Source {
 public:
  PollableSource(std::string name, std::string type, std::shared_ptr<ChannelProcessor> processor,
                 PollBackoff backoff);
  ~PollableSource() override;
  Status start() override;
  void stop() override;

  // One step of work, on the runner thread (tests call it directly, without start()).
  virtual PollStatus poll() = 0;

 protected:
  bool stopping() const { return stopping_.load(); }
  // Derived classes call this first in their destructor, so poll() never runs on a part
  // already destroyed.
  void stop_runner();
  // Waits `d` or until stop(); false when stopping. For poll() too (a rate limit).
  bool wait(std::chrono::milliseconds d);
  // Puts a batch the source generated itself (seq, stress). Committed: counts its events (and the
  // batch when `batch_mode`), clears it, returns true. Failed (a full channel): counts
  // ChannelWriteFail, logs at most once a second, keeps `batch` and `progress` for the retry and
  // returns false.
  bool put_generated(Batch& batch, PutProgress& progress, bool batch_mode);

 private:
  void run();
  PollBackoff backoff_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  log::Throttle put_fail_log_;
};

}  // namespace ingestor
