// Keys of syslogtcp, multiport_syslogtcp, syslogudp and netcatudp (flume-components.md 1.5,
// 1.6.1): Flume's defaults and aliases, refused keys, multiport's ports and charsets.
#include "agent/sources/syslog_source_options.h"

#include <gtest/gtest.h>

namespace ingestor {
namespace {

Settings settings(const ComponentSpec& spec, Context ctx, Diagnostics& d) {
  return Settings::validate(spec, ctx, "source", "r1", "a1.sources.r1.", d);
}

TEST(SyslogSourceOptions, SyslogTcpDefaultsAreFlumes) {
  Diagnostics d;
  auto o = syslog_tcp_source_options(
      settings(syslog_tcp_source_spec(), {{"host", "127.0.0.1"}, {"port", "5140"}}, d));
  ASSERT_FALSE(d.has_errors());
  ASSERT_TRUE(o);
  EXPECT_EQ(o->event_size, 2500u);
  EXPECT_FALSE(o->keep.any());
  EXPECT_FALSE(o->multiport);
  ASSERT_EQ(o->ports.size(), 1u);
  EXPECT_EQ(o->ports[0].port, 5140);
  EXPECT_EQ(syslog_tcp_source_spec().class_name, "org.apache.flume.source.SyslogTcpSource");
  // eventSize below 10 is raised to 10, as Flume.
  Diagnostics d2;
  o = syslog_tcp_source_options(
      settings(syslog_tcp_source_spec(), {{"host", "h"}, {"port", "0"}, {"eventSize", "5"}}, d2));
  EXPECT_EQ(o->event_size, 10u);
  // Missing host, TLS and format.* are errors.
  Diagnostics d3;
  settings(syslog_tcp_source_spec(), {{"port", "0"}}, d3);
  EXPECT_TRUE(d3.has_errors());
  Diagnostics d4;
  EXPECT_FALSE(syslog_tcp_source_options(
      settings(syslog_tcp_source_spec(), {{"host", "h"}, {"port", "0"}, {"ssl", "true"}}, d4)));
  EXPECT_FALSE(syslog_udp_source_options(
      settings(syslog_udp_source_spec(), {{"port", "0"}, {"format.regex", "(.*)"}}, d4)));
}

TEST(SyslogSourceOptions, MultiportPortsAndCharsets) {
  Diagnostics d;
  auto o = multiport_syslog_tcp_source_options(settings(multiport_syslog_tcp_source_spec(),
                                                        {{"ports", "5140 5141 0 0"},
                                                         {"charset.port.5141", "ISO-8859-1"},
                                                         {"portHeader", "port"},
                                                         {"readBufferSize", "2048"},
                                                         {"numProcessors", "4"}},
                                                        d));
  ASSERT_FALSE(d.has_errors());
  ASSERT_TRUE(o);
  ASSERT_EQ(o->ports.size(), 4u);
  EXPECT_EQ(o->ports[0].charset, Charset::kUtf8);
  EXPECT_EQ(o->ports[1].charset, Charset::kLatin1);
  EXPECT_EQ(o->batch_size, 100u);
  EXPECT_EQ(o->port_header, "port");
  EXPECT_TRUE(o->multiport);
  for (auto bad : {"5140 x", "70000", "5140 5140"}) {
    Diagnostics d2;
    EXPECT_FALSE(multiport_syslog_tcp_source_options(
        settings(multiport_syslog_tcp_source_spec(), {{"ports", bad}}, d2)))
        << bad;
  }
  Diagnostics d3;
  EXPECT_FALSE(multiport_syslog_tcp_source_options(settings(
      multiport_syslog_tcp_source_spec(), {{"ports", "0"}, {"charset.default", "UTF-16"}}, d3)));
}

TEST(SyslogSourceOptions, NetcatUdpAcceptsBothHeaderSpellings) {
  for (auto key : {"remoteAddressHeader", "remoteAddress"}) {
    Diagnostics d;
    auto o = netcat_udp_source_options(
        settings(netcat_udp_source_spec(), {{"port", "0"}, {key, "remote"}}, d));
    ASSERT_FALSE(d.has_errors()) << key;
    EXPECT_EQ(o->remote_address_header, "remote");
    EXPECT_FALSE(o->syslog);
  }
  Diagnostics d;
  auto o = syslog_udp_source_options(
      settings(syslog_udp_source_spec(), {{"port", "0"}, {"keepFields", "true"}}, d));
  EXPECT_TRUE(o->keep.all);
  EXPECT_TRUE(o->syslog);
}

}  // namespace
}  // namespace ingestor
