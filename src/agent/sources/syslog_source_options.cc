#include "agent/sources/syslog_source_options.h"

#include <algorithm>

namespace ingestor {

namespace {

std::vector<KeySpec> tls_keys() {
  return {
      {"ssl", KeyType::kBool, "false", false, "TLS (not supported yet: true is an error)"},
      {"keystore", KeyType::kString, std::nullopt, false, "Keystore path (TLS)"},
      {"keystore-password", KeyType::kString, std::nullopt, false, "Keystore password (TLS)"},
      {"keystore-type", KeyType::kString, "JKS", false, "Keystore type (TLS)"},
      {"exclude-protocols", KeyType::kList, "SSLv3", false, "TLS protocols to exclude"},
      {"include-protocols", KeyType::kList, std::nullopt, false, "TLS protocols to include"},
      {"exclude-cipher-suites", KeyType::kList, std::nullopt, false, "Cipher suites to exclude"},
      {"include-cipher-suites", KeyType::kList, std::nullopt, false, "Cipher suites to include"},
  };
}

std::vector<KeySpec> common_keys() {
  return {
      {"keepFields", KeyType::kString, "none", false,
       "Header fields kept in front of the body: none, all, or some of priority version "
       "timestamp hostname"},
      {"clientIPHeader", KeyType::kString, std::nullopt, false,
       "Header that gets the client's IP address"},
      {"clientHostnameHeader", KeyType::kString, std::nullopt, false,
       "Header that gets the client's host name (reverse DNS)"},
      {"format.*", KeyType::kPrefix, std::nullopt, false,
       "Flume's undocumented custom pattern (format.regex ...): not supported, an error"},
  };
}

// `keys` followed by the common keys, and the TLS keys when `tls`.
std::vector<KeySpec> with_common(std::vector<KeySpec> keys, bool tls) {
  for (auto& k : common_keys()) keys.push_back(k);
  if (tls)
    for (auto& k : tls_keys()) keys.push_back(k);
  return keys;
}

Status refuse_unsupported(const Settings& s) {
  if (s.boolean("ssl"))
    return make_error(Errc::kConfig, "ssl: TLS is not supported by the syslog sources yet");
  if (!s.sub("format.").empty())
    return make_error(Errc::kConfig,
                      "format.*: Flume's custom syslog pattern is not supported; use the "
                      "regex_extractor interceptor on the raw message (keepFields = all)");
  return {};
}

size_t event_size_of(const Settings& s) {
  // Flume raises a smaller eventSize to its minimum.
  return static_cast<size_t>(std::max<int64_t>(s.i64("eventSize"), kSyslogMinEventSize));
}

}  // namespace

const ComponentSpec& syslog_tcp_source_spec() {
  static const ComponentSpec spec{
      "source", "syslogtcp", "org.apache.flume.source.SyslogTcpSource",
      "Syslog over TCP (RFC 5424 and RFC 3164; newline or RFC 6587 octet-counted framing).",
      with_common(
          {
              {"host", KeyType::kString, std::nullopt, true,
               "Host name or IP address to listen on"},
              {"port", KeyType::kInt, std::nullopt, true, "TCP port (0: any free port)", 0, 65535},
              {"eventSize", KeyType::kInt, "2500", false,
               "Largest message in bytes (at least 10); longer ones are cut and flagged Incomplete",
               1, kSyslogMaxEventSize},
              {"batchSize", KeyType::kInt, "100", false,
               "Most events per transaction (not in Flume's syslogtcp, which puts one at a time)",
               1},
          },
          true)};
  return spec;
}

const ComponentSpec& multiport_syslog_tcp_source_spec() {
  static const ComponentSpec spec{
      "source", "multiport_syslogtcp", "org.apache.flume.source.MultiportSyslogTCPSource",
      "Syslog over TCP on several ports, with a charset and a port header per port.",
      with_common(
          {
              {"host", KeyType::kString, std::nullopt, false,
               "Host name or IP address to listen on (all interfaces when unset)"},
              {"ports", KeyType::kList, std::nullopt, true,
               "Space-separated TCP ports (0: any free port)"},
              {"portHeader", KeyType::kString, std::nullopt, false,
               "Header that gets the local port a message came in on"},
              {"charset.default", KeyType::kString, "UTF-8", false, "Charset of the messages"},
              {"charset.port.*", KeyType::kPrefix, std::nullopt, false,
               "Charset of the messages on one port (charset.port.5140 = ISO-8859-1)"},
              {"eventSize", KeyType::kInt, "2500", false,
               "Largest message in bytes (at least 10); longer ones are cut and flagged Incomplete",
               1, kSyslogMaxEventSize},
              {"batchSize", KeyType::kInt, "100", false, "Most events per transaction", 1},
              {"readBufferBytes", KeyType::kInt, "1024", false,
               "MINA's read buffer (accepted and ignored: reads are 64 KiB)", 1, INT32_MAX,
               "readBufferSize"},
              {"numProcessors", KeyType::kInt, std::nullopt, false,
               "MINA's I/O processors (accepted and ignored: the agent's I/O threads serve)", 1},
          },
          true)};
  return spec;
}

const ComponentSpec& syslog_udp_source_spec() {
  static const ComponentSpec spec{
      "source", "syslogudp", "org.apache.flume.source.SyslogUDPSource",
      "Syslog over UDP: one datagram (up to 64 KiB) is one message.",
      with_common(
          {
              {"host", KeyType::kString, std::nullopt, false,
               "Host name or IP address to listen on (all interfaces when unset)"},
              {"port", KeyType::kInt, std::nullopt, true, "UDP port (0: any free port)", 0, 65535},
          },
          false)};
  return spec;
}

const ComponentSpec& netcat_udp_source_spec() {
  static const ComponentSpec spec{
      "source",
      "netcatudp",
      "org.apache.flume.source.NetcatUdpSource",
      "One event per UDP datagram (up to 64 KiB): the bytes before its first newline.",
      {
          {"bind", KeyType::kString, std::nullopt, false,
           "Host name or IP address to listen on (all interfaces when unset)"},
          {"port", KeyType::kInt, std::nullopt, true, "UDP port (0: any free port)", 0, 65535},
          {"remoteAddressHeader",
           KeyType::kString,
           std::nullopt,
           false,
           "Header that gets the sender's address (/127.0.0.1:54321)",
           {},
           {},
           "remoteAddress"},
      }};
  return spec;
}

Result<SyslogTcpSourceOptions> syslog_tcp_source_options(const Settings& s) {
  if (auto st = refuse_unsupported(s); !st) return st.error();
  SyslogTcpSourceOptions o;
  o.host = s.str("host");
  o.ports.push_back({static_cast<uint16_t>(s.i64("port")), Charset::kUtf8, false});
  o.event_size = event_size_of(s);
  o.keep = parse_keep_fields(s.str("keepFields"));
  o.client_ip_header = s.str("clientIPHeader");
  o.client_hostname_header = s.str("clientHostnameHeader");
  o.batch_size = static_cast<size_t>(s.i64("batchSize"));
  return o;
}

Result<SyslogTcpSourceOptions> multiport_syslog_tcp_source_options(const Settings& s) {
  if (auto st = refuse_unsupported(s); !st) return st.error();
  SyslogTcpSourceOptions o;
  o.multiport = true;
  o.host = s.str("host");
  o.event_size = event_size_of(s);
  o.keep = parse_keep_fields(s.str("keepFields"));
  o.client_ip_header = s.str("clientIPHeader");
  o.client_hostname_header = s.str("clientHostnameHeader");
  o.port_header = s.str("portHeader");
  o.batch_size = static_cast<size_t>(s.i64("batchSize"));
  auto def = charset_from_name(s.str("charset.default"));
  if (!def)
    return make_error(Errc::kConfig,
                      "charset.default: unsupported charset '" + s.str("charset.default") + "'");
  const Context per_port = s.sub("charset.port.");
  for (const auto& word : s.list("ports")) {
    int64_t v = 0;
    bool overflow = false;
    if (!parse_java_integer(word, v, overflow) || overflow || v < 0 || v > 65535)
      return make_error(Errc::kConfig, "ports: '" + word + "' is not a port (0 to 65535)");
    SyslogTcpPort p{static_cast<uint16_t>(v), *def, s.has("charset.default")};
    for (const auto& [k, cs] : per_port) {
      int64_t pv = 0;
      if (parse_java_integer(k, pv, overflow) && !overflow && pv == v) {
        auto c = charset_from_name(cs);
        if (!c)
          return make_error(Errc::kConfig,
                            "charset.port." + k + ": unsupported charset '" + cs + "'");
        p.charset = *c;
        p.charset_given = true;
      }
    }
    if (p.charset == Charset::kUtf16 || p.charset == Charset::kUtf16Be ||
        p.charset == Charset::kUtf16Le || p.charset == Charset::kUtf32 ||
        p.charset == Charset::kUtf32Be || p.charset == Charset::kUtf32Le)
      return make_error(Errc::kConfig, std::string("charset: ") + charset_name(p.charset) +
                                           " cannot be cut into lines byte by byte; use an "
                                           "ASCII-compatible charset (UTF-8, ISO-8859-1)");
    // Port 0 may repeat (each gets its own free port); a real port only once.
    for (const auto& q : o.ports)
      if (q.port == p.port && p.port != 0)
        return make_error(Errc::kConfig, "ports: " + word + " is listed twice");
    o.ports.push_back(p);
  }
  if (o.ports.empty())
    return make_error(Errc::kConfig,
                      "Must define config parameter for MultiportSyslogTCPSource: ports");
  return o;
}

Result<UdpSourceOptions> syslog_udp_source_options(const Settings& s) {
  if (auto st = refuse_unsupported(s); !st) return st.error();
  UdpSourceOptions o;
  o.host = s.str("host");
  o.port = static_cast<uint16_t>(s.i64("port"));
  o.keep = parse_keep_fields(s.str("keepFields"));
  o.client_ip_header = s.str("clientIPHeader");
  o.client_hostname_header = s.str("clientHostnameHeader");
  return o;
}

Result<UdpSourceOptions> netcat_udp_source_options(const Settings& s) {
  UdpSourceOptions o;
  o.syslog = false;
  o.host = s.str("bind");
  o.port = static_cast<uint16_t>(s.i64("port"));
  o.remote_address_header = s.str("remoteAddressHeader");
  return o;
}

}  // namespace ingestor
