#pragma once
// Avro binary encoding (the Avro 1.11 specification, "Binary Encoding"): the primitives Flume's
// wire and file formats are built from. Used by the AvroFlumeEvent datum (core/flume_avro.h:
// Kafka's useFlumeEventFormat / parseAsFlumeEvent, Avro RPC, avro_event files).
//
// AvroWriter appends to a caller's std::string; AvroReader reads a byte range and never reads
// past it: every length is checked against what is left, and a malformed input is an Error
// (kCorrupt) naming what was being read, never a crash.
// Neither is thread-safe; both are cheap to construct.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ingestor {

class AvroWriter {
 public:
  explicit AvroWriter(std::string& out) : out_(out) {}
  // int and long: zig-zag, then little-endian base-128 varint.
  void write_long(int64_t v) {
    const uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
    if (z < 0x80) {
      out_.push_back(static_cast<char>(z));  // the common case: counts, short lengths
      return;
    }
    if (z < 0x4000) {  // lengths up to 8191: short bodies
      const char two[2] = {static_cast<char>((z & 0x7F) | 0x80), static_cast<char>(z >> 7)};
      out_.append(two, 2);
      return;
    }
    write_varint(z);
  }
  void write_int(int32_t v) { write_long(v); }
  void write_bool(bool v) { out_.push_back(v ? '\1' : '\0'); }
  // bytes and string: long length, then the bytes.
  void write_bytes(std::string_view v) {
    write_long(static_cast<int64_t>(v.size()));
    out_.append(v);
  }
  void write_string(std::string_view v) { write_bytes(v); }
  void write_fixed(std::string_view v) { out_.append(v); }
  // A union's branch, an enum's symbol: the index as a long / int.
  void write_index(int64_t i) { write_long(i); }
  // Maps and arrays: write_block_count(n) then n items (a map item is a string key then the
  // value), and write_block_count(0) to end. An empty map or array is a single 0.
  void write_block_count(int64_t n) { write_long(n); }
  std::string& out() { return out_; }

 private:
  void write_varint(uint64_t z);
  std::string& out_;
};

class AvroReader {
 public:
  explicit AvroReader(std::string_view in) : in_(in) {}
  [[nodiscard]] Result<int64_t> read_long() {
    if (pos_ < in_.size() && !(static_cast<uint8_t>(in_[pos_]) & 0x80)) {
      const auto b = static_cast<uint8_t>(in_[pos_++]);  // one byte: the common case
      return static_cast<int64_t>(b >> 1) ^ -static_cast<int64_t>(b & 1);
    }
    if (in_.size() - pos_ >= 2 && !(static_cast<uint8_t>(in_[pos_ + 1]) & 0x80)) {
      const uint64_t z = (static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_]) & 0x7F)) |
                         (static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + 1])) << 7);
      pos_ += 2;  // two bytes: lengths of short bodies
      return static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
    }
    return read_varint();
  }
  [[nodiscard]] Result<int32_t> read_int();
  [[nodiscard]] Result<bool> read_bool();
  // A view into the input (valid as long as it is).
  [[nodiscard]] Result<std::string_view> read_bytes();
  [[nodiscard]] Result<std::string_view> read_string() { return read_bytes(); }
  [[nodiscard]] Result<std::string_view> read_fixed(size_t n);
  // The next block's item count for a map or an array: 0 at the end. A negative count in the
  // input (which is followed by the block's byte size) is returned as its absolute value.
  [[nodiscard]] Result<int64_t> read_block_count();
  size_t remaining() const noexcept { return in_.size() - pos_; }
  size_t position() const noexcept { return pos_; }
  bool at_end() const noexcept { return pos_ == in_.size(); }

 private:
  [[nodiscard]] Result<int64_t> read_varint();
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace ingestor
