#include "base/compression.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace ingestor {
namespace {

std::string sample() {
  std::string s;
  for (int i = 0; i < 20000; ++i) s += "event number " + std::to_string(i) + "\n";
  return s;
}

std::string compress_all(Codec c, const std::string& in, size_t piece) {
  auto comp = make_compressor(c);
  EXPECT_TRUE(comp);
  std::string out;
  for (size_t i = 0; i < in.size(); i += piece)
    EXPECT_TRUE((*comp)->write(std::string_view(in).substr(i, piece), out));
  EXPECT_TRUE((*comp)->finish(out));
  return out;
}

// Runs the real command-line tool on the bytes and returns what it printed.
std::string run_tool(const std::string& cmd, const std::string& bytes) {
  char path[] = "/tmp/ingestor-codec-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  close(fd);
  std::string out;
  FILE* p = popen((cmd + " < " + path).c_str(), "r");
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << cmd;
  unlink(path);
  return out;
}

TEST(Compression, GzipIsReadableByGzip) {
  std::string in = sample();
  std::string gz = compress_all(Codec::kGzip, in, 1000);
  EXPECT_LT(gz.size(), in.size() / 3);
  EXPECT_EQ(*decompress(Codec::kGzip, gz), in);
  EXPECT_EQ(run_tool("gzip -dc", gz), in);
}

TEST(Compression, ZstdIsReadableByZstd) {
  std::string in = sample();
  std::string zs = compress_all(Codec::kZstd, in, 777);
  EXPECT_LT(zs.size(), in.size() / 3);
  EXPECT_EQ(*decompress(Codec::kZstd, zs), in);
  EXPECT_EQ(run_tool("zstd -dc", zs), in);
}

TEST(Compression, Bzip2IsReadableByBzip2) {
  std::string in = sample();
  std::string bz = compress_all(Codec::kBzip2, in, 999);
  EXPECT_LT(bz.size(), in.size() / 3);
  EXPECT_EQ(*decompress(Codec::kBzip2, bz), in);
  EXPECT_EQ(run_tool("bzip2 -dc", bz), in);
}

TEST(Compression, ConcatenatedBzip2StreamsDecompress) {
  std::string a = compress_all(Codec::kBzip2, "first\n", 100);
  std::string b = compress_all(Codec::kBzip2, "second\n", 100);
  EXPECT_EQ(*decompress(Codec::kBzip2, a + b), "first\nsecond\n");
  EXPECT_EQ(run_tool("bzip2 -dc", a + b), "first\nsecond\n");
}

TEST(Compression, ConcatenatedGzipMembersDecompress) {
  std::string a = compress_all(Codec::kGzip, "first\n", 100);
  std::string b = compress_all(Codec::kGzip, "second\n", 100);
  EXPECT_EQ(*decompress(Codec::kGzip, a + b), "first\nsecond\n");
  EXPECT_EQ(run_tool("gzip -dc", a + b), "first\nsecond\n");
}

TEST(Compression, ResetStartsAnIndependentMemberOrFrame) {
  for (Codec c : {Codec::kGzip, Codec::kBzip2, Codec::kZstd}) {
    auto comp = make_compressor(c);
    ASSERT_TRUE(comp);
    std::string a, b;
    ASSERT_TRUE((*comp)->write("first\n", a));
    ASSERT_TRUE((*comp)->finish(a));
    ASSERT_TRUE((*comp)->reset());
    ASSERT_TRUE((*comp)->write("second\n", b));
    ASSERT_TRUE((*comp)->finish(b));
    EXPECT_EQ(*decompress(c, b), "second\n");  // decodable on its own
    EXPECT_EQ(*decompress(c, a + b), "first\nsecond\n");
  }
}

TEST(Compression, CorruptOrTruncatedInputIsAnError) {
  std::string gz = compress_all(Codec::kGzip, sample(), 4096);
  EXPECT_FALSE(decompress(Codec::kGzip, gz.substr(0, gz.size() / 2)));
  std::string bz = compress_all(Codec::kBzip2, sample(), 4096);
  EXPECT_FALSE(decompress(Codec::kBzip2, bz.substr(0, bz.size() / 2)));
  std::string zs = compress_all(Codec::kZstd, sample(), 4096);
  EXPECT_FALSE(decompress(Codec::kZstd, zs.substr(0, zs.size() / 2)));
  zs[zs.size() / 2] ^= 0x55;
  EXPECT_FALSE(decompress(Codec::kZstd, zs));
}

TEST(Compression, CodecNamesAsFlume) {
  EXPECT_EQ(codec_from_name("gzip"), Codec::kGzip);
  EXPECT_EQ(codec_from_name("GzipCodec"), Codec::kGzip);
  EXPECT_EQ(codec_from_name("org.apache.hadoop.io.compress.GzipCodec"), Codec::kGzip);
  EXPECT_EQ(codec_from_name("ZSTD"), Codec::kZstd);
  EXPECT_EQ(codec_from_name("ZStandardCodec"), Codec::kZstd);
  EXPECT_EQ(codec_from_name("bzip2"), Codec::kBzip2);
  EXPECT_EQ(codec_from_name("org.apache.hadoop.io.compress.BZip2Codec"), Codec::kBzip2);
  EXPECT_STREQ(codec_extension(Codec::kBzip2), ".bz2");
  EXPECT_FALSE(codec_from_name("snappy"));
  EXPECT_STREQ(codec_extension(Codec::kGzip), ".gz");
}

}  // namespace
}  // namespace ingestor

namespace ingestor {
namespace {

// Flume's Avro RPC deflate: one zlib stream per direction, each write sync-flushed, so each
// message inflates as soon as its bytes arrive, fed in pieces of any size.
TEST(ZlibStream, SyncFlushedWritesInflateAsTheyArrive) {
  ZlibStreamDeflater d(6);
  ZlibStreamInflater in;
  std::string plain;
  for (int msg = 0; msg < 3; ++msg) {
    std::string m(1000 + msg, static_cast<char>('a' + msg));
    std::string wire;
    ASSERT_TRUE(d.write_flush(m, wire));
    EXPECT_EQ(wire.substr(wire.size() - 4), std::string("\0\0\xff\xff", 4));
    std::string out;
    for (char c : wire) ASSERT_TRUE(in.write(std::string_view(&c, 1), out, 1 << 20));
    EXPECT_EQ(out, m);
  }
}

TEST(ZlibStream, GarbageAndBombsAreErrors) {
  ZlibStreamInflater in;
  std::string out;
  auto s = in.write("not zlib at all", out, 1 << 20);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kCorrupt);
  ZlibStreamDeflater d(9);
  std::string wire;
  ASSERT_TRUE(d.write_flush(std::string(1 << 20, 'z'), wire));
  ZlibStreamInflater in2;
  out.clear();
  auto s2 = in2.write(wire, out, 4096);
  ASSERT_FALSE(s2);
  EXPECT_EQ(s2.error().code, Errc::kTooLarge);
}

}  // namespace
}  // namespace ingestor
