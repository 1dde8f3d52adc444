#pragma once
// Hadoop's SequenceFile (version 6), as org.apache.hadoop.io.SequenceFile.Writer writes it
// (docs/formats/sequence_file.md). Flume's hdfs sink writes these by default
// (hdfs.fileType = SequenceFile): key LongWritable, value BytesWritable (writeFormat Writable) or
// Text (writeFormat Text); no codec: uncompressed records; a codec: BLOCK compression.
//
// Layout:
//   header: "SEQ" 6, key class and value class names (Text: vint length + UTF-8), two booleans
//           (compressed, block-compressed), the codec class name if compressed, metadata (int
//           count, 0 here), the file's 16-byte sync marker.
//   uncompressed record: int record length (key + value bytes), int key length, key, value.
//   block: vint record count, then four buffers, each a vint length + an independent
//          compressed stream: key lengths (vints), keys, value lengths (vints), values.
//   sync escape: int -1 + the sync marker. Uncompressed: before a record once 100 KiB
//          (SYNC_INTERVAL) have been written since the last one, and at every sync() unless
//          one ends the file already. Block: before every block.
// Ints are big-endian; vints are WritableUtils.writeVLong.
//
// The encoder is a pure function of the calls made on it: the bytes are Hadoop's for the same
// append()/sync() sequence, apart from the sync marker (Hadoop's is an MD5 of a UID and the
// time; ours is random). Unlike Hadoop the header is written with the first record (or first
// block), so a file nothing was appended to stays empty.
// Not thread-safe; one encoder may serve many files (the state is in SeqFileState).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ingestor {

enum class SeqValueType { kBytesWritable, kText };
// kDefault: org.apache.hadoop.io.compress.DefaultCodec (zlib stream); kDeflate: DeflateCodec
// (the same bytes, its own class name); kGzip: GzipCodec (gzip members, as Hadoop's native zlib
// writes them); kBzip2: BZip2Codec (bzip2 streams, block size 9).
enum class SeqCodec { kNone, kDefault, kDeflate, kGzip, kBzip2 };

inline constexpr int64_t kSeqSyncInterval = 5 * 1024 * 20;   // SequenceFile.SYNC_INTERVAL
inline constexpr int64_t kSeqCompressBlockSize = 1000000;    // io.seqfile.compress.blocksize

struct SeqFormat {
  SeqValueType value = SeqValueType::kBytesWritable;
  SeqCodec codec = SeqCodec::kNone;  // not kNone: BLOCK compression
  int64_t sync_interval = kSeqSyncInterval;
  int64_t block_bytes = kSeqCompressBlockSize;
};

const char* seq_value_class(SeqValueType t);
// The codec's Hadoop class name; "" for kNone.
const char* seq_codec_class(SeqCodec c);
// CompressionCodec.getDefaultExtension(): ".deflate", ".gz", ".bz2"; "" for kNone.
const char* seq_codec_extension(SeqCodec c);
// A Hadoop codec named as Flume's hdfs.codeC matches it: the class name, or its simple name or
// that name without "Codec", ignoring case (default, deflate, gzip, bzip2). nullopt otherwise.
std::optional<SeqCodec> seq_codec_from_name(std::string_view name);

// WritableUtils.writeVLong (writeVInt is the same encoding).
void write_hadoop_vlong(int64_t v, std::string& out);
// Text.writeString: vint byte length, then the bytes.
void write_hadoop_text(std::string_view s, std::string& out);

// One file's state.
struct SeqFileState {
  std::string sync;          // 16 bytes
  bool header_due = true;    // nothing written yet
  int64_t pos = 0;           // bytes written to the file (given to `out`) so far
  int64_t last_sync_pos = 0; // Writer.lastSyncPos
  // Block compression: the open block.
  int64_t records = 0;
  std::string key_lens, keys, val_lens, vals;
  size_t held() const noexcept {
    return key_lens.size() + keys.size() + val_lens.size() + vals.size();
  }
};

class SequenceFileEncoder {
 public:
  explicit SequenceFileEncoder(const SeqFormat& f);
  ~SequenceFileEncoder();
  SequenceFileEncoder(const SequenceFileEncoder&) = delete;
  SequenceFileEncoder& operator=(const SequenceFileEncoder&) = delete;

  const SeqFormat& format() const noexcept { return f_; }

  // A new, empty file with this 16-byte sync marker.
  static void start(SeqFileState& s, std::string sync);
  // The file header as it will be written for `s`.
  std::string header(const SeqFileState& s) const;
  // Writer.append(LongWritable(key), value): appends to `out` (uncompressed: the header first
  // if due, a sync escape if due, the record; block: buffers the record, and writes the block
  // once keys + values reach block_bytes).
  [[nodiscard]] Status append(SeqFileState& s, int64_t key, std::string_view value,
                              std::string& out);
  // Writer.sync(): block: the open block (header first if due), preceded by a sync escape;
  // uncompressed: a sync escape unless the file ends with one. Nothing for an empty file.
  [[nodiscard]] Status sync(SeqFileState& s, std::string& out);
  // Forgets what was given to `out` after the first `kept_bytes` of the file, which end where
  // sync() left them (or 0: the file is empty again).
  void rollback(SeqFileState& s, int64_t kept_bytes) const;

 private:
  void write_header(SeqFileState& s, std::string& out) const;
  void write_sync(SeqFileState& s, std::string& out) const;
  [[nodiscard]] Status write_buffer(std::string_view in, std::string& out);

  SeqFormat f_;
  struct Zlib;
  Zlib* z_ = nullptr;  // DefaultCodec, DeflateCodec, GzipCodec
  std::string scratch_;
};

}  // namespace ingestor
