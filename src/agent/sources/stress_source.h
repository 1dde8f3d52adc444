#pragma once
// StressSource (org.apache.flume.source.StressSource, in flume-ng-core): a load generator for
// testing a topology. Every event's body is `size` bytes of 0x7F (Java's Byte.MAX_VALUE) with no
// headers, put `batchSize` at a time, at most `maxEventsPerSecond` a second (0: no limit), until
// `maxTotalEvents` or `maxSuccessfulEvents` is reached (negative: no end). Pollable (0.1).
// Better than Flume: a failed put (a full channel) is retried with the same batch and counts
// toward neither limit (Flume counts a failed batch as sent, so maxTotalEvents ends the run
// with fewer events delivered); the last batch is cut to maxTotalEvents (Flume does so only
// when batchSize > 1). Thread-safety: the runner thread only.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "agent/sources/pollable_source.h"
#include "base/log.h"
#include "core/config/spec.h"

namespace ingestor {

const ComponentSpec& stress_source_spec();

struct StressSourceOptions {
  size_t size = 500;
  int64_t max_total_events = -1;
  int64_t max_successful_events = -1;
  size_t batch_size = 1;
  int64_t max_events_per_second = 0;
  PollBackoff backoff;
};

[[nodiscard]] Result<StressSourceOptions> stress_source_options(const Settings& s);

class StressSource final : public PollableSource {
 public:
  StressSource(std::string name, std::shared_ptr<ChannelProcessor> processor,
               StressSourceOptions options);
  ~StressSource() override;
  PollStatus poll() override;

  // Events put so far (any thread).
  int64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }

 private:
  // Waits until `n` more events fit the rate limit; false when stopping.
  bool acquire(size_t n);
  StressSourceOptions opts_;
  ChunkRef body_;  // the one body every event slices
  std::atomic<int64_t> delivered_{0};
  Batch batch_;  // built, not yet committed (kept for retries)
  PutProgress progress_;
  std::chrono::steady_clock::time_point next_free_{};
  bool done_logged_ = false;
};

}  // namespace ingestor
