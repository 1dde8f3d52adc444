#include "core/metrics_render.h"

#include <gtest/gtest.h>

#include "core/source.h"

namespace ingestor {
namespace {

class FakeSource : public Source {
 public:
  FakeSource() : Source("r\"1", "netcat", nullptr) {}
};

TEST(MetricsRender, FlumeJsonHasStringValuesAndGroupKeys) {
  FakeSource s;
  s.counters().event_received.add(12);
  std::string js = render_flume_json({&s});
  EXPECT_NE(js.find("\"SOURCE.r\\\"1\":{"), std::string::npos) << js;
  EXPECT_NE(js.find("\"EventReceivedCount\":\"12\""), std::string::npos) << js;
  EXPECT_NE(js.find("\"Type\":\"SOURCE\""), std::string::npos) << js;
  EXPECT_NE(js.find("\"StopTime\":\"0\""), std::string::npos) << js;
  EXPECT_EQ(render_flume_json({}), "{}");
}

TEST(MetricsRender, PrometheusText) {
  FakeSource s;
  s.counters().event_accepted.add(3);
  std::string p = render_prometheus({&s});
  EXPECT_NE(p.find("# TYPE ingestor_source_event_accepted_count counter\n"), std::string::npos);
  EXPECT_NE(p.find("ingestor_source_event_accepted_count{component=\"r\\\"1\",type=\"netcat\"} 3\n"),
            std::string::npos)
      << p;
  EXPECT_NE(p.find("# TYPE ingestor_source_open_connection_count gauge"), std::string::npos);
}

TEST(MetricsRender, SnakeCaseAndJavaDouble) {
  EXPECT_EQ(snake_case("EventReceivedCount"), "event_received_count");
  EXPECT_EQ(snake_case("ChannelFillPercentage"), "channel_fill_percentage");
  EXPECT_EQ(java_double_string(5.0), "5.0");
  EXPECT_EQ(java_double_string(0.0), "0.0");
  EXPECT_EQ(java_double_string(100.0 / 3), "33.333333333333336");
}

}  // namespace
}  // namespace ingestor
