#include "agent/sources/seq_source.h"

#include <algorithm>
#include <charconv>

namespace ingestor {

const ComponentSpec& seq_source_spec() {
  static const ComponentSpec spec{
      "source",
      "seq",
      "org.apache.flume.source.SequenceGeneratorSource",
      "Generates events whose bodies count up from 0 in decimal, then stops after totalEvents.",
      {
          {"totalEvents", KeyType::kLong, "9223372036854775807", false,
           "Events to generate (0 or less: none)"},
          {"batchSize", KeyType::kInt, "1", false, "Events put in one transaction", 1},
          {"backoffSleepIncrement", KeyType::kLong, "1000", false,
           "Milliseconds added to the wait after each idle poll in a row", 1},
          {"maxBackoffSleep", KeyType::kLong, "5000", false, "Longest wait after idle polls", 1},
      }};
  return spec;
}

Result<SeqSourceOptions> seq_source_options(const Settings& s) {
  SeqSourceOptions o;
  o.total_events = s.i64("totalEvents");
  o.batch_size = static_cast<size_t>(s.i64("batchSize"));
  o.backoff.increment = std::chrono::milliseconds(s.i64("backoffSleepIncrement"));
  o.backoff.max = std::chrono::milliseconds(s.i64("maxBackoffSleep"));
  return o;
}

SequenceGeneratorSource::SequenceGeneratorSource(std::string name,
                                                 std::shared_ptr<ChannelProcessor> processor,
                                                 SeqSourceOptions options)
    : PollableSource(std::move(name), "seq", std::move(processor), options.backoff),
      opts_(options) {}

SequenceGeneratorSource::~SequenceGeneratorSource() { stop_runner(); }

PollStatus SequenceGeneratorSource::poll() {
  if (batch_.empty()) {
    if (next_ >= opts_.total_events) {
      if (!done_logged_) {
        done_logged_ = true;
        log::info("seq source {}: generated all {} events", name(), next_);
      }
      return PollStatus::kBackoff;
    }
    const size_t k = static_cast<size_t>(
        std::min<int64_t>(static_cast<int64_t>(std::min(
                              opts_.batch_size, std::max<size_t>(processor().max_batch(), 1))),
                          opts_.total_events - next_));
    // All the bodies of the batch in one buffer: at most 20 digits each.
    Chunk* c = Chunk::make(k * 20);
    ChunkRef chunk = ChunkRef::adopt(c);
    char* p = c->data();
    batch_.reserve(k);
    for (size_t i = 0; i < k; ++i) {
      auto r = std::to_chars(p, p + 20, next_ + static_cast<int64_t>(i));
      batch_.emplace_back(Slice(chunk, p, static_cast<size_t>(r.ptr - p)));
      p = r.ptr;
    }
    progress_ = PutProgress{};
  }
  const size_t k = batch_.size();
  if (!put_generated(batch_, progress_, opts_.batch_size > 1)) return PollStatus::kRetry;
  next_ += static_cast<int64_t>(k);
  return PollStatus::kReady;
}

}  // namespace ingestor
