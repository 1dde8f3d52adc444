#pragma once
// SequenceGeneratorSource: Flume's `seq` source (flume-components.md 1.4), pollable (0.1). Each
// event's body is a counter in decimal ASCII, from "0", with no headers; after `totalEvents`
// events it produces nothing more. Batches of `batchSize` (split to the channel's
// transactionCapacity).
// A failed put (a full channel) is counted in ChannelWriteFail, logged once a second at most, and
// the same batch is retried (PollStatus::kRetry) without advancing the counter and without
// duplicating it into channels that already committed it; Flume spins on it with no back-off.
// Unlike Flume, EventReceivedCount counts the events generated (Flume leaves it at 0).
// Memory: one batch (its bodies in one buffer). Thread-safety: the runner thread only.

#include <cstdint>
#include <memory>
#include <string>

#include "agent/sources/pollable_source.h"
#include "base/log.h"
#include "core/config/spec.h"

namespace ingestor {

const ComponentSpec& seq_source_spec();

struct SeqSourceOptions {
  int64_t total_events = INT64_MAX;
  size_t batch_size = 1;
  PollBackoff backoff;
};

[[nodiscard]] Result<SeqSourceOptions> seq_source_options(const Settings& s);

class SequenceGeneratorSource final : public PollableSource {
 public:
  SequenceGeneratorSource(std::string name, std::shared_ptr<ChannelProcessor> processor,
                          SeqSourceOptions options);
  ~SequenceGeneratorSource() override;
  PollStatus poll() override;

  // The next counter value to generate (for tests).
  int64_t next_value() const { return next_; }

 private:
  SeqSourceOptions opts_;
  int64_t next_ = 0;
  Batch batch_;  // generated, not yet committed (kept for retries)
  PutProgress progress_;
  bool done_logged_ = false;
};

}  // namespace ingestor
