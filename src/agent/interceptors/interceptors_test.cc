// Flume's interceptor checklist (flume.md section 9): timestamp, host, static, remove_header.
#include <gtest/gtest.h>

#include "agent/interceptors/host_interceptor.h"
#include "agent/interceptors/remove_header_interceptor.h"
#include "agent/interceptors/static_interceptor.h"
#include "agent/interceptors/timestamp_interceptor.h"
#include "core/metrics.h"

namespace ingestor {
namespace {

Settings settings(const ComponentSpec& spec, Context ctx) {
  Diagnostics d;
  Settings s = Settings::validate(spec, ctx, "source", "r1", "a1.sources.r1.interceptors.i1.", d);
  EXPECT_FALSE(d.has_errors());
  return s;
}

Batch one(Headers h = {}) {
  Batch b;
  b.push_back(Event::of("x", std::move(h)));
  return b;
}

TEST(TimestampInterceptor, AddsEpochMillis) {
  TimestampInterceptor i(settings(timestamp_interceptor_spec(), {}));
  int64_t before = now_epoch_ms();
  Batch b = one();
  i.intercept(b);
  int64_t ts = std::stoll(*b[0].headers.find("timestamp"));
  EXPECT_GE(ts, before);
  EXPECT_LE(ts, now_epoch_ms());
}

TEST(TimestampInterceptor, PreserveExistingAndCustomHeader) {
  TimestampInterceptor keep(settings(timestamp_interceptor_spec(), {{"preserveExisting", "true"}}));
  Batch b = one({{"timestamp", "42"}});
  keep.intercept(b);
  EXPECT_EQ(*b[0].headers.find("timestamp"), "42");
  TimestampInterceptor clobber(settings(timestamp_interceptor_spec(), {}));
  clobber.intercept(b);
  EXPECT_NE(*b[0].headers.find("timestamp"), "42");
  TimestampInterceptor custom(settings(timestamp_interceptor_spec(), {{"headerName", "ts"}}));
  Batch c = one();
  custom.intercept(c);
  EXPECT_TRUE(c[0].headers.contains("ts"));
  EXPECT_FALSE(c[0].headers.contains("timestamp"));
}

TEST(HostInterceptor, IpByDefaultNameOnRequest) {
  HostInterceptor ip(settings(host_interceptor_spec(), {}));
  Batch b = one();
  ip.intercept(b);
  EXPECT_EQ(*b[0].headers.find("host"), host_facts().ip);
  HostInterceptor name(
      settings(host_interceptor_spec(), {{"useIP", "false"}, {"hostHeader", "hostname"}}));
  Batch c = one({{"hostname", "old"}});
  name.intercept(c);
  EXPECT_EQ(*c[0].headers.find("hostname"), host_facts().fqdn);
  HostInterceptor keep(settings(host_interceptor_spec(), {{"preserveExisting", "true"}}));
  Batch d = one({{"host", "old"}});
  keep.intercept(d);
  EXPECT_EQ(*d[0].headers.find("host"), "old");
}

TEST(StaticInterceptor, DefaultsAndPreserve) {
  StaticInterceptor def(settings(static_interceptor_spec(), {}));
  Batch b = one();
  def.intercept(b);
  EXPECT_EQ(*b[0].headers.find("key"), "value");
  StaticInterceptor kv(settings(static_interceptor_spec(), {{"key", "dc"}, {"value", "eu"}}));
  Batch c = one({{"dc", "us"}});
  kv.intercept(c);
  EXPECT_EQ(*c[0].headers.find("dc"), "us");  // preserveExisting defaults to true
  StaticInterceptor clobber(settings(
      static_interceptor_spec(), {{"key", "dc"}, {"value", "eu"}, {"preserveExisting", "false"}}));
  clobber.intercept(c);
  EXPECT_EQ(*c[0].headers.find("dc"), "eu");
}

TEST(RemoveHeaderInterceptor, ByNameListAndRegex) {
  auto i = RemoveHeaderInterceptor::create(settings(
      remove_header_interceptor_spec(),
      {{"withName", "a"}, {"fromList", "b , c"}, {"matching", "tmp-.*"}}));
  ASSERT_TRUE(i);
  Batch b = one({{"a", "1"}, {"b", "2"}, {"c", "3"}, {"tmp-x", "4"}, {"keep", "5"}, {"xtmp-", "6"}});
  (*i)->intercept(b);
  EXPECT_EQ(b[0].headers, (Headers{{"keep", "5"}, {"xtmp-", "6"}}));
}

TEST(RemoveHeaderInterceptor, InvalidRegexIsAConfigError) {
  auto i = RemoveHeaderInterceptor::create(
      settings(remove_header_interceptor_spec(), {{"matching", "([a-"}}));
  ASSERT_FALSE(i);
  EXPECT_NE(i.error().message.find("matching"), std::string::npos);
}

}  // namespace
}  // namespace ingestor
