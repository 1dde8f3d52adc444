#pragma once
// Avro object container files, the writing side (the Avro 1.11 specification, "Object Container
// Files"; docs/formats/avro_event.md): the header (magic "Obj\x01", the metadata map with
// `avro.schema` and `avro.codec`, the 16-byte sync marker) and data blocks (record count, byte
// size, the records' binary encoding compressed with the file's codec, the sync marker).
// Codecs: `null`, `deflate` (raw RFC 1951 deflate, zlib's default level 6, as Avro's
// DeflateCodec at level -1) and `snappy` (the snappy-compressed block followed by the 4-byte
// big-endian CRC-32 of the uncompressed data, as the specification requires).
// Used by the avro_event serializer (agent/sinks/serializer.h). Records are encoded by the caller
// (core/flume_avro.h for Flume's event).
// Thread-safety: an AvroBlockEncoder is used by one thread at a time; it keeps its deflate state
// (~256 KiB) and a scratch buffer for the next block.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ingestor {

enum class AvroCodec { kNull, kDeflate, kSnappy };

inline constexpr size_t kAvroSyncSize = 16;

// Avro's codec names, ignoring case: "null", "deflate", "snappy". nullopt for anything else.
std::optional<AvroCodec> avro_codec_from_name(std::string_view name);
const char* avro_codec_name(AvroCodec c);

// 16 random bytes for a file's sync marker.
std::string random_avro_sync_marker();

// Appends the file header: magic, metadata {avro.schema: schema_json, avro.codec: codec}, sync.
// `sync` is kAvroSyncSize bytes.
void write_avro_container_header(std::string_view schema_json, AvroCodec codec,
                                 std::string_view sync, std::string& out);

class AvroBlockEncoder {
 public:
  explicit AvroBlockEncoder(AvroCodec codec);
  ~AvroBlockEncoder();
  AvroBlockEncoder(const AvroBlockEncoder&) = delete;
  AvroBlockEncoder& operator=(const AvroBlockEncoder&) = delete;

  AvroCodec codec() const noexcept { return codec_; }
  // Appends one block holding `count` records whose binary encoding is `records`: count, byte
  // size, the (compressed) records, `sync`. Fails only if the compressor does (out of memory).
  [[nodiscard]] Status write_block(int64_t count, std::string_view records, std::string_view sync,
                                   std::string& out);

 private:
  struct Deflate;
  AvroCodec codec_;
  std::unique_ptr<Deflate> deflate_;
  std::string scratch_;
};

}  // namespace ingestor
