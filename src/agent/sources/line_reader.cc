#include "agent/sources/line_reader.h"

#include <algorithm>
#include <cstring>

namespace ingestor {

namespace {
// The least room a read gets; a buffer with less is replaced (or compacted).
constexpr size_t kMinRoom = 4096;
}  // namespace

LineReader::LineReader(size_t max_line, size_t buffer_size)
    : max_line_(std::max<size_t>(max_line, 1)), buffer_size_(std::max<size_t>(buffer_size, 1)) {}

void LineReader::new_buffer() {
  // partial() <= max_line_ always (commit() cuts longer lines), so this is bounded.
  const size_t tail = partial();
  Chunk* c = Chunk::make(std::max(buffer_size_, tail + kMinRoom));
  if (tail) std::memcpy(c->data(), chunk_->data() + start_, tail);
  chunk_ = ChunkRef::adopt(c);
  start_ = 0;
  len_ = tail;
}

std::span<char> LineReader::room() {
  if (!chunk_) {
    chunk_ = ChunkRef::adopt(Chunk::make(std::max(buffer_size_, kMinRoom)));
    start_ = len_ = 0;
  }
  if (chunk_->capacity() - len_ < kMinRoom) {
    if (chunk_->refs() == 1 && start_ > 0) {
      // No line handed out still points into this buffer: reuse it.
      std::memmove(chunk_->data(), chunk_->data() + start_, partial());
      len_ -= start_;
      start_ = 0;
    }
    if (chunk_->capacity() - len_ < kMinRoom) new_buffer();
  }
  return {chunk_->data() + len_, chunk_->capacity() - len_};
}

size_t LineReader::commit(size_t n, std::vector<Slice>& out) {
  char* b = chunk_->data();
  size_t scan = len_;
  len_ += n;
  size_t added = 0;
  auto emit = [&](size_t from, size_t to) {
    // The reference is taken below for all the lines of this call at once.
    out.emplace_back(ChunkRef::adopt(chunk_.get()), b + from, to - from);
    ++added;
  };
  if (skip_lf_ && scan < len_) {
    if (b[scan] == '\n') start_ = ++scan;
    skip_lf_ = false;
  }
  while (scan < len_) {
    size_t end = scan;
    while (end < len_ && b[end] != '\n' && b[end] != '\r') ++end;
    if (end == len_) break;
    for (; end - start_ > max_line_; start_ += max_line_, ++cut_) emit(start_, start_ + max_line_);
    emit(start_, end);
    if (b[end] == '\r') {
      if (end + 1 < len_) {
        if (b[end + 1] == '\n') ++end;
      } else {
        skip_lf_ = true;
      }
    }
    start_ = scan = end + 1;
  }
  for (; len_ - start_ > max_line_; start_ += max_line_, ++cut_) emit(start_, start_ + max_line_);
  if (added) chunk_->ref(static_cast<uint32_t>(added));
  return added;
}

size_t LineReader::finish(std::vector<Slice>& out) {
  skip_lf_ = false;
  if (!chunk_ || len_ == start_) return 0;
  chunk_->ref();
  out.emplace_back(ChunkRef::adopt(chunk_.get()), chunk_->data() + start_, len_ - start_);
  start_ = len_;
  return 1;
}

std::optional<Charset> exec_charset(std::string_view name) {
  auto cs = charset_from_name(name);
  if (cs == Charset::kUtf8 || cs == Charset::kLatin1 || cs == Charset::kAscii) return cs;
  return std::nullopt;
}

Slice recode_line(Slice line, Charset cs) {
  const std::string_view v = line.view();
  switch (cs) {
    case Charset::kUtf8:
      if (is_valid_utf8(v)) return line;
      return Slice::copy_of(decode_to_utf8(v, Charset::kUtf8));
    case Charset::kAscii:
      if (std::all_of(v.begin(), v.end(), [](char c) { return (c & 0x80) == 0; })) return line;
      return Slice::copy_of(encode_from_utf8(decode_to_utf8(v, cs), cs));
    default:  // ISO-8859-1 decodes and encodes every byte to itself
      return line;
  }
}

}  // namespace ingestor
