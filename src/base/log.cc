#include "base/log.h"

#include <algorithm>
#include <cctype>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>

namespace ingestor::log {

bool set_level(std::string_view name) {
  std::string n(name.substr(0, name.find(',')));
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  if (n == "warning") n = "warn";
  if (n == "fatal") n = "critical";
  if (n == "all") n = "trace";
  auto lvl = spdlog::level::from_str(n);
  if (lvl == spdlog::level::off && n != "off") return false;
  spdlog::set_level(lvl);
  return true;
}

void init_stderr() {
  auto logger = spdlog::stderr_logger_mt("ingestor");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
}

}  // namespace ingestor::log
