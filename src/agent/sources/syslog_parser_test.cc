// Syslog parsing: Flume's checklist (flume-components.md 1.6: TestSyslogUtils, TestSyslogParser),
// the deviations named in syslog_parser.h, malformed input, and the TCP framer.
#include "agent/sources/syslog_parser.h"

#include <gtest/gtest.h>

#include "base/timezone.h"

namespace ingestor {
namespace {

// 2012-04-13T11:11:11 UTC.
constexpr int64_t kStamp = 1334315471000;
// "now" for the tests: 2024-06-15T12:00:00Z.
constexpr int64_t kNow = 1718452800000;

SyslogParserOptions utc(SyslogKeepFields keep = {}) {
  SyslogParserOptions o;
  o.keep = keep;
  o.zone = TimeZone::utc();
  return o;
}

struct Parsed {
  SyslogMessage m;
  std::string body;
  std::string h(std::string_view k) const {
    auto* v = m.headers.find(k);
    return v ? *v : "<none>";
  }
};

Parsed parse(std::string_view msg, const SyslogParserOptions& o = utc(), bool truncated = false,
             int64_t now = kNow) {
  Parsed p{parse_syslog_message(msg, truncated, o, now), {}};
  p.body = syslog_body(msg, p.m);
  return p;
}

TEST(SyslogParser, Rfc5424HeadersAsFlume) {
  // TestHeader0: no version, +08:00.
  auto p = parse("<10>2012-04-13T11:11:11+08:00 ubuntu-11.cloudera.com some msg");
  EXPECT_EQ(p.h("Facility"), "1");
  EXPECT_EQ(p.h("Severity"), "2");
  EXPECT_EQ(p.h("priority"), "10");
  EXPECT_EQ(p.h("version"), "<none>");
  EXPECT_EQ(p.h("timestamp"), std::to_string(kStamp - 8 * 3600 * 1000));
  EXPECT_EQ(p.h("host"), "ubuntu-11.cloudera.com");
  EXPECT_EQ(p.h("flume.syslog.status"), "<none>");
  EXPECT_EQ(p.body, "some msg");
  EXPECT_EQ(p.m.prefix, "");  // a slice of the input
  // TestHeader1, 2, 4-8.
  p = parse("<10>1 2012-04-13T11:11:11 ubuntu-11.cloudera.com some msg");
  EXPECT_EQ(p.h("version"), "1");
  EXPECT_EQ(p.h("timestamp"), std::to_string(kStamp));  // local time = UTC here
  p = parse("<10>1 2012-04-13T11:11:11Z ubuntu-11.cloudera.com some msg");
  EXPECT_EQ(p.h("timestamp"), std::to_string(kStamp));
  p = parse("<10>1 - ubuntu-11.cloudera.com some msg");
  EXPECT_EQ(p.h("timestamp"), "<none>");
  EXPECT_EQ(p.h("host"), "ubuntu-11.cloudera.com");
  p = parse("<10>1 2012-04-13T11:11:11Z - some msg");
  EXPECT_EQ(p.h("host"), "<none>");
  EXPECT_EQ(p.body, "some msg");
  p = parse("<10>1 2012-04-13T11:11:11.999 ubuntu-11.cloudera.com some msg");
  EXPECT_EQ(p.h("timestamp"), std::to_string(kStamp + 999));
  // TestHeader11 (FLUME-2497): microseconds cut to milliseconds.
  p = parse("<10>1 2014-10-03T17:20:01.123456-07:00 h m");
  EXPECT_EQ(p.h("timestamp"), "1412382001123");
  // The 5424 body keeps APP-NAME, PROCID, MSGID and the structured data.
  p = parse(
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
      "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] An application event");
  EXPECT_EQ(p.h("Facility"), "20");
  EXPECT_EQ(p.h("Severity"), "5");
  EXPECT_EQ(p.h("timestamp"), "1065910455003");
  EXPECT_EQ(p.body,
            "evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] An "
            "application event");
}

TEST(SyslogParser, Rfc5424DatesAreInstants) {
  // TestSyslogParser.testRfc5424DateParsing (a fraction is a fraction, the zone applies).
  const auto& z = *TimeZone::utc();
  int64_t ms = 0;
  ASSERT_TRUE(parse_rfc5424_stamp("1985-04-12T23:20:50.52Z", z, ms));
  EXPECT_EQ(ms, 482196050520);
  ASSERT_TRUE(parse_rfc5424_stamp("1985-04-12T19:20:50.52-04:00", z, ms));
  EXPECT_EQ(ms, 482196050520);
  ASSERT_TRUE(parse_rfc5424_stamp("2003-08-24T05:14:15.000003-07:00", z, ms));
  EXPECT_EQ(ms, 1061727255000);
  ASSERT_TRUE(parse_rfc5424_stamp("2012-04-13T08:08:08.0001+00:00", z, ms));
  EXPECT_EQ(ms, 1334304488000);
  // Impossible dates: no timestamp, the rest still parsed.
  for (auto bad : {"2012-13-01T00:00:00Z", "2012-02-30T00:00:00Z", "2012-04-13T25:00:00Z",
                   "2012-04-13T10:61:00Z", "2012-04-13T10:00:00+24:00"}) {
    EXPECT_FALSE(parse_rfc5424_stamp(bad, z, ms)) << bad;
    auto p = parse(std::string("<10>1 ") + bad + " host msg");
    EXPECT_EQ(p.h("timestamp"), "<none>") << bad;
    EXPECT_EQ(p.h("host"), "host");
    EXPECT_EQ(p.body, "msg");
  }
}

TEST(SyslogParser, LocalZoneWithoutOffset) {
  auto paris = TimeZone::load("Europe/Paris");
  if (!paris) GTEST_SKIP() << "no tzdata";
  SyslogParserOptions o = utc();
  o.zone = *paris;
  auto p = parse("<10>1 2012-04-13T11:11:11 h m", o);  // CEST, +02:00
  EXPECT_EQ(p.h("timestamp"), std::to_string(kStamp - 2 * 3600 * 1000));
  p = parse("<10>Jan 15 10:00:00 h m", o);  // CET, +01:00, year of kNow
  EXPECT_EQ(p.h("timestamp"), "1705309200000");
}

TEST(SyslogParser, Rfc3164YearsAroundNow) {
  // TestHeader9/10: the current year; two spaces before a one-digit day.
  auto p = parse("<10>Apr 11 13:14:04 ubuntu-11.cloudera.com some msg");
  EXPECT_EQ(p.h("timestamp"), "1712841244000");  // 2024-04-11T13:14:04Z
  EXPECT_EQ(p.h("host"), "ubuntu-11.cloudera.com");
  EXPECT_EQ(p.h("priority"), "10");
  EXPECT_EQ(p.body, "some msg");
  p = parse("<10>Apr  1 13:14:04 ubuntu-11.cloudera.com some msg");
  EXPECT_EQ(p.h("timestamp"), "1711977244000");
  // TestRfc3164HeaderApacheLogWithNulls.
  p = parse(
      "<10>Apr  1 13:14:04 ubuntu-11.cloudera.com - hyphen_null_breaks_5424_pattern "
      "[07/Jun/2012:14:46:44 -0600]");
  EXPECT_EQ(p.h("timestamp"), "1711977244000");
  EXPECT_EQ(p.body, "- hyphen_null_breaks_5424_pattern [07/Jun/2012:14:46:44 -0600]");
  // TestRfc3164Dates: 10 months back to 1 month ahead keep their year.
  const auto& z = *TimeZone::utc();
  int64_t ms = 0;
  ASSERT_TRUE(parse_rfc3164_stamp("Aug 20 00:00:00", z, kNow, ms));  // 10 months back
  EXPECT_EQ(ms, 1692489600000);                                      // 2023-08-20
  ASSERT_TRUE(parse_rfc3164_stamp("Jul 10 00:00:00", z, kNow, ms));  // < 1 month ahead
  EXPECT_EQ(ms, 1720569600000);                                      // 2024-07-10
  // New Year: a Dec 31 message received on Jan 1 is last year; a Jan 1 message received on
  // Dec 31 is next year (Flume moves it back a year instead).
  const int64_t jan1 = 1704067200000 + 60000;  // 2024-01-01T00:01:00Z
  ASSERT_TRUE(parse_rfc3164_stamp("Dec 31 23:59:59", z, jan1, ms));
  EXPECT_EQ(ms, 1704067199000);         // 2023-12-31T23:59:59Z
  const int64_t dec31 = 1735689540000;  // 2024-12-31T23:59:00Z
  ASSERT_TRUE(parse_rfc3164_stamp("Jan  1 00:00:30", z, dec31, ms));
  EXPECT_EQ(ms, 1735689630000);  // 2025-01-01T00:00:30Z
  // Impossible dates.
  for (auto bad : {"Foo 11 13:14:04", "Feb 30 10:00:00", "Apr 11 24:00:00", "Apr 32 10:00:00",
                   "Apr  0 10:00:00"})
    EXPECT_FALSE(parse_rfc3164_stamp(bad, z, kNow, ms)) << bad;
  p = parse("<10>Foo 11 13:14:04 host msg");
  EXPECT_EQ(p.h("timestamp"), "<none>");
  EXPECT_EQ(p.h("host"), "host");
  // Feb 29 exists in 2024 only.
  EXPECT_TRUE(parse_rfc3164_stamp("Feb 29 10:00:00", z, kNow, ms));
  EXPECT_FALSE(parse_rfc3164_stamp("Feb 29 10:00:00", z, 1688212800000, ms));  // from 2023-07
}

TEST(SyslogParser, Rfc3164StampCacheGivesWhatTheParseGives) {
  // A connection's cache: the same stamp within the same second of receipt is converted once;
  // another second, another zone or another stamp converts again.
  SyslogStampCache cache;
  auto with = [&](std::string_view msg, const SyslogParserOptions& o, int64_t now) {
    SyslogMessage m = parse_syslog_message(msg, false, o, now, &cache);
    const std::string* v = m.headers.find("timestamp");
    return v ? *v : std::string("<none>");
  };
  const auto o = utc();
  const SyslogParserOptions paris = [] {
    auto p = utc();
    p.zone = *TimeZone::load("Europe/Paris");
    return p;
  }();
  // Consecutive parses differ in one part of the key only: the zone (innermost), the second of
  // receipt (a year apart around New Year), the text.
  for (std::string_view msg : {"<10>Dec 31 23:59:59 h m", "<10>Jan  1 00:00:30 h m",
                               "<10>Jan  1 00:00:30 h m", "<10>Feb 30 00:00:00 h m"}) {
    for (int64_t now :
         {kNow, kNow + 999, kNow + 1000, int64_t{1704067260000}, int64_t{1735689540000}}) {
      for (const auto* opts : {&o, &paris, &o}) {
        EXPECT_EQ(with(msg, *opts, now), parse(msg, *opts, false, now).h("timestamp"))
            << msg << " at " << now;
      }
    }
  }
}

TEST(SyslogParser, BadEventsAreInvalidWithTheRawLine) {
  // testExtractBadEvent1-4, and malformed input.
  for (std::string bad :
       {"<10F> bad bad data", "hi guys! <10> bad bad data", "<> bad",
        "<123456789012345678901234567890>x", "", "<", "<1", "<1234>x", "\xff\xfe<10>", " <10>x"}) {
    auto p = parse(bad);
    EXPECT_EQ(p.h("Facility"), "0") << bad;
    EXPECT_EQ(p.h("Severity"), "0") << bad;
    EXPECT_EQ(p.h("flume.syslog.status"), "Invalid") << bad;
    EXPECT_EQ(p.h("priority"), "<none>") << bad;
    EXPECT_EQ(p.body, bad);
    // Invalid wins over Incomplete.
    EXPECT_EQ(parse(bad, utc(), true).h("flume.syslog.status"), "Invalid");
  }
}

TEST(SyslogParser, ValidPriorityWithoutPatternKeepsTheRawLine) {
  auto p = parse("<10>Good good good data");
  EXPECT_EQ(p.h("Facility"), "1");
  EXPECT_EQ(p.h("Severity"), "2");
  EXPECT_EQ(p.h("flume.syslog.status"), "<none>");
  EXPECT_EQ(p.h("priority"), "<none>");  // not carried over from anything (Flume's leak)
  EXPECT_EQ(p.body, "<10>Good good good data");
  // The largest priority, and a 5424 message cut in its structured data still parses (its
  // message is free text for Flume's pattern); cut in the stamp it does not.
  p = parse("<999>1 2012-04-13T11:11:11Z h app - - [id a=\"b", utc(), true);
  EXPECT_EQ(p.h("Facility"), "124");
  EXPECT_EQ(p.h("Severity"), "7");
  EXPECT_EQ(p.h("flume.syslog.status"), "Incomplete");
  EXPECT_EQ(p.body, "app - - [id a=\"b");
  p = parse("<13>1 2012-04-13T11:1", utc(), true);
  EXPECT_EQ(p.h("flume.syslog.status"), "Incomplete");
  EXPECT_EQ(p.h("timestamp"), "<none>");
  EXPECT_EQ(p.body, "<13>1 2012-04-13T11:1");
  // A "\r" (CRLF senders) or a NEL in the message defeats Flume's `.*`: raw line.
  p = parse("<10>1 2012-04-13T11:11:11Z h msg\r");
  EXPECT_EQ(p.body, "<10>1 2012-04-13T11:11:11Z h msg\r");
  p = parse(
      "<10>1 2012-04-13T11:11:11Z h a\xc2\x85"
      "b");
  EXPECT_EQ(p.h("host"), "<none>");
  // U+2028 and U+2029 too; their lead bytes alone (or before other bytes) do not.
  EXPECT_EQ(parse("<10>1 2012-04-13T11:11:11Z h a\xe2\x80\xa8").h("host"), "<none>");
  EXPECT_EQ(parse("<10>Apr 11 13:14:04 h a\xe2\x80\xa9").h("host"), "<none>");
  EXPECT_EQ(parse("<10>Apr 11 13:14:04 h \xc2\xa0\xe2\x82\xac\xe2\x80\xc2").h("host"), "h");
  // Invalid UTF-8 in the message is kept byte for byte.
  p = parse("<10>1 2012-04-13T11:11:11Z h caf\xe9");
  EXPECT_EQ(p.h("host"), "h");
  EXPECT_EQ(p.body, "caf\xe9");
  // An empty message: Flume's body is then the raw line.
  p = parse("<10>1 2012-04-13T11:11:11Z h ");
  EXPECT_EQ(p.h("host"), "h");
  EXPECT_EQ(p.body, "<10>1 2012-04-13T11:11:11Z h ");
}

TEST(SyslogParser, KeepFields) {
  const std::string msg = "<10>1 2012-04-13T11:11:11+08:00 ubuntu-11.cloudera.com some msg";
  EXPECT_EQ(parse(msg, utc(parse_keep_fields("none"))).body, "some msg");
  EXPECT_EQ(parse(msg, utc(parse_keep_fields(" FALSE "))).body, "some msg");
  EXPECT_EQ(parse(msg, utc(parse_keep_fields("hostname"))).body, "ubuntu-11.cloudera.com some msg");
  EXPECT_EQ(parse(msg, utc(parse_keep_fields("timestamp hostname"))).body,
            "2012-04-13T11:11:11+08:00 ubuntu-11.cloudera.com some msg");
  EXPECT_EQ(parse(msg, utc(parse_keep_fields("priority timestamp hostname"))).body,
            "<10>2012-04-13T11:11:11+08:00 ubuntu-11.cloudera.com some msg");
  for (auto all : {"all", "true", "priority version timestamp hostname",
                   "Priority,Version,"
                   "Timestamp,Hostname"})
    EXPECT_EQ(parse(msg, utc(parse_keep_fields(all))).body, msg) << all;
  EXPECT_TRUE(parse_keep_fields("all").all);
  EXPECT_FALSE(parse_keep_fields("priority version timestamp hostname").all);
  EXPECT_FALSE(parse_keep_fields("none").any());
  // multiport's header names.
  SyslogParserOptions mp = utc();
  mp.capitalized_headers = true;
  auto p = parse(msg, mp);
  EXPECT_EQ(p.h("Priority"), "10");
  EXPECT_EQ(p.h("Version"), "1");
  EXPECT_EQ(p.h("priority"), "<none>");
}

std::vector<std::pair<std::string, bool>> frames(std::string_view in, size_t event_size,
                                                 size_t step = 1 << 20) {
  // Feeds `in` `step` bytes at a time, as reads would.
  SyslogTcpFramer f(event_size);
  std::vector<std::pair<std::string, bool>> out;
  std::string buf;
  size_t fed = 0;
  while (fed < in.size()) {
    size_t n = std::min(step, in.size() - fed);
    buf.append(in.substr(fed, n));
    fed += n;
    SyslogFrame fr;
    size_t consumed = 0;
    for (;;) {
      bool got = f.next(buf, fr, consumed);
      if (got) out.emplace_back(buf.substr(fr.begin, fr.end - fr.begin), fr.truncated);
      buf.erase(0, consumed);
      if (!got) break;
    }
  }
  SyslogFrame fr;
  if (f.finish(buf, fr)) out.emplace_back(buf.substr(fr.begin, fr.end - fr.begin), fr.truncated);
  return out;
}

TEST(SyslogFramer, NewlinesOctetCountsAndCuts) {
  using V = std::vector<std::pair<std::string, bool>>;
  for (size_t step : {1, 2, 3, 7, 1000}) {
    EXPECT_EQ(frames("<1>a\n\n<2>b\r\n", 100, step), (V{{"<1>a", false}, {"<2>b\r", false}}));
    // RFC 6587 octet counting, mixed with newline framing on one connection.
    EXPECT_EQ(frames("5 <1>ab6 <2>c\nd<3>e\n", 100, step),
              (V{{"<1>ab", false}, {"<2>c\nd", false}, {"<3>e", false}}));
    // rsyslog's final "\n" inside an octet-counted frame is not part of the message.
    EXPECT_EQ(frames("5 <1>a\n5 <1>b\n", 100, step), (V{{"<1>a", false}, {"<1>b", false}}));
    // testExtractBadEventLarge: eventSize 10 cuts, the rest goes on as the next message.
    EXPECT_EQ(frames("<10> bad bad data bad bad\n", 10, step),
              (V{{"<10> bad b", true}, {"ad data ba", true}, {"d bad", false}}));
    // A message of exactly eventSize bytes is whole (Flume flags it Incomplete).
    EXPECT_EQ(frames("0123456789\n", 10, step), (V{{"0123456789", false}}));
    // After a cut, digits and a space are not an octet count.
    EXPECT_EQ(frames("<1>xxxxxxx3 abc\n", 10, step), (V{{"<1>xxxxxxx", true}, {"3 abc", false}}));
    // An over-long octet-counted frame: cut, the rest of the frame discarded.
    EXPECT_EQ(frames("15 <1>abcdefghijkl<2>z\n", 10, step),
              (V{{"<1>abcdefg", true}, {"<2>z", false}}));
    // End of stream: the unterminated rest is a last message; a frame cut short is Incomplete.
    EXPECT_EQ(frames("<1>a\n<2>tail", 100, step), (V{{"<1>a", false}, {"<2>tail", false}}));
    EXPECT_EQ(frames("20 <1>short", 100, step), (V{{"<1>short", true}}));
    // Not octet counts: a leading 0, 9 digits, no space.
    EXPECT_EQ(frames("05 <1>a\n123456789 x\n12x\n", 100, step),
              (V{{"05 <1>a", false}, {"123456789 x", false}, {"12x", false}}));
  }
}

TEST(SyslogFramer, BoundedBuffer) {
  // next() never needs more than event_size + 10 unparsed bytes to return a message.
  SyslogTcpFramer f(50);
  std::string data(200, 'x');
  SyslogFrame fr;
  size_t consumed = 0;
  ASSERT_TRUE(f.next(std::string_view(data).substr(0, 51), fr, consumed));
  EXPECT_EQ(fr.end - fr.begin, 50u);
  EXPECT_TRUE(fr.truncated);
  SyslogTcpFramer g(50);
  std::string counted = "99999999 " + std::string(60, 'y');
  ASSERT_TRUE(g.next(counted, fr, consumed));
  EXPECT_EQ(fr.end - fr.begin, 50u);
  EXPECT_EQ(consumed, 59u);
}

}  // namespace
}  // namespace ingestor
