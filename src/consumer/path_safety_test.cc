#include "consumer/path_safety.h"

#include <gtest/gtest.h>

namespace ingestor::consumer {
namespace {

TEST(PathSafety, OrdinaryKeysMapToBucketSlashKey) {
  EXPECT_EQ(*object_path("/dl", "b", "k"), "/dl/b/k");
  EXPECT_EQ(*object_path("/dl/", "my.bucket-1", "logs/2026/11/a b+c%20.txt"),
            "/dl/my.bucket-1/logs/2026/11/a b+c%20.txt");
  EXPECT_EQ(*object_path("dl", "b", "..."), "dl/b/...");  // not a dot segment
  EXPECT_EQ(*object_path("dl", "b", "a..b/..c"), "dl/b/a..b/..c");
  EXPECT_EQ(*object_path("dl", "b", "\xE2\x82\xAC/x\\y"), "dl/b/\xE2\x82\xAC/x\\y");
  std::string seg(255, 'a');
  EXPECT_TRUE(check_key(seg + "/" + seg + "/" + seg + "/" + seg));  // 1023 bytes, NAME_MAX segments
}

TEST(PathSafety, EscapingKeysAreRefused) {
  const char* bad[] = {"..",          "../x", "a/../../etc/passwd",
                       "a/..",        "./a",  "a/./b",
                       "/etc/passwd", "a//b", "a/",
                       "/",           "a\nb", "a\rb",
                       "a\x7f",       "a\x01"};
  for (const char* k : bad) {
    auto r = object_path("/dl", "b", k);
    EXPECT_FALSE(r) << k;
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    }
  }
  EXPECT_FALSE(check_key(std::string("a\0b", 3)));
  EXPECT_FALSE(check_key(""));
  EXPECT_FALSE(check_key(std::string(1025, 'a')));
  EXPECT_FALSE(check_key(std::string(256, 'a')));  // one segment over NAME_MAX
  auto r = check_key("a/../b");
  EXPECT_NE(r.error().message.find("'..'"), std::string::npos) << r.error().message;
}

TEST(PathSafety, BucketNames) {
  EXPECT_TRUE(check_bucket_name("abc"));
  EXPECT_TRUE(check_bucket_name("Legacy_Bucket.1-x"));
  for (const char* b : {"", ".", "..", ".hidden", "a/b", "a b", "a\\b", "..x"})
    EXPECT_FALSE(check_bucket_name(b)) << b;
  EXPECT_FALSE(check_bucket_name(std::string(256, 'a')));
  EXPECT_FALSE(object_path("/dl", "../etc", "passwd"));
}

}  // namespace
}  // namespace ingestor::consumer
