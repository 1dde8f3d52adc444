// Flume's escape sequences (flume.md 3.7 and TestBucketPath).
#include "agent/sinks/bucket_path.h"

#include <gtest/gtest.h>

#include "agent/interceptors/host_interceptor.h"

namespace ingestor {
namespace {

// 2012-06-13 15:35:23.456 UTC (a Wednesday), as Flume's TestBucketPath uses 2012-06-13 15:35:23.
constexpr int64_t kTs = 1339601723456;

TimeOptions utc() {
  TimeOptions o;
  o.time_zone = TimeZone::utc();
  return o;
}

std::string expand(std::string_view pattern, TimeOptions o = utc(),
                   Headers h = {{"timestamp", std::to_string(kTs)}}) {
  auto bp = BucketPath::compile(pattern);
  EXPECT_TRUE(bp) << pattern;
  auto r = bp->expand(h, 0, o);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : "<error>";
}

TEST(BucketPath, EveryTimeEscape) {
  EXPECT_EQ(expand("%Y-%m-%d %H:%M:%S"), "2012-06-13 15:35:23");
  EXPECT_EQ(expand("%a %A %b %B"), "Wed Wednesday Jun June");
  EXPECT_EQ(expand("%c"), "Wed Jun 13 15:35:23 2012");
  EXPECT_EQ(expand("%D"), "06/13/12");
  EXPECT_EQ(expand("%e|%k|%l|%I|%p|%n"), "13|15|3|03|PM|6");
  EXPECT_EQ(expand("%j"), "165");
  EXPECT_EQ(expand("%y"), "12");
  EXPECT_EQ(expand("%z"), "+0000");
  EXPECT_EQ(expand("%s"), "1339601723");
  EXPECT_EQ(expand("%t"), std::to_string(kTs));
  EXPECT_EQ(expand("100%% %q done"), "100%  done");  // unknown %q expands to ""
}

TEST(BucketPath, NoPaddingForNAndE) {
  // 2012-05-03: %n-%e is "5-3", not "05-03".
  EXPECT_EQ(expand("%n-%e", utc(), {{"timestamp", "1336003200000"}}), "5-3");
}

TEST(BucketPath, HeadersAndHostFacts) {
  Headers h{{"timestamp", std::to_string(kTs)}, {"dc", "eu-west"}, {"a.b-c", "x"}};
  EXPECT_EQ(expand("s3a://bucket/%{dc}/%{a.b-c}/%{missing}/f", utc(), h), "s3a://bucket/eu-west/x//f");
  EXPECT_EQ(expand("%[localhost]|%[IP]|%[FQDN]|%[ip]", utc(), h),
            host_facts().hostname + "|" + host_facts().ip + "|" + host_facts().fqdn + "|" +
                host_facts().ip);
  auto bad = BucketPath::compile("x/%[foo]");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("%[foo]"), std::string::npos);
  // A % that starts no escape stays as it is.
  EXPECT_EQ(expand("a%{b", utc(), h), "a%{b");
  EXPECT_EQ(expand("50%", utc(), h), "50%");
}

TEST(BucketPath, RoundingDownAsFlume) {
  TimeOptions o = utc();
  o.round = true;
  o.round_unit = RoundUnit::kHour;
  o.round_value = 12;
  EXPECT_EQ(expand("%Y-%m-%d %H:%M:%S", o), "2012-06-13 12:00:00");
  o.round_unit = RoundUnit::kMinute;
  o.round_value = 10;
  EXPECT_EQ(expand("%H:%M:%S", o), "15:30:00");
  o.round_unit = RoundUnit::kSecond;
  o.round_value = 5;
  EXPECT_EQ(expand("%H:%M:%S", o), "15:35:20");
  // %t is never rounded.
  EXPECT_EQ(expand("%t", o), std::to_string(kTs));
}

TEST(BucketPath, TimeZones) {
  TimeOptions o;
  auto la = TimeZone::load("America/Los_Angeles");
  ASSERT_TRUE(la);
  o.time_zone = *la;
  EXPECT_EQ(expand("%Y-%m-%d %H:%M %z", o), "2012-06-13 08:35 -0700");
  // Rounding by hour happens in the zone's civil time.
  auto kolkata = TimeZone::load("Asia/Kolkata");  // +05:30
  ASSERT_TRUE(kolkata);
  o.time_zone = *kolkata;
  o.round = true;
  o.round_unit = RoundUnit::kHour;
  o.round_value = 1;
  EXPECT_EQ(expand("%H:%M", o), "21:00");  // 21:05:23 local rounds to 21:00
}

TEST(BucketPath, TimestampErrorsAndLocalTime) {
  auto bp = BucketPath::compile("%Y");
  ASSERT_TRUE(bp);
  EXPECT_TRUE(bp->needs_timestamp());
  auto missing = bp->expand({}, 0, utc());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "Expected timestamp in the Flume event headers, but it was null");
  auto garbage = bp->expand({{"timestamp", "12x"}}, 0, utc());
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().message.find("wasn't able to parse timestamp"), std::string::npos);
  TimeOptions local = utc();
  local.use_local_timestamp = true;
  auto r = bp->expand({}, kTs, local);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "2012");
  // A pattern with no time escape needs no timestamp.
  auto plain = BucketPath::compile("s3a://b/p/%{h}");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->needs_timestamp());
  EXPECT_TRUE(plain->expand({}, 0, utc()));
  EXPECT_TRUE(BucketPath::compile("const/path")->is_constant());
}

}  // namespace
}  // namespace ingestor
