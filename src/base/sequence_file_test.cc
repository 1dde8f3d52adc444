#include "base/sequence_file.h"

#include <gtest/gtest.h>

#include "base/compression.h"

namespace ingestor {
namespace {

std::string unhex(std::string_view h) {
  std::string out;
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (size_t i = 0; i + 1 < h.size();) {
    if (h[i] == ' ') {
      ++i;
      continue;
    }
    out += static_cast<char>(nib(h[i]) * 16 + nib(h[i + 1]));
    i += 2;
  }
  return out;
}

std::string vlong(int64_t v) {
  std::string s;
  write_hadoop_vlong(v, s);
  return s;
}

const std::string kSync = "0123456789abcdef";

// Golden bytes, by hand from SequenceFile.Writer, Text.writeString, LongWritable.write,
// BytesWritable.write and Text.write.
const std::string kHeaderWritable =
    "SEQ\x06"
    "\x21org.apache.hadoop.io.LongWritable"
    "\x22org.apache.hadoop.io.BytesWritable" +
    unhex("00 00  00000000") + kSync;
const std::string kHeaderText =
    "SEQ\x06"
    "\x21org.apache.hadoop.io.LongWritable"
    "\x19org.apache.hadoop.io.Text" +
    unhex("00 00  00000000") + kSync;
const std::string kSyncEscape = unhex("ffffffff") + kSync;

TEST(SequenceFile, VLongAsWritableUtils) {
  EXPECT_EQ(vlong(0), unhex("00"));
  EXPECT_EQ(vlong(127), unhex("7f"));
  EXPECT_EQ(vlong(-112), unhex("90"));
  EXPECT_EQ(vlong(-1), unhex("ff"));
  EXPECT_EQ(vlong(128), unhex("8f 80"));
  EXPECT_EQ(vlong(255), unhex("8f ff"));
  EXPECT_EQ(vlong(256), unhex("8e 0100"));
  EXPECT_EQ(vlong(-113), unhex("87 70"));
  EXPECT_EQ(vlong(1000000), unhex("8d 0f4240"));
  EXPECT_EQ(vlong(INT64_MAX), unhex("88 7fffffffffffffff"));
  EXPECT_EQ(vlong(INT64_MIN), unhex("80 7fffffffffffffff"));
}

TEST(SequenceFile, CodecNamesAsFlume) {
  EXPECT_EQ(seq_codec_from_name("gzip"), SeqCodec::kGzip);
  EXPECT_EQ(seq_codec_from_name("GzipCodec"), SeqCodec::kGzip);
  EXPECT_EQ(seq_codec_from_name("org.apache.hadoop.io.compress.GzipCodec"), SeqCodec::kGzip);
  EXPECT_EQ(seq_codec_from_name("BZip2"), SeqCodec::kBzip2);
  EXPECT_EQ(seq_codec_from_name("default"), SeqCodec::kDefault);
  EXPECT_EQ(seq_codec_from_name("DeflateCodec"), SeqCodec::kDeflate);
  EXPECT_FALSE(seq_codec_from_name("snappy"));
  EXPECT_FALSE(seq_codec_from_name("lzo"));
  EXPECT_STREQ(seq_codec_extension(SeqCodec::kDefault), ".deflate");
  EXPECT_STREQ(seq_codec_extension(SeqCodec::kGzip), ".gz");
  EXPECT_STREQ(seq_codec_extension(SeqCodec::kBzip2), ".bz2");
}

TEST(SequenceFile, UncompressedWritableGolden) {
  SequenceFileEncoder enc(SeqFormat{});
  SeqFileState s;
  SequenceFileEncoder::start(s, kSync);
  std::string out;
  ASSERT_TRUE(enc.sync(s, out));  // nothing yet: an empty file stays empty
  EXPECT_EQ(out, "");
  ASSERT_TRUE(enc.append(s, 1700000000000, "hello", out));
  ASSERT_TRUE(enc.append(s, -1, "", out));
  ASSERT_TRUE(enc.sync(s, out));
  ASSERT_TRUE(enc.sync(s, out));  // the file ends with an escape already: nothing more
  std::string want = kHeaderWritable +
                     unhex("00000011 00000008 0000018bcfe56800 00000005") + "hello" +
                     unhex("0000000c 00000008 ffffffffffffffff 00000000") + kSyncEscape;
  EXPECT_EQ(out, want);
  EXPECT_EQ(s.pos, static_cast<int64_t>(want.size()));
}

TEST(SequenceFile, UncompressedTextGolden) {
  SequenceFileEncoder enc(SeqFormat{SeqValueType::kText});
  SeqFileState s;
  SequenceFileEncoder::start(s, kSync);
  std::string out;
  std::string big(200, 'x');
  ASSERT_TRUE(enc.append(s, 1700000000000, "hello", out));
  ASSERT_TRUE(enc.append(s, 2, big, out));
  ASSERT_TRUE(enc.sync(s, out));
  ASSERT_TRUE(enc.append(s, 3, "a", out));
  ASSERT_TRUE(enc.sync(s, out));
  std::string want = kHeaderText + unhex("0000000e 00000008 0000018bcfe56800 05") + "hello" +
                     unhex("000000d2 00000008 0000000000000002 8f c8") + big + kSyncEscape +
                     unhex("0000000a 00000008 0000000000000003 01") + "a" + kSyncEscape;
  EXPECT_EQ(out, want);
}

TEST(SequenceFile, UncompressedSyncEvery100KiB) {
  // checkAndWriteSync: before a record once pos >= lastSyncPos + SYNC_INTERVAL (102400).
  SequenceFileEncoder enc(SeqFormat{});
  SeqFileState s;
  SequenceFileEncoder::start(s, kSync);
  std::string out, body(1000, 'b');
  std::vector<size_t> starts;
  for (int i = 0; i < 250; ++i) {
    starts.push_back(out.size());
    ASSERT_TRUE(enc.append(s, i, body, out));
  }
  const int64_t header = static_cast<int64_t>(kHeaderWritable.size());
  const int64_t rec = 4 + 4 + 8 + 4 + 1000;
  // First escape: before the first record starting at or past 102400.
  int64_t k = (102400 - header + rec - 1) / rec;
  ASSERT_EQ(out.substr(header + k * rec, 20), kSyncEscape);
  EXPECT_EQ(out.substr(header, 20).substr(0, 4), unhex("000003f4"));
  // Exactly two escapes in 250 records (~255 KB): at ~102400 and ~204800 + 20.
  size_t n = 0;
  for (size_t p = out.find(kSyncEscape); p != std::string::npos; p = out.find(kSyncEscape, p + 1))
    ++n;
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(s.pos, static_cast<int64_t>(out.size()));
}

TEST(SequenceFile, BlockDefaultCodecGolden) {
  SequenceFileEncoder enc(SeqFormat{SeqValueType::kBytesWritable, SeqCodec::kDefault});
  SeqFileState s;
  SequenceFileEncoder::start(s, kSync);
  std::string out;
  ASSERT_TRUE(enc.append(s, 1700000000000, "hello", out));
  ASSERT_TRUE(enc.append(s, 1700000000001, "", out));
  EXPECT_EQ(out, "");  // held in the open block
  ASSERT_TRUE(enc.sync(s, out));
  // The four buffers as java.util.zip.Deflater (zlib, level -1) compresses them; the bytes were
  // made with Python's zlib.compress, an independent caller of zlib.
  std::string want =
      "SEQ\x06"
      "\x21org.apache.hadoop.io.LongWritable"
      "\x22org.apache.hadoop.io.BytesWritable" +
      unhex("01 01") + "\x2a" + "org.apache.hadoop.io.compress.DefaultCodec" + unhex("00000000") +
      kSync + kSyncEscape + unhex("02") + unhex("0a 789ce3e00000001a0011") +
      unhex("14 789c636060ec3eff348381014233020028410552") + unhex("0a 789ce36401000018000e") +
      unhex("13 789c63606060cd48cdc9c9670002000eb6021a");
  EXPECT_EQ(out, want);
  // The next block starts with its escape too.
  std::string more;
  ASSERT_TRUE(enc.append(s, 5, "x", more));
  ASSERT_TRUE(enc.sync(s, more));
  EXPECT_EQ(more.substr(0, 20), kSyncEscape);
  EXPECT_EQ(more[20], '\x01');
  EXPECT_EQ(s.pos, static_cast<int64_t>(out.size() + more.size()));
}

// Reads one block's four buffers after the escape, decompressing with `c`.
std::vector<std::string> block_buffers(std::string_view b, Codec c) {
  std::vector<std::string> bufs;
  size_t p = 20 + 1;  // escape + one-byte record count
  for (int i = 0; i < 4; ++i) {
    auto len = static_cast<unsigned char>(b[p]);
    size_t n = len;
    ++p;
    if (len >= 0x80) {  // 2-byte vint (lengths < 65536 here)
      int k = -(static_cast<signed char>(len) + 112);
      n = 0;
      for (int j = 0; j < k; ++j) n = n * 256 + static_cast<unsigned char>(b[p++]);
    }
    auto d = decompress(c, b.substr(p, n));
    EXPECT_TRUE(d);
    bufs.push_back(d ? *d : "");
    p += n;
  }
  EXPECT_EQ(p, b.size());
  return bufs;
}

TEST(SequenceFile, BlockGzipAndBzip2) {
  for (auto [sc, c, cls] : {std::tuple{SeqCodec::kGzip, Codec::kGzip, "GzipCodec"},
                            std::tuple{SeqCodec::kBzip2, Codec::kBzip2, "BZip2Codec"}}) {
    SequenceFileEncoder enc(SeqFormat{SeqValueType::kText, sc});
    SeqFileState s;
    SequenceFileEncoder::start(s, kSync);
    std::string out;
    ASSERT_TRUE(enc.append(s, 7, "one", out));
    ASSERT_TRUE(enc.append(s, 8, "two!", out));
    ASSERT_TRUE(enc.sync(s, out));
    std::string h = enc.header(s);
    ASSERT_EQ(out.substr(0, h.size()), h);
    EXPECT_NE(h.find(std::string("org.apache.hadoop.io.compress.") + cls), std::string::npos);
    auto bufs = block_buffers(std::string_view(out).substr(h.size()), c);
    ASSERT_EQ(bufs.size(), 4u);
    EXPECT_EQ(bufs[0], unhex("08 08"));
    EXPECT_EQ(bufs[1], unhex("0000000000000007 0000000000000008"));
    EXPECT_EQ(bufs[2], unhex("04 05"));
    EXPECT_EQ(bufs[3], "\x03one\x04two!");
    if (sc == SeqCodec::kGzip) {  // each buffer its own gzip member, as native zlib writes it
      EXPECT_EQ(out.substr(h.size() + 22, 10), unhex("1f8b 08 00 00000000 00 03"));
    } else {
      EXPECT_EQ(out.substr(h.size() + 22, 4), "BZh9");
    }
  }
}

TEST(SequenceFile, BlockClosesAtBlockSize) {
  SeqFormat f{SeqValueType::kBytesWritable, SeqCodec::kDefault};
  f.block_bytes = 100;
  SequenceFileEncoder enc(f);
  SeqFileState s;
  SequenceFileEncoder::start(s, kSync);
  std::string out;
  ASSERT_TRUE(enc.append(s, 1, std::string(50, 'a'), out));  // 8 + 54 = 62
  EXPECT_EQ(out, "");
  ASSERT_TRUE(enc.append(s, 2, std::string(20, 'a'), out));  // 62 + 32 = 94
  EXPECT_EQ(out, "");
  ASSERT_TRUE(enc.append(s, 3, "", out));  // 94 + 12 >= 100
  EXPECT_NE(out, "");
  EXPECT_EQ(s.records, 0);
  EXPECT_EQ(out[enc.header(s).size() + 20], '\x03');
}

TEST(SequenceFile, RollbackToKeptBytes) {
  for (SeqCodec c : {SeqCodec::kNone, SeqCodec::kDefault}) {
    SequenceFileEncoder enc(SeqFormat{SeqValueType::kBytesWritable, c});
    SeqFileState s;
    SequenceFileEncoder::start(s, kSync);
    std::string kept, lost, again;
    ASSERT_TRUE(enc.append(s, 1, "a", kept));
    ASSERT_TRUE(enc.sync(s, kept));
    ASSERT_TRUE(enc.append(s, 2, "b", lost));
    ASSERT_TRUE(enc.sync(s, lost));
    // The second write fails: the file is cut back to `kept` and the event comes again.
    enc.rollback(s, static_cast<int64_t>(kept.size()));
    ASSERT_TRUE(enc.append(s, 2, "b", again));
    ASSERT_TRUE(enc.sync(s, again));
    EXPECT_EQ(again, lost);
    // Nothing kept: the header comes again.
    enc.rollback(s, 0);
    std::string first;
    ASSERT_TRUE(enc.append(s, 1, "a", first));
    ASSERT_TRUE(enc.sync(s, first));
    EXPECT_EQ(first, kept);
  }
}

}  // namespace
}  // namespace ingestor
