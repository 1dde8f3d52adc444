#include "net/header_value.h"

#include <gtest/gtest.h>

#include <string>

namespace ingestor::net {
namespace {

TEST(HeaderValueTest, ControlCharactersAreUnsafe) {
  EXPECT_TRUE(is_safe_header_value(""));
  EXPECT_TRUE(is_safe_header_value("attachment; filename=\"a b.txt\""));
  EXPECT_TRUE(is_safe_header_value("tab\there"));
  EXPECT_TRUE(is_safe_header_value("caf\xc3\xa9 \x80\xff"));
  EXPECT_FALSE(is_safe_header_value("a\r\nSet-Cookie: x=1"));
  EXPECT_FALSE(is_safe_header_value("a\nb"));
  EXPECT_FALSE(is_safe_header_value("a\rb"));
  EXPECT_FALSE(is_safe_header_value(std::string("a\0b", 3)));
  EXPECT_FALSE(is_safe_header_value("esc\x1b[31m"));
  EXPECT_FALSE(is_safe_header_value("del\x7f"));
}

TEST(HeaderValueTest, Names) {
  EXPECT_TRUE(is_header_name("x-amz-meta-a_b.c"));
  EXPECT_TRUE(is_header_name("Content-Type"));
  EXPECT_FALSE(is_header_name(""));
  EXPECT_FALSE(is_header_name("a b"));
  EXPECT_FALSE(is_header_name("a:b"));
  EXPECT_FALSE(is_header_name("a\r\nb"));
}

}  // namespace
}  // namespace ingestor::net
