// LINE and BLOB deserializers of the spooldir source: Flume's TestLineDeserializer and
// TestBlobDeserializer cases, offsets that resume exactly, charsets and decodeErrorPolicy.
#include "agent/sources/spool_deserializer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

namespace ingestor {
namespace {

// A file in memory; `step` caps each read to exercise buffer edges.
class StringInput final : public SpoolInput {
 public:
  explicit StringInput(std::string data, size_t step = SIZE_MAX)
      : data_(std::move(data)), step_(step) {}
  Result<size_t> pread(char* buf, size_t n, uint64_t offset) override {
    if (offset >= data_.size()) return size_t{0};
    size_t k = std::min({n, step_, data_.size() - static_cast<size_t>(offset)});
    std::memcpy(buf, data_.data() + offset, k);
    return k;
  }
  std::string data_;
  size_t step_;
};

struct Read {
  std::vector<std::string> bodies;
  std::vector<uint64_t> offsets;  // offset() after each read() call
  std::string error;
};

Read read_all(SpoolDeserializer& d, StringInput& in, uint64_t from = 0, size_t per_call = 1) {
  Read r;
  EXPECT_TRUE(d.open(in, from, in.data_.size()));
  for (;;) {
    Batch b;
    auto n = d.read(b, per_call, SIZE_MAX);
    if (!n) {
      r.error = n.error().message;
      break;
    }
    if (*n == 0) break;
    for (auto& e : b) r.bodies.push_back(e.body.str());
    r.offsets.push_back(d.offset());
  }
  return r;
}

std::vector<std::string> lines(std::string data, LineDeserializerOptions o = {},
                               size_t step = SIZE_MAX) {
  auto d = make_line_deserializer(o);
  StringInput in(std::move(data), step);
  Read r = read_all(*d, in);
  EXPECT_EQ(r.error, "");
  return r.bodies;
}

using V = std::vector<std::string>;

TEST(LineDeserializer, OneEventPerNewlineCarriageReturnKeptFinalLineEmitted) {
  EXPECT_EQ(lines("a\nb\r\n\nlast"), (V{"a", "b\r", "", "last"}));
  EXPECT_EQ(lines(""), V{});
  EXPECT_EQ(lines("\n"), V{""});
}

TEST(LineDeserializer, FlumeMaxLineLengthCutsIntoPiecesNothingDropped) {
  LineDeserializerOptions o;
  o.max_line_length = 10;
  EXPECT_EQ(lines("abcdefghijklmnopqrstuvwxyz\n", o), (V{"abcdefghij", "klmnopqrst", "uvwxyz"}));
  // Better than Flume: exactly max characters is one event, not one plus an empty one.
  EXPECT_EQ(lines("abcdefghij\nk\n", o), (V{"abcdefghij", "k"}));
  // Characters, not bytes: ten two-byte characters fit.
  EXPECT_EQ(lines("ééééééééééé\n", o), (V{"éééééééééé", "é"}));
  // A supplementary character (two UTF-16 units) is never split.
  o.max_line_length = 3;
  EXPECT_EQ(lines("ab\xF0\x9F\x98\x80z\n", o), (V{"ab", "\xF0\x9F\x98\x80z"}));
}

TEST(LineDeserializer, LongLinesAcrossSmallReadsStayBounded) {
  LineDeserializerOptions o;
  o.max_line_length = 100;
  std::string big(1000000, 'x');
  auto out = lines(big + "\nend\n", o, 777);
  ASSERT_EQ(out.size(), 10001u);
  for (size_t i = 0; i < 10000; ++i) ASSERT_EQ(out[i], std::string(100, 'x'));
  EXPECT_EQ(out.back(), "end");
}

TEST(LineDeserializer, EveryOffsetResumesWithTheRemainingEvents) {
  LineDeserializerOptions o;
  o.max_line_length = 4;
  o.policy = DecodeErrorPolicy::kReplace;
  const std::string data = "one\ntwo22222\n\xff\xfe\nxé€\xF0\x9F\x98\x80y\nlast";
  auto d = make_line_deserializer(o);
  StringInput in(data, 3);
  Read all = read_all(*d, in);
  ASSERT_EQ(all.error, "");
  for (size_t i = 0; i < all.offsets.size(); ++i) {
    Read rest = read_all(*d, in, all.offsets[i]);
    EXPECT_EQ(rest.bodies, V(all.bodies.begin() + static_cast<long>(i) + 1, all.bodies.end()))
        << "from offset " << all.offsets[i];
  }
  EXPECT_EQ(all.offsets.back(), data.size());
}

TEST(LineDeserializer, BatchesStopAtMaxEventsAndMaxBytes) {
  auto d = make_line_deserializer({});
  StringInput in("aaaa\nbbbb\ncccc\ndddd\n");
  ASSERT_TRUE(d->open(in, 0, in.data_.size()));
  Batch b;
  EXPECT_EQ(*d->read(b, 3, SIZE_MAX), 3u);
  EXPECT_EQ(d->offset(), 15u);
  Batch b2;
  EXPECT_EQ(*d->read(b2, 10, 1), 1u);  // at least one event
  EXPECT_EQ(*d->read(b2, 10, 1), 0u);
}

TEST(LineDeserializer, Latin1InputAndOutputCharset) {
  LineDeserializerOptions o;
  o.input = Charset::kLatin1;
  EXPECT_EQ(lines("caf\xe9\n", o), V{"café"});
  o.output = Charset::kLatin1;
  EXPECT_EQ(lines("caf\xe9\n", o), V{"caf\xe9"});
  o.input = Charset::kUtf8;
  o.output = Charset::kUtf16Be;
  EXPECT_EQ(lines("hi\n", o), V{std::string("\0h\0i", 4)});
}

TEST(LineDeserializer, DecodeErrorPolicies) {
  LineDeserializerOptions o;
  o.policy = DecodeErrorPolicy::kReplace;
  EXPECT_EQ(lines("a\xff"
                  "b\n\xe2\x82\n",
                  o),
            (V{"a\xEF\xBF\xBD"
               "b",
               "\xEF\xBF\xBD"}));
  o.policy = DecodeErrorPolicy::kIgnore;
  EXPECT_EQ(lines("a\xff"
                  "b\n\xe2\x82\n",
                  o),
            (V{"ab", ""}));
  o.input = Charset::kAscii;
  EXPECT_EQ(lines("a\x80z\n", o), V{"az"});

  // FAIL: the events before the bad byte are handed out, then the error, naming the offset.
  o = {};
  auto d = make_line_deserializer(o);
  StringInput in("good\nbad\xff\nnever\n");
  Read r = read_all(*d, in, 0, 10);
  EXPECT_EQ(r.bodies, V{"good"});
  EXPECT_NE(r.error.find("malformed input at byte 8"), std::string::npos) << r.error;
  EXPECT_EQ(d->offset(), 5u);
}

TEST(LineDeserializer, Utf16ByteOrderMarkHonouredWhenResuming) {
  LineDeserializerOptions o;
  o.input = Charset::kUtf16;
  const std::string le(
      "\xFF\xFE"
      "a\0\n\0b\0\n\0",
      10);
  auto d = make_line_deserializer(o);
  StringInput in(le);
  Read all = read_all(*d, in);
  EXPECT_EQ(all.bodies, (V{"a", "b"}));
  ASSERT_EQ(all.offsets.front(), 6u);
  EXPECT_EQ(read_all(*d, in, 6).bodies, V{"b"});
  EXPECT_EQ(lines(std::string("\0x\0\n", 4), o), V{"x"});  // no BOM: big-endian
}

TEST(LineDeserializer, TruncatedLinesAreCounted) {
  LineDeserializerOptions o;
  o.max_line_length = 2;
  auto d = make_line_deserializer(o);
  StringInput in("abcde\nab\n");
  Read r = read_all(*d, in);
  EXPECT_EQ(r.bodies, (V{"ab", "cd", "e", "ab"}));
  EXPECT_EQ(d->take_truncated(), 2u);
  EXPECT_EQ(d->take_truncated(), 0u);
}

TEST(BlobDeserializer, FlumeMaxBlobLengthCutsTheFile) {
  BlobDeserializerOptions o;
  o.max_blob_length = 10;
  auto d = make_blob_deserializer(o);
  StringInput in("abcdefghijklmnopqrstuvwxyz\n", 4);
  Read r = read_all(*d, in);
  EXPECT_EQ(r.bodies, (V{"abcdefghij", "klmnopqrst", "uvwxyz\n"}));
  EXPECT_EQ(r.offsets, (std::vector<uint64_t>{10, 20, 27}));
  EXPECT_EQ(read_all(*d, in, 20).bodies, V{"uvwxyz\n"});
  EXPECT_EQ(d->take_truncated(), 2u);  // the two events cut at the limit while more followed
}

TEST(BlobDeserializer, WholeFileIsOneEventEmptyFileNone) {
  auto d = make_blob_deserializer({});
  StringInput in(std::string("bin\0ary\n", 8));
  EXPECT_EQ(read_all(*d, in).bodies, V{std::string("bin\0ary\n", 8)});
  StringInput empty("");
  EXPECT_EQ(read_all(*d, empty).bodies, V{});
}

}  // namespace
}  // namespace ingestor
