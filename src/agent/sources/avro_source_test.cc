// The avro source's configuration (pure functions) and its ipFilterRules; the wire path is tested
// with the avro sink in sinks/avro_sink_test.cc and against python3-avro in tests/test_avro_rpc.py.
#include "agent/sources/avro_source.h"

#include <gtest/gtest.h>

namespace ingestor {
namespace {

Result<AvroSourceOptions> options(Context ctx, std::vector<std::string>* warnings = nullptr) {
  Diagnostics d;
  Settings s = Settings::validate(avro_source_spec(), ctx, "source", "r1", "a1.sources.r1.", d);
  EXPECT_FALSE(d.has_errors());
  return avro_source_options(s, warnings);
}

TEST(AvroSourceOptions, FlumesKeys) {
  std::vector<std::string> w;
  auto o = options(
      {{"bind", "127.0.0.1"}, {"port", "4141"}, {"threads", "x"}, {"compression-type", "DEFLATE"}},
      &w);
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->bind, "127.0.0.1");
  EXPECT_EQ(o->port, 4141);
  EXPECT_TRUE(o->deflate);
  ASSERT_EQ(w.size(), 1u);  // threads is not an integer: a warning only
  EXPECT_NE(w[0].find("threads"), std::string::npos);
  auto bad = options({{"bind", "0.0.0.0"}, {"port", "1"}, {"compression-type", "gzip"}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("compression-type"), std::string::npos);
  auto ssl = options({{"bind", "0.0.0.0"}, {"port", "1"}, {"ssl", "true"}});
  ASSERT_FALSE(ssl);
  EXPECT_NE(ssl.error().message.find("keystore must be specified"), std::string::npos);
  auto both = options({{"bind", "0.0.0.0"},
                       {"port", "1"},
                       {"ssl", "true"},
                       {"keystore", "/nonexistent"},
                       {"compression-type", "deflate"}});
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().message.find("TLS together with compression-type = deflate"),
            std::string::npos);
}

TEST(AvroSourceOptions, IpFilterNeedsRules) {
  auto o = options({{"bind", "0.0.0.0"}, {"port", "1"}, {"ipFilter", "true"}});
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message.find("ipFilterRules is not defined"), std::string::npos);
  auto ok = options({{"bind", "0.0.0.0"},
                     {"port", "1"},
                     {"ipFilter", "true"},
                     {"ipFilterRules", "allow:ip:127.*, allow:name:localhost ,deny:ip:*"}});
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(ok->rules.size(), 3u);
  EXPECT_TRUE(ok->rules[1].by_name);
  EXPECT_EQ(ok->rules[1].pattern, "localhost");
  EXPECT_FALSE(ok->rules[2].allow);
}

// The malformed rules of Flume's TestAvroSource are refused at configure, with Flume's message.
TEST(AvroSourceOptions, MalformedRulesAreRefused) {
  for (const char* rule : {"homer:ip:45.4.23.1", "allow:sleeps:*", "allow:ip",
                           "allow:ip:", "Allow:ip:*", "allow:IP:*", "", ","}) {
    auto r = parse_ip_filter_rules(rule);
    ASSERT_FALSE(r) << rule;
    EXPECT_NE(r.error().message.find("should look like <'allow'  or 'deny'>"), std::string::npos);
  }
}

// testValidIpFilterAllows / Denys, with 127.0.0.1 and this machine's address.
TEST(AvroSourceIpFilter, FirstMatchDecidesAndNoMatchAccepts) {
  auto rules = [](const char* r) { return parse_ip_filter_rules(r).value(); };
  auto name = [] { return std::string("localhost"); };
  EXPECT_TRUE(ip_filter_allows(rules("allow:ip:127.*,deny:ip:*"), "127.0.0.1", true, name));
  EXPECT_FALSE(ip_filter_allows(rules("allow:ip:127.*,deny:ip:*"), "10.1.2.3", false, name));
  EXPECT_TRUE(ip_filter_allows(rules("allow:name:localhost,deny:ip:*"), "10.1.2.3", true, name));
  EXPECT_FALSE(ip_filter_allows(rules("allow:name:localhost,deny:ip:*"), "10.1.2.3", false, name));
  EXPECT_FALSE(ip_filter_allows(rules("deny:ip:127.0.0.?"), "127.0.0.1", true, name));
  EXPECT_TRUE(ip_filter_allows(rules("deny:ip:127.0.0.?"), "127.0.0.10", true, name));
  EXPECT_TRUE(ip_filter_allows(rules("deny:ip:10.*"), "127.0.0.1", true, name));  // no match
  EXPECT_FALSE(ip_filter_allows(rules("deny:name:*.example.com"), "10.0.0.1", false,
                                [] { return std::string("a.b.example.com"); }));
  // `.` is literal: 127x0x0x1 does not match 127.0.0.1.
  EXPECT_FALSE(ip_pattern_match("127.0.0.1", "127x0x0x1"));
  EXPECT_TRUE(ip_pattern_match("*", ""));
  EXPECT_TRUE(ip_pattern_match("1*2*3", "1xx2yy3"));
  EXPECT_FALSE(ip_pattern_match("1*2*3", "1xx2yy"));
}

}  // namespace
}  // namespace ingestor
