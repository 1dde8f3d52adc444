#include "base/timezone.h"

#include <gtest/gtest.h>

namespace ingestor {
namespace {

TEST(TimeZone, CivilFromEpoch) {
  CivilTime c = civil_from_epoch(0, 0);
  EXPECT_EQ(c.year, 1970);
  EXPECT_EQ(c.weekday, 4);
  EXPECT_EQ(c.yearday, 1);
  // 2012-06-13 15:35:23 UTC = 1339601723
  c = civil_from_epoch(1339601723, 0);
  EXPECT_EQ(c.year, 2012);
  EXPECT_EQ(c.month, 6);
  EXPECT_EQ(c.day, 13);
  EXPECT_EQ(c.hour, 15);
  EXPECT_EQ(c.minute, 35);
  EXPECT_EQ(c.second, 23);
  EXPECT_EQ(c.weekday, 3);  // a Wednesday
  EXPECT_EQ(c.yearday, 165);
  c = civil_from_epoch(-1, 0);
  EXPECT_EQ(c.year, 1969);
  EXPECT_EQ(c.hour, 23);
  c = civil_from_epoch(951782400, 0);  // 2000-02-29
  EXPECT_EQ(c.month, 2);
  EXPECT_EQ(c.day, 29);
}

TEST(TimeZone, LosAngelesWithDaylightSaving) {
  auto tz = TimeZone::load("America/Los_Angeles");
  ASSERT_TRUE(tz) << tz.error().message;
  // 2012-06-13 15:35:23 UTC is 08:35:23 PDT (-7 h).
  CivilTime c = (*tz)->civil(1339601723);
  EXPECT_EQ(c.hour, 8);
  EXPECT_EQ(c.utc_offset_s, -7 * 3600);
  EXPECT_EQ(c.abbreviation, "PDT");
  // 2012-01-13 15:35:23 UTC is 07:35:23 PST (-8 h).
  c = (*tz)->civil(1326468923);
  EXPECT_EQ(c.hour, 7);
  EXPECT_EQ(c.abbreviation, "PST");
}

TEST(TimeZone, UtcAndErrors) {
  EXPECT_EQ((*TimeZone::load("UTC"))->utc_offset(123456789), 0);
  auto bad = TimeZone::load("Mars/Olympus_Mons");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("Mars/Olympus_Mons"), std::string::npos);
  EXPECT_FALSE(TimeZone::load("../../etc/passwd"));
  EXPECT_FALSE(TimeZone::parse("x", "TZif2garbage"));
  EXPECT_FALSE(TimeZone::parse("x", ""));
  EXPECT_FALSE(TimeZone::parse("x", std::string("TZif2") + std::string(60, '\xff')));
}

}  // namespace
}  // namespace ingestor
