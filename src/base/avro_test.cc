#include "base/avro.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <limits>

namespace ingestor {
namespace {

std::string hex(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += fmt::format("{:02x}", c);
  return out;
}

TEST(Avro, LongsAreZigZagVarints) {
  std::string out;
  AvroWriter w(out);
  for (int64_t v : {0, -1, 1, -2, 2, 63, -64, 64}) w.write_long(v);
  EXPECT_EQ(hex(out), "00010203047e7f8001");
  std::vector<int64_t> all{0,
                           1,
                           -1,
                           127,
                           128,
                           -129,
                           1 << 20,
                           std::numeric_limits<int64_t>::max(),
                           std::numeric_limits<int64_t>::min()};
  out.clear();
  for (auto v : all) w.write_long(v);
  AvroReader r(out);
  for (auto v : all) {
    auto got = r.read_long();
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, v);
  }
  EXPECT_TRUE(r.at_end());
}

TEST(Avro, BytesAndBlocks) {
  std::string out;
  AvroWriter w(out);
  w.write_string("hi");
  w.write_bool(true);
  EXPECT_EQ(hex(out), "04686901");
  AvroReader r(out);
  EXPECT_EQ(*r.read_string(), "hi");
  EXPECT_TRUE(*r.read_bool());
  // A negative block count is followed by the block's size in bytes.
  std::string neg;
  AvroWriter(neg).write_long(-3);
  AvroWriter(neg).write_long(12);
  AvroReader nr(neg);
  EXPECT_EQ(*nr.read_block_count(), 3);
  EXPECT_TRUE(nr.at_end());
}

TEST(Avro, MalformedInputIsAnErrorNotACrash) {
  EXPECT_FALSE(AvroReader("").read_long());
  EXPECT_FALSE(AvroReader("\x80").read_long());
  EXPECT_FALSE(AvroReader(std::string(11, '\xff')).read_long());
  EXPECT_FALSE(AvroReader("\x01").read_bytes());  // length -1
  EXPECT_FALSE(AvroReader("\x0a"
                          "ab")
                   .read_bytes());  // 5 bytes announced, 2 there
  EXPECT_FALSE(AvroReader("\x02").read_bool());
  EXPECT_FALSE(AvroReader("\x02").read_fixed(2));
  auto big = AvroReader("\xfe\xff\xff\xff\x0f").read_int();  // 2^31 - 1 ok
  EXPECT_TRUE(big);
  EXPECT_FALSE(AvroReader("\x80\x80\x80\x80\x10").read_int());  // 2^31: out of int range
  auto e = AvroReader(
               "\x0a"
               "ab")
               .read_bytes();
  EXPECT_EQ(e.error().code, Errc::kCorrupt);
}

}  // namespace
}  // namespace ingestor
