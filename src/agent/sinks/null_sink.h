#pragma once
// NullSink: Flume's `null` sink. Takes batches and discards them. Unlike Flume it has counters.

#include "core/config/spec.h"
#include "core/sink.h"

namespace ingestor {

const ComponentSpec& null_sink_spec();

class NullSink final : public Sink {
 public:
  NullSink(std::string name, const Settings& s);
  Status start() override;
  void stop() override;
  size_t batch_size() const override { return batch_size_; }
  Result<SinkStatus> process() override;

 private:
  size_t batch_size_;
  int64_t log_every_;
  int64_t since_log_ = 0;
};

}  // namespace ingestor
