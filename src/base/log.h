#pragma once
// Logging: spdlog behind a tiny facade so call sites stay short and the sink (stderr, a file) is
// chosen once at start. Log nothing per event above debug.

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace ingestor::log {

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::trace;
using spdlog::warn;

// Sets the level from a name ("debug", "INFO", "warn", ...) or from Flume's
// `flume.root.logger` value ("INFO,console"). Unknown names leave the level as it is and
// return false.
bool set_level(std::string_view name);
// Logs to stderr with a timestamp, level and message.
void init_stderr();

// A value that came from the network (a key, a header, a path, a peer's message), made safe to put
// in a log line: control characters (C0, DEL), backslash and bytes that are not valid UTF-8 become
// `\n`, `\r`, `\t`, `\\`, `\xHH` escapes, so a value can neither forge a line nor drive a
// terminal. Valid UTF-8 above U+007F is kept. Values longer than `max_bytes` are cut and end with
// "...(N bytes)".
std::string escape(std::string_view value, size_t max_bytes = 1024);

// Lets through at most one log line per `interval` from a hot path (an accept loop failing with
// EMFILE, a peer sending garbage in a loop); `allow()` returns true when a line may be written, and
// `take_suppressed()` how many were swallowed since the last one allowed (to append "N more").
// Thread-safe.
class Throttle {
 public:
  explicit Throttle(std::chrono::milliseconds interval = std::chrono::seconds(1))
      : interval_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(interval).count()) {}
  bool allow();
  uint64_t take_suppressed() { return suppressed_.exchange(0); }

 private:
  int64_t interval_ns_;
  std::atomic<int64_t> next_ns_{0};
  std::atomic<uint64_t> suppressed_{0};
};

}  // namespace ingestor::log
