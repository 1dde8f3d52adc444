#pragma once
// LoggerSink: Flume's `logger` sink. Logs each event at INFO in Flume's format:
//   Event: { headers:{k=v} body: 48 65 6C 6C 6F                                  Hello }
// (commons-io HexDump without its first offset, of at most maxBytesToLog bytes). For debugging;
// not meant for volume. Unlike Flume it takes batches and has counters.

#include "core/config/spec.h"
#include "core/sink.h"

namespace ingestor {

const ComponentSpec& logger_sink_spec();

// Flume's EventHelper.dumpEvent: "{ headers:{...} body: <hexdump> }".
std::string dump_event(const Event& e, size_t max_bytes);

class LoggerSink final : public Sink {
 public:
  LoggerSink(std::string name, const Settings& s);
  Status start() override;
  void stop() override;
  Result<SinkStatus> process() override;

 private:
  size_t max_bytes_;
};

}  // namespace ingestor
