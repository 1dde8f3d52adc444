#include "base/log.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "base/charset.h"

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

std::string escape(std::string_view value, size_t max_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::string_view v = value.substr(0, max_bytes);
  std::string out;
  out.reserve(v.size() + 16);
  size_t i = 0;
  while (i < v.size()) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c >= 0x80) {
      // Keep a whole valid UTF-8 sequence; escape a byte that does not start one.
      const size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      if (len > 1 && i + len <= v.size() && is_valid_utf8(v.substr(i, len))) {
        out.append(v.substr(i, len));
        i += len;
        continue;
      }
    }
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7F || c >= 0x80) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  if (value.size() > max_bytes) out += "...(" + std::to_string(value.size()) + " bytes)";
  return out;
}

bool Throttle::allow() {
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t next = next_ns_.load(std::memory_order_relaxed);
  if (now >= next && next_ns_.compare_exchange_strong(next, now + interval_ns_)) return true;
  suppressed_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace ingestor::log
