// http sink: options and status rules from the reference's checklist (flume-components.md 6.3).
// Delivery against a real HTTP server: tests/test_http_sink.py.
#include "agent/sinks/http_sink.h"

#include <gtest/gtest.h>

namespace ingestor {
namespace {

Result<HttpSinkOptions> options(Context ctx, std::vector<std::string>* warnings = nullptr) {
  Diagnostics d;
  Settings s = Settings::validate(http_sink_spec(), ctx, "sink", "k1", "a1.sinks.k1.", d);
  EXPECT_FALSE(d.has_errors()) << (d.all().empty() ? "" : d.all()[0].to_string());
  return http_sink_options(s, warnings);
}

TEST(HttpSinkOptions, DefaultsAsFlume) {
  std::vector<std::string> warnings;
  auto o = options({{"endpoint", "http://127.0.0.1:8080/in"}}, &warnings);
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->connect_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(o->request_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(o->content_type, "text/plain");
  EXPECT_EQ(o->accept, "text/plain");
  // Every status, 200 included, rolls back and backs off; metrics are not incremented.
  for (int code : {200, 201, 401, 503}) {
    EXPECT_TRUE(o->rollback.applies(code));
    EXPECT_TRUE(o->backoff.applies(code));
    EXPECT_FALSE(o->increment_metrics.applies(code));
  }
  ASSERT_EQ(warnings.size(), 1u);  // the resend-for-ever defaults
  EXPECT_NE(warnings[0].find("rollback.2XX = false"), std::string::npos);
}

TEST(HttpSinkOptions, InvalidEndpointAndTimeouts) {
  Diagnostics d;
  Settings empty =
      Settings::validate(http_sink_spec(), {{"endpoint", ""}}, "sink", "k1", "a1.sinks.k1.", d);
  auto e = http_sink_options(empty, nullptr);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("Endpoint URL invalid"), std::string::npos);
  EXPECT_FALSE(options({{"endpoint", "not a url"}}));
  auto c = options({{"endpoint", "http://h/"}, {"connectTimeout", "-1"}});
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("Connect timeout must be a non-zero and positive"),
            std::string::npos);
  auto r = options({{"endpoint", "http://h/"}, {"requestTimeout", "0"}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("Request timeout must be a non-zero and positive"),
            std::string::npos);
}

TEST(HttpSinkOptions, ExactCodesBeatClassesBeatDefaults) {
  std::vector<std::string> warnings;
  auto o = options({{"endpoint", "http://h/"},
                    {"rollback.2XX", "false"},
                    {"rollback.200", "true"},
                    {"backoff.2XX", "false"},
                    {"incrementMetrics.200", "TRUE"},
                    {"backoff.4xx", "false"},  // lower-case: never matches, as in Flume
                    {"rollback.401", "yes"}},  // Boolean.valueOf: anything but true is false
                   &warnings);
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->rollback.applies(200));
  EXPECT_FALSE(o->rollback.applies(201));
  EXPECT_TRUE(o->rollback.applies(503));
  EXPECT_FALSE(o->backoff.applies(204));
  EXPECT_TRUE(o->backoff.applies(404));
  EXPECT_FALSE(o->rollback.applies(401));
  EXPECT_TRUE(o->increment_metrics.applies(200));
  EXPECT_FALSE(o->increment_metrics.applies(201));
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("backoff.4xx never matches"), std::string::npos);
}

}  // namespace
}  // namespace ingestor
