#pragma once
// RollingFileSink: Flume's `file_roll` sink (flume.md 3.8). Writes events into files under
// `sink.directory`, named `<prefix><startMillis>-<index>[.<extension>]` (pathManager DEFAULT) or
// `<prefix><yyyyMMddHHmmss>-<index>[.<extension>]` (ROLLTIME), and starts a new file every
// `sink.rollInterval` seconds (0: never).
// Better than Flume: a file is opened on the first event after a roll, so idle periods leave no
// empty files; a file is fsynced when it is closed; while the channel holds full batches,
// several takes (up to kGroupBytes) share one commit and the buffer is written each time it
// reaches kWriteBytes, so writes are large whatever the batch size yet still in the CPU's cache
// when the kernel copies them (bench/bench_local_write.py).
// The channel take commits after the batch reached the OS (as Flume), not after an fsync.
// A failed write (even a short one) cuts the file back to where the failed group of takes began
// and closes it; the takes roll back and the next file gets their events: nothing is in a file
// twice, and an avro_event file stays whole blocks.
// Thread-safety: used by its runner thread only.

#include <chrono>
#include <string>

#include "agent/sinks/serializer.h"
#include "base/file.h"
#include "core/config/spec.h"
#include "core/sink.h"

namespace ingestor {

const ComponentSpec& rolling_file_sink_spec();

struct RollingFileSinkOptions {
  std::string directory;
  int64_t roll_interval_s = 30;
  size_t batch_size = 100;
  SerializerOptions serializer;
  bool rolltime_names = false;
  std::string prefix;
  std::string extension;
};

Result<RollingFileSinkOptions> rolling_file_sink_options(const Settings& s);

class RollingFileSink final : public Sink {
 public:
  RollingFileSink(std::string name, RollingFileSinkOptions options);
  ~RollingFileSink() override;
  Status start() override;
  void stop() override;
  size_t batch_size() const override { return opts_.batch_size; }
  Result<SinkStatus> process() override;
  std::chrono::steady_clock::time_point next_timer() const override;

 private:
  Status open_next();
  Status close_current();
  std::string next_name();

  RollingFileSinkOptions opts_;
  int64_t series_ms_ = 0;
  int64_t index_ = 0;
  File file_;
  std::chrono::steady_clock::time_point opened_at_;
  std::string buf_;
  EventSerializer ser_;
  EventSerializer::File ser_file_;  // the current (or next) file's serializer state
  int64_t file_bytes_ = 0;          // written to the current file
  static constexpr size_t kGroupBytes = 256u << 10;
  static constexpr size_t kWriteBytes = 128u << 10;
};

}  // namespace ingestor
