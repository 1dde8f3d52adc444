#include "base/avro.h"

#include <fmt/format.h>

namespace ingestor {

void AvroWriter::write_varint(uint64_t z) {
  char buf[10];
  size_t n = 0;
  while (z >= 0x80) {
    buf[n++] = static_cast<char>((z & 0x7F) | 0x80);
    z >>= 7;
  }
  buf[n++] = static_cast<char>(z);
  out_.append(buf, n);
}

Result<int64_t> AvroReader::read_varint() {
  uint64_t z = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= in_.size())
      return make_error(Errc::kCorrupt, fmt::format("avro: truncated varint at byte {}", pos_));
    auto b = static_cast<uint8_t>(in_[pos_++]);
    if (shift == 63 && (b & 0x7E) != 0)
      return make_error(Errc::kCorrupt,
                        fmt::format("avro: varint overflows 64 bits at byte {}", pos_));
    z |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  return make_error(Errc::kCorrupt,
                    fmt::format("avro: varint longer than 10 bytes at byte {}", pos_));
}

Result<int32_t> AvroReader::read_int() {
  auto v = read_long();
  if (!v) return v.error();
  if (*v < INT32_MIN || *v > INT32_MAX)
    return make_error(Errc::kCorrupt, fmt::format("avro: int out of range: {}", *v));
  return static_cast<int32_t>(*v);
}

Result<bool> AvroReader::read_bool() {
  if (pos_ >= in_.size()) return make_error(Errc::kCorrupt, "avro: truncated boolean");
  char c = in_[pos_++];
  if (c != 0 && c != 1)
    return make_error(Errc::kCorrupt, fmt::format("avro: boolean byte {} is neither 0 nor 1",
                                                  static_cast<int>(static_cast<uint8_t>(c))));
  return c == 1;
}

Result<std::string_view> AvroReader::read_bytes() {
  auto n = read_long();
  if (!n) return n.error();
  if (*n < 0)
    return make_error(Errc::kCorrupt, fmt::format("avro: negative length {} at byte {}", *n, pos_));
  return read_fixed(static_cast<uint64_t>(*n));
}

Result<std::string_view> AvroReader::read_fixed(size_t n) {
  if (n > remaining())
    return make_error(Errc::kCorrupt, fmt::format("avro: length {} at byte {} runs past the end "
                                                  "({} bytes left)",
                                                  n, pos_, remaining()));
  std::string_view v = in_.substr(pos_, n);
  pos_ += n;
  return v;
}

Result<int64_t> AvroReader::read_block_count() {
  auto n = read_long();
  if (!n) return n.error();
  if (*n >= 0) return *n;
  if (*n == INT64_MIN) return make_error(Errc::kCorrupt, "avro: block count out of range");
  auto size = read_long();  // the block's byte size, which we do not need
  if (!size) return size.error();
  if (*size < 0) return make_error(Errc::kCorrupt, "avro: negative block size");
  return -*n;
}

}  // namespace ingestor
