#include "base/hash.h"

#include <gtest/gtest.h>

#include <string>

namespace ingestor {
namespace {

const std::string kFox = "The quick brown fox jumps over the lazy dog";

TEST(HashTest, Sha256KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // The PUT object example of the S3 SigV4 documentation.
  EXPECT_EQ(sha256_hex("Welcome to Amazon S3."),
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
}

TEST(HashTest, Sha256IncrementalMatchesOneShot) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data += static_cast<char>(i * 7);
  Sha256 h;
  for (size_t i = 0; i < data.size(); i += 997) h.update(std::string_view(data).substr(i, 997));
  EXPECT_EQ(h.finish(), sha256(data));
  h.reset();
  h.update("abc");
  EXPECT_EQ(h.finish_hex(), sha256_hex("abc"));
  Sha256 moved = std::move(h);
  moved.reset();
  EXPECT_EQ(moved.finish_hex(), sha256_hex(""));
}

TEST(HashTest, Sha1AndMd5) {
  EXPECT_EQ(to_hex(sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(to_hex(md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(to_hex(md5(kFox)), "9e107d9d372bb6826bd81d3542a419d6");
  Md5 m;
  m.update("The quick brown fox ");
  m.update("jumps over the lazy dog");
  EXPECT_EQ(to_hex(m.finish()), "9e107d9d372bb6826bd81d3542a419d6");
}

TEST(HashTest, Hmac) {
  EXPECT_EQ(to_hex(hmac_sha256("key", kFox)),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
  EXPECT_EQ(to_hex(hmac_sha1("key", kFox)), "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9");
  // RFC 4231 test case 2.
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // A key longer than the block size is hashed first (RFC 4231 test case 6).
  EXPECT_EQ(to_hex(hmac_sha256(std::string(131, '\xaa'),
                               "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HashTest, Hex) {
  EXPECT_EQ(to_hex(std::string("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(from_hex("00FF10"), std::string("\x00\xff\x10", 3));
  EXPECT_EQ(from_hex(""), "");
  EXPECT_FALSE(from_hex("abc").has_value());
  EXPECT_FALSE(from_hex("zz").has_value());
}

TEST(HashTest, Base64) {
  // RFC 4648 section 10.
  const char* plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char* enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(base64_encode(std::string_view(plain[i])), enc[i]);
    EXPECT_EQ(base64_decode(enc[i]), std::string(plain[i]));
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(base64_decode(base64_encode(all)), all);
  EXPECT_FALSE(base64_decode("Zg=").has_value());       // bad length
  EXPECT_FALSE(base64_decode("Z===").has_value());      // too much padding
  EXPECT_FALSE(base64_decode("Zh==").has_value());      // non-zero trailing bits
  EXPECT_FALSE(base64_decode("Zg==Zg==").has_value());  // padding in the middle
  EXPECT_FALSE(base64_decode("Zm9v YmFy").has_value());
  EXPECT_FALSE(base64_decode("Zm-v").has_value());
}

TEST(HashTest, Crc32) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32(""), 0u);
  // The trailer botocore sent for "hello world" (aws.md 1.8c).
  EXPECT_EQ(base64_encode(crc_bytes(crc32("hello world"))), "DUoRhQ==");
  EXPECT_EQ(crc32("world", crc32("hello ")), crc32("hello world"));
}

TEST(HashTest, Crc32c) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);  // RFC 3720 B.4
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(crc32c("hello world"), 0xC99465AAu);
  std::string data;
  for (int i = 0; i < 10007; ++i) data += static_cast<char>(i * 31 + 1);
  EXPECT_EQ(crc32c(data), detail::crc32c_portable(data));
  // Incremental at odd boundaries gives the same value on both paths.
  uint32_t a = 0;
  uint32_t b = 0;
  for (size_t i = 0; i < data.size(); i += 13) {
    a = crc32c(std::string_view(data).substr(i, 13), a);
    b = detail::crc32c_portable(std::string_view(data).substr(i, 13), b);
  }
  EXPECT_EQ(a, crc32c(data));
  EXPECT_EQ(b, crc32c(data));
}

TEST(HashTest, Crc64Nvme) {
  EXPECT_EQ(crc64nvme("123456789"), 0xAE8B14860A799888ull);
  EXPECT_EQ(crc64nvme(""), 0ull);
  EXPECT_EQ(crc64nvme("6789", crc64nvme("12345")), 0xAE8B14860A799888ull);
  EXPECT_EQ(base64_encode(crc_bytes(crc64nvme(""))), "AAAAAAAAAAA=");
}

TEST(HashTest, Crc64NvmeEightBytesAtATimeMatchesTheBitwiseDefinition) {
  // The definition, one bit at a time (reflected, polynomial 0x9A6C9329AC4BC9B5, init and
  // final XOR all ones), against every length and alignment of the 8-byte loop.
  auto bitwise = [](std::string_view s) {
    uint64_t c = ~0ull;
    for (unsigned char ch : s) {
      c ^= ch;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x9A6C9329AC4BC9B5ull : c >> 1;
    }
    return ~c;
  };
  std::string data(300, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 167) ^ (i >> 3));
  for (size_t off = 0; off < 8; ++off)
    for (size_t len = 0; off + len <= 100; ++len) {
      auto piece = std::string_view(data).substr(off, len);
      ASSERT_EQ(crc64nvme(piece), bitwise(piece)) << off << "+" << len;
    }
  uint64_t chained = 0;
  for (size_t i = 0; i < data.size(); i += 13)
    chained = crc64nvme(std::string_view(data).substr(i, 13), chained);
  EXPECT_EQ(chained, bitwise(data));
}

TEST(HashTest, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace ingestor
