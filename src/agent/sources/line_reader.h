#pragma once
// LineReader: cuts a byte stream (a pipe) into lines the way Java's BufferedReader.readLine()
// does, for the exec source: "\n", "\r" and "\r\n" each end a line and are not part of it (a
// "\r\n" split across two reads is one terminator), and the rest of the stream after the last
// terminator is a line of its own at the end (finish()).
// Unlike Java, a line is bounded: one that reaches `max_line` bytes without a terminator is cut
// there, and the rest is read as the next line (cut() counts how often).
//
// Lines are Slices of the reader's buffers (reference-counted Chunks): no copy, no allocation per
// line. Memory: one buffer of `buffer_size` bytes, or up to max_line + 4 KiB while an unfinished
// line needs it, plus the buffers still referenced by lines handed out.
// Not thread-safe: one reader per stream.

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "base/charset.h"
#include "core/event.h"

namespace ingestor {

class LineReader {
 public:
  explicit LineReader(size_t max_line, size_t buffer_size = 64 * 1024);

  // Where the next read() may write: at least 1 byte, at most the room left in the buffer.
  std::span<char> room();
  // `n` bytes were written at the start of room(): appends the lines they complete to `out` and
  // returns how many were appended.
  size_t commit(size_t n, std::vector<Slice>& out);
  // End of the stream: appends the unterminated rest, if any (1 or 0 returned).
  size_t finish(std::vector<Slice>& out);

  // Lines cut because they reached max_line bytes.
  size_t cut() const { return cut_; }
  // Bytes held of an unfinished line.
  size_t partial() const { return len_ - start_; }

 private:
  void new_buffer();
  size_t max_line_;
  size_t buffer_size_;
  ChunkRef chunk_;
  size_t start_ = 0;      // first byte of the unfinished line
  size_t len_ = 0;        // bytes in the buffer
  bool skip_lf_ = false;  // the last line ended with '\r': a '\n' next belongs to it
  size_t cut_ = 0;
};

// The exec source's charsets: those whose lines can be cut byte by byte (UTF-8, ISO-8859-1,
// US-ASCII). nullopt for others (UTF-16 and UTF-32 are refused at configuration).
std::optional<Charset> exec_charset(std::string_view name);

// A line as Flume's exec source stores it: decoded with `cs` and encoded back with `cs` (invalid
// UTF-8 becomes U+FFFD, non-ASCII bytes in US-ASCII become '?'); ISO-8859-1 and valid input come
// back unchanged, without a copy.
Slice recode_line(Slice line, Charset cs);

}  // namespace ingestor
