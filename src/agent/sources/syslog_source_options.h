#pragma once
// Keys of the syslog sources (`syslogtcp`, `multiport_syslogtcp`, `syslogudp`) and of `netcatudp`
// (flume-components.md 1.5, 1.6.1): the ComponentSpec tables that parse, validate and print
// `--describe`, and the pure functions that turn Settings into options (no sockets).
// TLS (`ssl` and the keystore keys, 0.2) is accepted with ssl=false and refused with ssl=true;
// Flume's undocumented `format.*` custom pattern is refused with a message.

#include <cstdint>
#include <string>
#include <vector>

#include "agent/sources/syslog_parser.h"
#include "base/charset.h"
#include "core/config/spec.h"

namespace ingestor {

const ComponentSpec& syslog_tcp_source_spec();
const ComponentSpec& multiport_syslog_tcp_source_spec();
const ComponentSpec& syslog_udp_source_spec();
const ComponentSpec& netcat_udp_source_spec();

// Flume's smallest eventSize (smaller values are raised to it) and ours largest (memory per
// connection is about eventSize).
inline constexpr int64_t kSyslogMinEventSize = 10;
inline constexpr int64_t kSyslogMaxEventSize = 16 * 1024 * 1024;

struct SyslogTcpPort {
  uint16_t port = 0;  // 0: any free port
  Charset charset = Charset::kUtf8;
  bool charset_given = false;  // multiport: the body is decoded with `charset` and checked
};

// syslogtcp and multiport_syslogtcp.
struct SyslogTcpSourceOptions {
  bool multiport = false;
  std::string host;  // empty: all interfaces
  std::vector<SyslogTcpPort> ports;
  size_t event_size = 2500;
  SyslogKeepFields keep;
  std::string client_ip_header;
  std::string client_hostname_header;
  std::string port_header;  // multiport only
  size_t batch_size = 0;    // events per transaction at most (0: the channel's capacity)
};

Result<SyslogTcpSourceOptions> syslog_tcp_source_options(const Settings& s);
Result<SyslogTcpSourceOptions> multiport_syslog_tcp_source_options(const Settings& s);

// syslogudp and netcatudp.
struct UdpSourceOptions {
  bool syslog = true;  // false: netcatudp
  std::string host;    // empty: all interfaces
  uint16_t port = 0;
  SyslogKeepFields keep;
  std::string client_ip_header;
  std::string client_hostname_header;
  std::string remote_address_header;  // netcatudp
};

Result<UdpSourceOptions> syslog_udp_source_options(const Settings& s);
Result<UdpSourceOptions> netcat_udp_source_options(const Settings& s);

}  // namespace ingestor
