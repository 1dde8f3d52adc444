#include "base/avro_container.h"

#include <snappy-c.h>
#include <zlib.h>

#include <random>

#include "base/avro.h"
#include "base/hash.h"

namespace ingestor {

std::optional<AvroCodec> avro_codec_from_name(std::string_view name) {
  std::string n(name);
  for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n == "null") return AvroCodec::kNull;
  if (n == "deflate") return AvroCodec::kDeflate;
  if (n == "snappy") return AvroCodec::kSnappy;
  return std::nullopt;
}

const char* avro_codec_name(AvroCodec c) {
  switch (c) {
    case AvroCodec::kNull:
      return "null";
    case AvroCodec::kDeflate:
      return "deflate";
    case AvroCodec::kSnappy:
      return "snappy";
  }
  return "null";
}

std::string random_avro_sync_marker() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }());
  std::string s(kAvroSyncSize, '\0');
  for (size_t i = 0; i < kAvroSyncSize; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8; ++j) s[i + j] = static_cast<char>(v >> (8 * j));
  }
  return s;
}

void write_avro_container_header(std::string_view schema_json, AvroCodec codec,
                                 std::string_view sync, std::string& out) {
  out.append("Obj\x01", 4);
  AvroWriter w(out);
  w.write_block_count(2);
  w.write_string("avro.schema");
  w.write_bytes(schema_json);
  w.write_string("avro.codec");
  w.write_bytes(avro_codec_name(codec));
  w.write_block_count(0);
  w.write_fixed(sync);
}

struct AvroBlockEncoder::Deflate {
  z_stream zs{};
  bool ok = false;
  Deflate() {
    // Raw deflate (negative window bits: no zlib header or trailer), as java.util.zip.Deflater
    // with nowrap, which Avro's DeflateCodec uses.
    ok = deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~Deflate() {
    if (ok) deflateEnd(&zs);
  }
};

AvroBlockEncoder::AvroBlockEncoder(AvroCodec codec) : codec_(codec) {}
AvroBlockEncoder::~AvroBlockEncoder() = default;

Status AvroBlockEncoder::write_block(int64_t count, std::string_view records, std::string_view sync,
                                     std::string& out) {
  AvroWriter w(out);
  std::string_view data = records;
  switch (codec_) {
    case AvroCodec::kNull:
      break;
    case AvroCodec::kDeflate: {
      if (!deflate_) deflate_ = std::make_unique<Deflate>();
      if (!deflate_->ok) return make_error(Errc::kInternal, "avro deflate: cannot initialize zlib");
      z_stream& zs = deflate_->zs;
      if (deflateReset(&zs) != Z_OK) return make_error(Errc::kInternal, "avro deflate: reset");
      scratch_.resize(deflateBound(&zs, records.size()));
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(records.data()));
      zs.avail_in = static_cast<uInt>(records.size());
      zs.next_out = reinterpret_cast<Bytef*>(scratch_.data());
      zs.avail_out = static_cast<uInt>(scratch_.size());
      if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        return make_error(Errc::kInternal, "avro deflate: the block did not fit its bound");
      data = std::string_view(scratch_.data(), zs.total_out);
      break;
    }
    case AvroCodec::kSnappy: {
      size_t n = snappy_max_compressed_length(records.size());
      scratch_.resize(n + 4);
      if (snappy_compress(records.data(), records.size(), scratch_.data(), &n) != SNAPPY_OK)
        return make_error(Errc::kInternal, "avro snappy: compression failed");
      const uint32_t crc = crc32(records);
      for (int i = 0; i < 4; ++i) scratch_[n + i] = static_cast<char>(crc >> (24 - 8 * i));
      data = std::string_view(scratch_.data(), n + 4);
      break;
    }
  }
  w.write_long(count);
  w.write_bytes(data);
  w.write_fixed(sync);
  return {};
}

}  // namespace ingestor
