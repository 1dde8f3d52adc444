#include "base/joda_format.h"

#include <gtest/gtest.h>

namespace ingestor {
namespace {

int64_t parse(const char* pattern, const char* text, const char* zone = "UTC") {
  auto tz = TimeZone::load(zone);
  EXPECT_TRUE(tz);
  auto p = JodaParser::compile(pattern, *tz);
  EXPECT_TRUE(p) << pattern;
  auto v = p->parse(text);
  return v ? *v : -1;
}

TEST(JodaParser, FlumeMillisSerializerChecklist) {
  // 2012-10-17 14:34 UTC, and whole seconds round-trip.
  EXPECT_EQ(parse("yyyy-MM-dd HH:mm", "2012-10-17 14:34"), 1350484440000);
  EXPECT_EQ(parse("yyyy-MM-dd HH:mm:ss", "2012-10-17 14:34:44"), 1350484484000);
  EXPECT_FALSE(JodaParser::compile("ABCDEFG", TimeZone::utc()));
  EXPECT_NE(JodaParser::compile("ABCDEFG", TimeZone::utc())
                .error()
                .message.find("Illegal pattern component: A"),
            std::string::npos);
}

TEST(JodaParser, FieldsAndZones) {
  EXPECT_EQ(parse("yyyyMMddHHmmss", "20121017143444"), 1350484484000);
  EXPECT_EQ(parse("dd/MMM/yyyy:HH:mm:ss Z", "17/Oct/2012:14:34:44 +0200"), 1350477284000);
  EXPECT_EQ(parse("yyyy-MM-dd'T'HH:mm:ss.SSSZZ", "2012-10-17T14:34:44.250+00:00"), 1350484484250);
  EXPECT_EQ(parse("EEE, d MMMM yy h:mm a", "Wed, 17 october 12 2:34 PM"), 1350484440000);
  EXPECT_EQ(parse("yyyy-MM-dd HH:mm", "2012-07-01 12:00", "America/New_York"), 1341158400000);
  EXPECT_EQ(parse("yyyy-MM-dd HH:mm", "2012-10-17 14:34 extra"), -1);
  EXPECT_EQ(parse("yyyy-MM-dd HH:mm", "2012-13-17 14:34"), -1);
  EXPECT_EQ(parse("HH:mm", "01:02"), 3720000);
}

}  // namespace
}  // namespace ingestor
