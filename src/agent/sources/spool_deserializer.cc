// LINE and BLOB deserializers of the spooldir source (contracts in spool_deserializer.h).
#include "agent/sources/spool_deserializer.h"

#include <algorithm>
#include <cstring>
#include <optional>

namespace ingestor {

namespace {

constexpr size_t kMinChunk = 64 * 1024;

// Copies bodies that are not slices of the read buffer (decoded or re-encoded lines) into shared
// chunks, so that a batch makes one allocation per 64 KiB, not one per event.
class Arena {
 public:
  Slice copy(std::string_view s) {
    if (!chunk_ || chunk_->capacity() - used_ < s.size()) {
      chunk_ = ChunkRef::adopt(Chunk::make(std::max(kMinChunk, s.size())));
      used_ = 0;
    }
    char* p = chunk_->data() + used_;
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    used_ += s.size();
    return Slice(chunk_, p, s.size());
  }

 private:
  ChunkRef chunk_;
  size_t used_ = 0;
};

class LineDeserializer final : public SpoolDeserializer {
 public:
  explicit LineDeserializer(const LineDeserializerOptions& o)
      : o_(o), cap_(std::max(kMinChunk, 2 * o.max_line_length + 4096)) {}

  Status open(SpoolInput& in, uint64_t offset, uint64_t) override {
    in_ = &in;
    char head[4];
    size_t got = 0;
    if (o_.input == Charset::kUtf16 || o_.input == Charset::kUtf32) {
      auto r = in.pread(head, sizeof head, 0);
      if (!r) return r.error();
      got = *r;
    }
    SpoolBom bom = spool_bom(o_.input, std::string_view(head, got));
    codec_ = bom.codec;
    if (offset == 0) offset = bom.skip;
    buf_ = ChunkRef::adopt(Chunk::make(cap_));
    base_ = offset;
    good_end_ = offset;
    len_ = pos_ = 0;
    eof_ = false;
    error_.reset();
    return {};
  }

  Result<size_t> read(Batch& out, size_t max_events, size_t max_bytes) override {
    if (error_) {
      Error e = std::move(*error_);
      error_.reset();
      return e;
    }
    size_t n = 0, bytes = 0;
    while (n < max_events && (n == 0 || bytes < max_bytes)) {
      auto r = next_line(out);
      if (!r) {
        if (n == 0) return r.error();
        error_ = r.error();
        break;
      }
      if (!*r) {  // the end: bytes that made no event (ignored, a BOM) are consumed too
        good_end_ = base_ + pos_;
        break;
      }
      good_end_ = base_ + pos_;
      ++n;
      bytes += out.back().body.size();
    }
    return n;
  }

  // After a line that failed to decode, still the end of the last good one (not where reading
  // stopped inside the bad line).
  uint64_t offset() const override { return good_end_; }
  uint64_t take_truncated() override { return std::exchange(truncated_, 0); }

 private:
  // Reads more of the file, keeping the unread bytes [pos_, len_). False at the end of the file.
  Result<bool> fill() {
    if (eof_) return false;
    const size_t keep = len_ - pos_;
    if (pos_ > 0 || len_ == cap_) {
      // Never overwrite bytes that events in flight may still point into.
      ChunkRef fresh = buf_->refs() == 1 ? buf_ : ChunkRef::adopt(Chunk::make(cap_));
      if (keep) std::memmove(fresh->data(), buf_->data() + pos_, keep);
      buf_ = std::move(fresh);
      base_ += pos_;
      pos_ = 0;
      len_ = keep;
    }
    auto r = in_->pread(buf_->data() + len_, cap_ - len_, base_ + len_);
    if (!r) return r.error();
    if (*r == 0) {
      eof_ = true;
      return false;
    }
    len_ += *r;
    return true;
  }

  // Appends the next line; false at the end of the file.
  Result<bool> next_line(Batch& out) {
    if (codec_ == SpoolCodec::kUtf8 && o_.output == Charset::kUtf8) {
      // Fast path: a complete line shorter than max_line_length bytes (so characters) of valid
      // UTF-8 is a slice of the read buffer.
      for (;;) {
        const char* start = buf_->data() + pos_;
        const size_t avail = len_ - pos_;
        const size_t lim = std::min(avail, o_.max_line_length);
        if (const void* nl = lim ? std::memchr(start, '\n', lim) : nullptr) {
          const size_t k = static_cast<size_t>(static_cast<const char*>(nl) - start);
          if (!is_valid_utf8(std::string_view(start, k))) break;
          out.emplace_back(Slice(buf_, start, k));
          pos_ += k + 1;
          return true;
        }
        if (avail >= o_.max_line_length || eof_) break;
        auto f = fill();
        if (!f) return f.error();
        if (!*f) {
          if (len_ == pos_) return false;
          break;
        }
      }
    }
    return slow_line(out);
  }

