#pragma once
// The spooldir source's deserializers: they turn one file, from a byte offset, into events, and
// say after each event at which byte offset of the file the next one starts (the position that
// commits with the batch, so a restart resumes exactly there).
//
//  - LINE (Flume's LineDeserializer): one event per '\n' ('\r' is kept), decoded with
//    `inputCharset` under `decodeErrorPolicy` and re-encoded in `outputCharset`. A line longer
//    than `maxLineLength` characters (UTF-16 units, as Java counts) becomes several events of
//    maxLineLength characters; nothing is dropped. Unlike Flume, a line of exactly maxLineLength
//    characters is one event (Flume adds an empty event for its newline), and a character is never
//    split between two events (Java may cut a surrogate pair). A final line without '\n' is an
//    event. UTF-8 in and out with valid input is the fast path: bodies are slices of the read
//    buffer, no copy.
//    Memory: one read buffer of max(64 KiB, 2 x maxLineLength + 4 KiB) bytes at a time, plus the
//    buffers still referenced by events in flight.
//  - BLOB (Flume's morphline BlobDeserializer): the file's bytes as one event, cut into events of
//    `maxBlobLength` bytes when longer. Memory: one event of at most maxBlobLength bytes at a time
//    (the source also caps a batch's bytes).
//
// Offsets reported by offset() are always event boundaries: the end of a line (after its '\n'),
// the cut point of a long line (a character boundary), or a blob's end.
// Thread-safety: one deserializer is used by one thread.

#include <cstdint>
#include <memory>
#include <string>

#include "agent/sources/spool_decoder.h"
#include "base/charset.h"
#include "base/result.h"
#include "core/event.h"

namespace ingestor {

// Where a deserializer reads from: the open file (the source's, or a string in tests).
class SpoolInput {
 public:
  virtual ~SpoolInput() = default;
  // Reads up to `n` bytes at `offset`; fewer at the end of the file, 0 at or past it.
  [[nodiscard]] virtual Result<size_t> pread(char* buf, size_t n, uint64_t offset) = 0;
};

struct LineDeserializerOptions {
  size_t max_line_length = 2048;  // characters (UTF-16 units), >= 1
  Charset input = Charset::kUtf8;
  Charset output = Charset::kUtf8;
  DecodeErrorPolicy policy = DecodeErrorPolicy::kFail;
};

struct BlobDeserializerOptions {
  size_t max_blob_length = 100000000;  // bytes, >= 1
};

class SpoolDeserializer {
 public:
  virtual ~SpoolDeserializer() = default;
  // Starts reading `in` (not owned; it outlives the reads) at byte `offset`: 0, or an offset this
  // kind of deserializer reported for the same file. `size` is the file's size at pickup (a hint).
  [[nodiscard]] virtual Status open(SpoolInput& in, uint64_t offset, uint64_t size) = 0;
  // Appends up to `max_events` events to `out`, stopping early once the appended bodies hold
  // `max_bytes` (at least one event is read). Returns how many were appended: 0 at the end of the
  // file. An error (a read error; malformed input under decodeErrorPolicy FAIL) is returned once
  // the events before it were handed out: a call that meets it after appending events returns
  // them, the next call returns the error. offset() is then the end of the last good event.
  [[nodiscard]] virtual Result<size_t> read(Batch& out, size_t max_events, size_t max_bytes) = 0;
  // The byte offset just after the last event appended (where the next one starts).
  virtual uint64_t offset() const = 0;
  // Events cut because they were longer than the maximum (lines or blobs) since the last call.
  virtual uint64_t take_truncated() = 0;
};

std::unique_ptr<SpoolDeserializer> make_line_deserializer(const LineDeserializerOptions& o);
std::unique_ptr<SpoolDeserializer> make_blob_deserializer(const BlobDeserializerOptions& o);

}  // namespace ingestor
