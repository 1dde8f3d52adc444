#pragma once
// Streaming compressors for the S3 and hdfs sinks' CompressedStream output: gzip (zlib, a standard
// .gz member readable by `gzip -d`), bzip2 (libbz2, a standard stream readable by `bzip2 -d`) and
// zstd (a standard frame readable by `zstd -d`). Concatenated members/streams/frames decode as
// one file with each tool.
// A Compressor appends compressed bytes to a caller's buffer; memory is bounded by the codec's
// window (zlib ~256 KiB, bzip2 level 9 ~7.6 MiB, zstd level 3 ~1-2 MiB), not by the input.
// Not thread-safe: one writer per object.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ingestor {

enum class Codec { kNone, kGzip, kBzip2, kZstd };

// Flume's hdfs.codeC names: "gzip", "GzipCodec", "org.apache.hadoop.io.compress.GzipCodec",
// "bzip2", "BZip2Codec", "zstd", "ZStandardCodec"... matched ignoring case and a "Codec" suffix.
// nullopt when unknown.
std::optional<Codec> codec_from_name(std::string_view name);
// ".gz", ".bz2", ".zst", "".
const char* codec_extension(Codec c);

class Compressor {
 public:
  virtual ~Compressor() = default;
  // Compresses `in`, appending output to `out`.
  [[nodiscard]] virtual Status write(std::string_view in, std::string& out) = 0;
  // Ends the stream (trailer), appending to `out`. Call reset() before writing again.
  [[nodiscard]] virtual Status finish(std::string& out) = 0;
  // Starts a new, independent stream (gzip member / zstd frame), keeping the codec's buffers.
  [[nodiscard]] virtual Status reset() = 0;
};

// kNone gives a pass-through.
[[nodiscard]] Result<std::unique_ptr<Compressor>> make_compressor(Codec codec, int level = -1);

// Flume's Avro RPC `compression-type = deflate` (Netty's JZlibEncoder/JZlibDecoder with the ZLIB
// wrapper): one RFC 1950 zlib stream per direction per connection, each write ended with
// Z_SYNC_FLUSH (00 00 ff ff), so every message can be decoded as soon as it arrives.
// Memory: zlib's window (~256 KiB deflating at level 9, ~44 KiB inflating) per stream.
class ZlibStreamDeflater {
 public:
  // level 0-9; -1 is zlib's default (6).
  explicit ZlibStreamDeflater(int level = 6);
  ~ZlibStreamDeflater();
  ZlibStreamDeflater(const ZlibStreamDeflater&) = delete;
  ZlibStreamDeflater& operator=(const ZlibStreamDeflater&) = delete;
  // Compresses `in` and flushes (Z_SYNC_FLUSH), appending to `out`.
  [[nodiscard]] Status write_flush(std::string_view in, std::string& out);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

class ZlibStreamInflater {
 public:
  ZlibStreamInflater();
  ~ZlibStreamInflater();
  ZlibStreamInflater(const ZlibStreamInflater&) = delete;
  ZlibStreamInflater& operator=(const ZlibStreamInflater&) = delete;
  // Decompresses `in`, appending to `out`. kCorrupt for bytes that are not a zlib stream (or data
  // after its end); kTooLarge when this call would append more than `max_out` bytes.
  [[nodiscard]] Status write(std::string_view in, std::string& out, size_t max_out);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// One-shot decompression (tests, verification): gzip, bzip2 (possibly several members/streams)
// or zstd.
[[nodiscard]] Result<std::string> decompress(Codec codec, std::string_view in);

}  // namespace ingestor
