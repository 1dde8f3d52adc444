#pragma once
// Logging: spdlog behind a tiny facade so call sites stay short and the sink (stderr, a file) is
// chosen once at start. Log nothing per event above debug.

#include <string_view>

#include <spdlog/spdlog.h>

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

}  // namespace ingestor::log
