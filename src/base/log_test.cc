#include "base/log.h"

#include <gtest/gtest.h>

#include <string>

namespace ingestor::log {
namespace {

TEST(LogEscapeTest, ControlCharactersCannotForgeALine) {
  EXPECT_EQ(escape("key\n2026-12-07 info forged"), "key\\n2026-12-07 info forged");
  EXPECT_EQ(escape("a\rb\tc"), "a\\rb\\tc");
  EXPECT_EQ(escape(std::string("nul\0esc\x1b[31m", 12)), "nul\\x00esc\\x1b[31m");
  EXPECT_EQ(escape("del\x7f"), "del\\x7f");
  EXPECT_EQ(escape("back\\slash"), "back\\\\slash");  // so "\\n" in a value stays tellable
}

TEST(LogEscapeTest, KeepsUtf8AndEscapesBrokenSequences) {
  EXPECT_EQ(escape("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(escape("bad\xC3"), "bad\\xc3");              // truncated sequence
  EXPECT_EQ(escape("\xC0\xAF"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(escape("\xED\xA0\x80"), "\\xed\\xa0\\x80");  // surrogate
  EXPECT_EQ(escape("\xFF"), "\\xff");
}

TEST(LogEscapeTest, LongValuesAreCutWithTheirLength) {
  std::string v(5000, 'a');
  EXPECT_EQ(escape(v, 8), "aaaaaaaa...(5000 bytes)");
  EXPECT_EQ(escape("short", 8), "short");
}

TEST(LogThrottleTest, AllowsOneLinePerIntervalAndCountsTheRest) {
  Throttle t(std::chrono::hours(1));
  EXPECT_TRUE(t.allow());
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(t.allow());
  EXPECT_EQ(t.take_suppressed(), 1000u);
  EXPECT_EQ(t.take_suppressed(), 0u);
  Throttle fast(std::chrono::milliseconds(0));
  EXPECT_TRUE(fast.allow());
  EXPECT_TRUE(fast.allow());
}

}  // namespace
}  // namespace ingestor::log
