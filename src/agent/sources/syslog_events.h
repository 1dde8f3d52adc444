#pragma once
// From a framed syslog message to an Event, shared by the TCP and UDP syslog sources: parsing
// (syslog_parser.h), multiport's charset check, the client and port headers, and the counters and
// throttled log lines for Invalid and Incomplete messages. No Asio here.

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/sources/syslog_parser.h"
#include "base/charset.h"
#include "base/log.h"
#include "core/event.h"
#include "core/metrics.h"

namespace ingestor {

// Who sent a message: filled once per connection (TCP) or per datagram (UDP).
struct SyslogEventContext {
  std::string peer_ip;  // "127.0.0.1"
  uint16_t peer_port = 0;
  std::string peer_hostname;  // reverse DNS, or the IP text; empty unless asked for
  int local_port = 0;         // the port the message came in on (portHeader)
  void set_peer(std::string ip, uint16_t port) {
    peer_ip = std::move(ip);
    peer_port = port;
  }
};

// Which headers a source adds besides the parsed ones (empty name: none).
struct SyslogEventHeaders {
  std::string client_ip;
  std::string client_hostname;
  std::string port;
};

// Counters beyond Flume's, and the throttled warnings. Thread-safe.
struct SyslogEventCounters {
  Counter invalid, incomplete;
  log::Throttle throttle;
  void collect(MetricList& out) const;
};

// Java's InetAddress.getHostName(): the name from reverse DNS, or the numeric address when there
// is none. Blocks on the resolver.
std::string reverse_lookup(const sockaddr* addr, socklen_t len);

int64_t now_ms();

// The event of one message `msg`, which lies in `chunk` (its body is a slice of it when it can
// be). `decode`: multiport, whose messages are decoded with `charset` (stored as UTF-8); one that
// does not decode is kept raw with flume.syslog.status=Invalid and `*decode_failed` set.
// `stamps`: the caller's stream's SyslogStampCache, or null.
Event make_syslog_event(std::string_view msg, const ChunkRef& chunk, bool truncated, bool decode,
                        Charset charset, const SyslogParserOptions& parser, int64_t now,
                        const SyslogEventContext& ctx, const SyslogEventHeaders& add,
                        bool* decode_failed, SyslogStampCache* stamps = nullptr);

// Counts an Invalid or Incomplete event and logs it (escaped, once a second at most).
void note_bad_syslog_event(SyslogEventCounters& c, std::string_view type, std::string_view name,
                           const Event& e, const SyslogEventContext& ctx, std::string_view msg);

}  // namespace ingestor
