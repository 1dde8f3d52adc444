#include "agent/sources/stress_source.h"

#include <algorithm>
#include <cstring>

namespace ingestor {

const ComponentSpec& stress_source_spec() {
  static const ComponentSpec spec{
      "source",
      "stress",
      "org.apache.flume.source.StressSource",
      "Generates events of `size` bytes (0x7F) for load tests, optionally rate-limited, until a "
      "total is reached.",
      {
          {"size", KeyType::kInt, "500", false, "Body size in bytes", 0},
          {"maxTotalEvents", KeyType::kLong, "-1", false, "Events to generate (negative: no end)"},
          {"maxSuccessfulEvents", KeyType::kLong, "-1", false,
           "Stop after this many events were put (negative: no end)"},
          {"batchSize", KeyType::kInt, "1", false, "Events put in one transaction", 1},
          {"maxEventsPerSecond", KeyType::kInt, "0", false, "Rate limit (0: none)", 0},
          {"backoffSleepIncrement", KeyType::kLong, "1000", false,
           "Milliseconds added to the wait after each idle poll in a row", 1},
          {"maxBackoffSleep", KeyType::kLong, "5000", false, "Longest wait after idle polls", 1},
      }};
  return spec;
}

Result<StressSourceOptions> stress_source_options(const Settings& s) {
  StressSourceOptions o;
  o.size = static_cast<size_t>(s.i64("size"));
  o.max_total_events = s.i64("maxTotalEvents");
  o.max_successful_events = s.i64("maxSuccessfulEvents");
  o.batch_size = static_cast<size_t>(s.i64("batchSize"));
  o.max_events_per_second = s.i64("maxEventsPerSecond");
  o.backoff.increment = std::chrono::milliseconds(s.i64("backoffSleepIncrement"));
  o.backoff.max = std::chrono::milliseconds(s.i64("maxBackoffSleep"));
  return o;
}

StressSource::StressSource(std::string name, std::shared_ptr<ChannelProcessor> processor,
                           StressSourceOptions options)
    : PollableSource(std::move(name), "stress", std::move(processor), options.backoff),
      opts_(options) {
  Chunk* c = Chunk::make(std::max<size_t>(opts_.size, 1));
  std::memset(c->data(), 0x7F, opts_.size);
  body_ = ChunkRef::adopt(c);
}

StressSource::~StressSource() { stop_runner(); }

bool StressSource::acquire(size_t n) {
  if (opts_.max_events_per_second <= 0) return true;
  const auto now = std::chrono::steady_clock::now();
  if (next_free_ > now) {
    if (!wait(std::chrono::ceil<std::chrono::milliseconds>(next_free_ - now))) return false;
  }
  next_free_ = std::max(next_free_, now) +
               std::chrono::nanoseconds(static_cast<int64_t>(n) * 1'000'000'000 /
                                        opts_.max_events_per_second);
  return true;
}

PollStatus StressSource::poll() {
  if (batch_.empty()) {
    int64_t left = INT64_MAX;
    const int64_t done = delivered();
    if (opts_.max_total_events >= 0) left = opts_.max_total_events - done;
    if (opts_.max_successful_events >= 0)
      left = std::min(left, opts_.max_successful_events - done);
    if (left <= 0) {
      if (!done_logged_) {
        done_logged_ = true;
        log::info("stress source {}: generated all {} events", name(), done);
      }
      return PollStatus::kBackoff;
    }
    const size_t k = static_cast<size_t>(std::min<int64_t>(
        static_cast<int64_t>(std::min(opts_.batch_size, std::max<size_t>(processor().max_batch(), 1))),
        left));
    if (!acquire(k)) return PollStatus::kBackoff;
    batch_.reserve(k);
    for (size_t i = 0; i < k; ++i) batch_.emplace_back(Slice(body_, body_->data(), opts_.size));
    progress_ = PutProgress{};
  }
  const size_t k = batch_.size();
  if (!put_generated(batch_, progress_, opts_.batch_size > 1)) return PollStatus::kRetry;
  delivered_.fetch_add(static_cast<int64_t>(k), std::memory_order_relaxed);
  return PollStatus::kReady;
}

}  // namespace ingestor