  // Character by character: any charset, malformed input, long lines. Keeps only the decoded text
  // of the line, never its raw bytes, so memory stays bounded whatever the input.
  Result<bool> slow_line(Batch& out) {
    text_.clear();
    size_t units = 0;
    bool any = false;
    for (;;) {
      CharStep s = decode_char(std::string_view(buf_->data() + pos_, len_ - pos_), codec_, eof_);
      if (s.kind == CharStep::kShort) {
        auto f = fill();
        if (!f) return f.error();
        if (!*f && len_ == pos_) break;
        continue;
      }
      if (s.kind == CharStep::kChar && s.cp == '\n') {
        pos_ += s.len;
        any = true;
        break;
      }
      if (units >= o_.max_line_length) {
        ++truncated_;
        break;
      }
      char32_t cp = s.cp;
      if (s.kind == CharStep::kMalformed) {
        if (o_.policy == DecodeErrorPolicy::kFail)
          return make_error(Errc::kCorrupt,
                            "malformed input at byte " + std::to_string(base_ + pos_) + " (" +
                                std::to_string(s.len) + " bytes that are not " +
                                charset_name(o_.input) + "), decodeErrorPolicy FAIL");
        if (o_.policy == DecodeErrorPolicy::kIgnore) {
          pos_ += s.len;
          continue;
        }
        cp = 0xFFFD;
      }
      const size_t need = cp >= 0x10000 ? 2 : 1;
      if (units > 0 && units + need > o_.max_line_length) {  // never split a surrogate pair
        ++truncated_;
        break;
      }
      pos_ += s.len;
      append_utf8(text_, cp);
      units += need;
      any = true;
    }
    if (!any) return false;
    if (o_.output == Charset::kUtf8) {
      out.emplace_back(arena_.copy(text_));
    } else {
      encoded_ = encode_from_utf8(text_, o_.output);
      out.emplace_back(arena_.copy(encoded_));
    }
    return true;
  }

  LineDeserializerOptions o_;
  size_t cap_;
  SpoolInput* in_ = nullptr;
  SpoolCodec codec_ = SpoolCodec::kUtf8;
  ChunkRef buf_;
  uint64_t base_ = 0;  // file offset of buf_'s first byte
  uint64_t good_end_ = 0;  // file offset just after the last event appended
  size_t len_ = 0, pos_ = 0;
  bool eof_ = false;
  std::optional<Error> error_;
  uint64_t truncated_ = 0;
  Arena arena_;
  std::string text_, encoded_;
};

class BlobDeserializer final : public SpoolDeserializer {
 public:
  explicit BlobDeserializer(const BlobDeserializerOptions& o) : o_(o) {}

  Status open(SpoolInput& in, uint64_t offset, uint64_t size) override {
    in_ = &in;
    off_ = offset;
    size_ = size;
    return {};
  }

  Result<size_t> read(Batch& out, size_t max_events, size_t max_bytes) override {
    size_t n = 0, bytes = 0;
    while (n < max_events && (n == 0 || bytes < max_bytes)) {
      const uint64_t left = size_ > off_ ? size_ - off_ : 0;
      const size_t cap =
          static_cast<size_t>(std::min<uint64_t>(o_.max_blob_length, left ? left : kMinChunk));
      ChunkRef c = ChunkRef::adopt(Chunk::make(cap));
      size_t got = 0;
      while (got < cap) {
        auto r = in_->pread(c->data() + got, cap - got, off_ + got);
        if (!r) {
          if (n == 0) return r.error();
          return n;  // the error comes again on the next call
        }
        if (*r == 0) break;
        got += *r;
      }
      if (got == 0) break;
      if (left > o_.max_blob_length) ++truncated_;
      const char* data = c->data();
      out.emplace_back(Slice(std::move(c), data, got));
      off_ += got;
      ++n;
      bytes += got;
    }
    return n;
  }

  uint64_t offset() const override { return off_; }
  uint64_t take_truncated() override { return std::exchange(truncated_, 0); }

 private:
  BlobDeserializerOptions o_;
  SpoolInput* in_ = nullptr;
  uint64_t off_ = 0, size_ = 0;
  uint64_t truncated_ = 0;
};

}  // namespace

std::unique_ptr<SpoolDeserializer> make_line_deserializer(const LineDeserializerOptions& o) {
  return std::make_unique<LineDeserializer>(o);
}

std::unique_ptr<SpoolDeserializer> make_blob_deserializer(const BlobDeserializerOptions& o) {
  return std::make_unique<BlobDeserializer>(o);
}

}  // namespace ingestor
