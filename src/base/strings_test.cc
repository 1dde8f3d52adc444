#include "base/strings.h"

#include <gtest/gtest.h>

namespace ingestor {
namespace {

TEST(Strings, AsciiLowerLeavesOtherBytes) {
  EXPECT_EQ(ascii_lower("Load_Balance"), "load_balance");
  EXPECT_EQ(ascii_lower("ÄB\xff"), "Äb\xff");
}

TEST(Strings, AsciiIequalsIgnoresOnlyAsciiCase) {
  EXPECT_TRUE(ascii_iequals("DEFLATE", "deflate"));
  EXPECT_TRUE(ascii_iequals("", ""));
  EXPECT_FALSE(ascii_iequals("none", "non"));
  EXPECT_FALSE(ascii_iequals("\xC4", "\xE4"));  // not ASCII letters: compared as bytes
}

TEST(Strings, SplitWordsOnAnyWhiteSpace) {
  EXPECT_EQ(split_words("  k1\tk2\r\nk3  "), (std::vector<std::string>{"k1", "k2", "k3"}));
  EXPECT_TRUE(split_words("").empty());
  EXPECT_TRUE(split_words(" \t ").empty());
}

}  // namespace
}  // namespace ingestor
