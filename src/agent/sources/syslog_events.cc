#include "agent/sources/syslog_events.h"

#include <netdb.h>

#include <chrono>

namespace ingestor {

void SyslogEventCounters::collect(MetricList& out) const {
  out.emplace_back("SyslogInvalidCount", std::to_string(invalid.get()));
  out.emplace_back("SyslogIncompleteCount", std::to_string(incomplete.get()));
}

std::string reverse_lookup(const sockaddr* addr, socklen_t len) {
  char host[NI_MAXHOST];
  if (::getnameinfo(addr, len, host, sizeof host, nullptr, 0, 0) == 0) return host;
  if (::getnameinfo(addr, len, host, sizeof host, nullptr, 0, NI_NUMERICHOST) == 0) return host;
  return "";
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Event make_syslog_event(std::string_view msg, const ChunkRef& chunk, bool truncated, bool decode,
                        Charset charset, const SyslogParserOptions& parser, int64_t now,
                        const SyslogEventContext& ctx, const SyslogEventHeaders& add,
                        bool* decode_failed, SyslogStampCache* stamps) {
  Event e;
  std::string decoded;
  std::string_view text = msg;
  bool raw_invalid = false;
  if (decode) {
    if (charset == Charset::kUtf8) {
      raw_invalid = !is_valid_utf8(msg);
    } else if (charset != Charset::kAscii || !is_valid_utf8(msg)) {
      decoded = decode_to_utf8(msg, charset);
      text = decoded;
    }
  }
  if (decode_failed) *decode_failed = raw_invalid;
  if (raw_invalid) {
    e.headers.set("flume.syslog.status", "Invalid");
    e.body = Slice(chunk, msg.data(), msg.size());
  } else {
    SyslogMessage m = parse_syslog_message(text, truncated, parser, now, stamps);
    e.headers = std::move(m.headers);
    if (m.prefix.empty() && text.data() == msg.data()) {
      e.body = Slice(chunk, msg.data() + m.body_begin, m.body_end - m.body_begin);
    } else {
      e.body = Slice::copy_of(syslog_body(text, m));
    }
  }
  if (!add.port.empty()) e.headers.set(add.port, std::to_string(ctx.local_port));
  if (!add.client_ip.empty()) e.headers.set(add.client_ip, ctx.peer_ip);
  if (!add.client_hostname.empty()) e.headers.set(add.client_hostname, ctx.peer_hostname);
  return e;
}

void note_bad_syslog_event(SyslogEventCounters& c, std::string_view type, std::string_view name,
                           const Event& e, const SyslogEventContext& ctx, std::string_view msg) {
  const std::string* st = e.headers.find("flume.syslog.status");
  if (!st) return;
  const bool invalid = *st == "Invalid";
  (invalid ? c.invalid : c.incomplete).add();
  if (!c.throttle.allow()) return;
  const uint64_t more = c.throttle.take_suppressed();
  log::warn("{} source {}: {} syslog message from {}:{}: {}{}", type, name,
            invalid ? "invalid" : "incomplete (longer than eventSize)", log::escape(ctx.peer_ip),
            ctx.peer_port, log::escape(msg, 200),
            more ? " (" + std::to_string(more) + " more not logged)" : std::string());
}

}  // namespace ingestor
