#include "store/keys.h"

#include <gtest/gtest.h>

#include "base/charset.h"
#include "s3/event_notification.h"
#include "store/request.h"

namespace ingestor::store {
namespace {

TEST(BucketName, S3Rules) {
  const std::string longest(63, 'a');
  for (std::string_view ok :
       {std::string_view("abc"), std::string_view("my-bucket.logs"), std::string_view("a1b"),
        std::string_view("0ab"), std::string_view(longest)})
    EXPECT_TRUE(is_valid_bucket_name(ok)) << ok;
  for (const char* bad : {"ab", "ABC", "a_b", "-ab", "ab-", "a..b", "a.-b", "192.168.1.1",
                          "xn--abc", "abc-s3alias", "a b", ""})
    EXPECT_FALSE(is_valid_bucket_name(bad)) << bad;
  EXPECT_FALSE(is_valid_bucket_name(std::string(64, 'a')));
}

TEST(Key, LengthAndUtf8) {
  EXPECT_TRUE(validate_key("../x"));
  EXPECT_TRUE(validate_key("a//b"));
  EXPECT_TRUE(validate_key("."));
  EXPECT_TRUE(validate_key(std::string(1024, 'k')));
  auto too_long = validate_key(std::string(1025, 'k'));
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, "KeyTooLongError");
  EXPECT_EQ(too_long.error().status, 400);
  auto bad = validate_key(
      "a\xff"
      "b");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "InvalidURI");
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));      // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));  // surrogate
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xf0\x9f\x98\x80"));
}

TEST(Key, ListingEncoding) {
  EXPECT_EQ(url_encode_for_listing("dir/a b+c.txt"), "dir/a%20b%2Bc.txt");
  EXPECT_EQ(url_encode_for_listing("~_-.x"), "~_-.x");
  EXPECT_EQ(url_encode_for_listing("caf\xc3\xa9"), "caf%C3%A9");
}

TEST(Key, EventEncodingIsFormEncodingWithSlashKept) {
  EXPECT_EQ(s3::event_key_encode("red flower.jpg"), "red+flower.jpg");
  EXPECT_EQ(s3::event_key_encode("a/b+c=d"), "a/b%2Bc%3Dd");
  EXPECT_EQ(*s3::event_key_decode("a/b%2Bc%3Dd+e"), "a/b+c=d e");
  EXPECT_FALSE(s3::event_key_decode("%4"));
}

TEST(PathSafety, ContentPathsComeFromIdsOnly) {
  for (int i = 0; i < 100; ++i) {
    std::string id = new_content_id();
    ASSERT_TRUE(is_valid_content_id(id)) << id;
    std::string p = content_path("/data", id);
    EXPECT_EQ(p, "/data/objects/" + id.substr(0, 2) + "/" + id);
    EXPECT_EQ(p.find(".."), std::string::npos);
  }
  EXPECT_FALSE(is_valid_content_id("../../etc/passwd"));
  EXPECT_FALSE(is_valid_content_id(std::string(32, 'G')));
  EXPECT_NE(new_content_id(), new_content_id());
}

TEST(Address, PathAndVirtualHostStyle) {
  auto a = parse_address("/b/dir/a%20b%2Bc.txt?x=1", "127.0.0.1:9000", "localhost");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->bucket, "b");
  EXPECT_EQ(a->key, "dir/a b+c.txt");
  EXPECT_EQ(a->raw_query, "x=1");
  EXPECT_FALSE(a->virtual_host);
  auto v = parse_address("/a//b/../x", "mybucket.localhost:9000", "localhost");
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->virtual_host);
  EXPECT_EQ(v->bucket, "mybucket");
  EXPECT_EQ(v->key, "a//b/../x");
  auto bucket_only = parse_address("/b/", "localhost:1", "localhost");
  ASSERT_TRUE(bucket_only);
  EXPECT_EQ(bucket_only->bucket, "b");
  EXPECT_EQ(bucket_only->key, "");
  EXPECT_FALSE(parse_address("/b/%zz", "h", "localhost"));
}

}  // namespace
}  // namespace ingestor::store
