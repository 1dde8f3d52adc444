#include "base/avro_container.h"

#include <gtest/gtest.h>
#include <snappy-c.h>
#include <zlib.h>

#include <map>

#include "base/avro.h"
#include "base/hash.h"

namespace ingestor {
namespace {

const std::string kSync = "0123456789abcdef";

// Reads a header back with the Avro primitives: {metadata}, sync; leaves `r` at the first block.
std::map<std::string, std::string> read_header(AvroReader& r) {
  std::map<std::string, std::string> meta;
  auto magic = r.read_fixed(4);
  EXPECT_TRUE(magic && *magic == std::string_view("Obj\x01", 4));
  for (;;) {
    auto n = r.read_block_count();
    EXPECT_TRUE(n);
    if (!n || *n == 0) break;
    for (int64_t i = 0; i < *n; ++i) {
      auto k = r.read_string();
      auto v = r.read_bytes();
      EXPECT_TRUE(k && v);
      meta[std::string(*k)] = std::string(*v);
    }
  }
  auto sync = r.read_fixed(kAvroSyncSize);
  EXPECT_TRUE(sync && *sync == kSync);
  return meta;
}

TEST(AvroContainer, HeaderCarriesSchemaCodecAndSync) {
  std::string out;
  write_avro_container_header(R"({"type":"string"})", AvroCodec::kDeflate, kSync, out);
  AvroReader r(out);
  auto meta = read_header(r);
  EXPECT_EQ(meta["avro.schema"], R"({"type":"string"})");
  EXPECT_EQ(meta["avro.codec"], "deflate");
  EXPECT_EQ(meta.size(), 2u);
  EXPECT_TRUE(r.at_end());
}

TEST(AvroContainer, NullBlockIsCountSizeRecordsSync) {
  AvroBlockEncoder enc(AvroCodec::kNull);
  std::string out;
  ASSERT_TRUE(enc.write_block(2, "\x02hi\x02yo", kSync, out));
  // count 2 (04), size 6 (0c), the records as they are, the sync marker.
  EXPECT_EQ(out, std::string("\x04\x0c\x02hi\x02yo", 8) + kSync);
}

TEST(AvroContainer, DeflateBlockIsRawDeflate) {
  AvroBlockEncoder enc(AvroCodec::kDeflate);
  std::string records(10000, 'a');
  for (int round = 0; round < 2; ++round) {  // the encoder's state is reused
    std::string out;
    ASSERT_TRUE(enc.write_block(1, records, kSync, out));
    AvroReader r(out);
    EXPECT_EQ(*r.read_long(), 1);
    auto data = r.read_bytes();
    ASSERT_TRUE(data);
    EXPECT_LT(data->size(), 200u);
    z_stream zs{};
    ASSERT_EQ(inflateInit2(&zs, -15), Z_OK);  // raw: no zlib header
    std::string back(records.size() + 16, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data->data()));
    zs.avail_in = static_cast<uInt>(data->size());
    zs.next_out = reinterpret_cast<Bytef*>(back.data());
    zs.avail_out = static_cast<uInt>(back.size());
    EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
    back.resize(zs.total_out);
    inflateEnd(&zs);
    EXPECT_EQ(back, records);
    EXPECT_EQ(*r.read_fixed(kAvroSyncSize), kSync);
    EXPECT_TRUE(r.at_end());
  }
}

TEST(AvroContainer, SnappyBlockEndsWithBigEndianCrc32OfTheRecords) {
  AvroBlockEncoder enc(AvroCodec::kSnappy);
  std::string records = "snappy snappy snappy snappy records";
  std::string out;
  ASSERT_TRUE(enc.write_block(3, records, kSync, out));
  AvroReader r(out);
  EXPECT_EQ(*r.read_long(), 3);
  auto data = r.read_bytes();
  ASSERT_TRUE(data && data->size() > 4);
  std::string_view compressed = data->substr(0, data->size() - 4);
  size_t n = 0;
  ASSERT_EQ(snappy_uncompressed_length(compressed.data(), compressed.size(), &n), SNAPPY_OK);
  std::string back(n, '\0');
  ASSERT_EQ(snappy_uncompress(compressed.data(), compressed.size(), back.data(), &n), SNAPPY_OK);
  EXPECT_EQ(back, records);
  const uint32_t crc = crc32(records);
  const auto* c = reinterpret_cast<const unsigned char*>(data->data() + data->size() - 4);
  EXPECT_EQ((uint32_t{c[0]} << 24) | (uint32_t{c[1]} << 16) | (uint32_t{c[2]} << 8) | c[3], crc);
}

TEST(AvroContainer, CodecNamesAndSyncMarkers) {
  EXPECT_EQ(avro_codec_from_name("null"), AvroCodec::kNull);
  EXPECT_EQ(avro_codec_from_name("Deflate"), AvroCodec::kDeflate);
  EXPECT_EQ(avro_codec_from_name("snappy"), AvroCodec::kSnappy);
  EXPECT_FALSE(avro_codec_from_name("bzip2"));
  EXPECT_FALSE(avro_codec_from_name(""));
  std::string a = random_avro_sync_marker(), b = random_avro_sync_marker();
  EXPECT_EQ(a.size(), kAvroSyncSize);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace ingestor
