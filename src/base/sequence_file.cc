#include "base/sequence_file.h"

#include <bzlib.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>

namespace ingestor {

namespace {

void put_be32(uint32_t v, std::string& out) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  out.append(b, 4);
}

void put_be64(uint64_t v, std::string& out) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (56 - 8 * i));
  out.append(b, 8);
}

std::string lower(std::string_view s) {
  std::string r(s);
  std::transform(r.begin(), r.end(), r.begin(), [](unsigned char c) { return std::tolower(c); });
  return r;
}

}  // namespace

const char* seq_value_class(SeqValueType t) {
  return t == SeqValueType::kText ? "org.apache.hadoop.io.Text"
                                  : "org.apache.hadoop.io.BytesWritable";
}

const char* seq_codec_class(SeqCodec c) {
  switch (c) {
    case SeqCodec::kDefault: return "org.apache.hadoop.io.compress.DefaultCodec";
    case SeqCodec::kDeflate: return "org.apache.hadoop.io.compress.DeflateCodec";
    case SeqCodec::kGzip: return "org.apache.hadoop.io.compress.GzipCodec";
    case SeqCodec::kBzip2: return "org.apache.hadoop.io.compress.BZip2Codec";
    case SeqCodec::kNone: break;
  }
  return "";
}

const char* seq_codec_extension(SeqCodec c) {
  switch (c) {
    case SeqCodec::kDefault:
    case SeqCodec::kDeflate: return ".deflate";
    case SeqCodec::kGzip: return ".gz";
    case SeqCodec::kBzip2: return ".bz2";
    case SeqCodec::kNone: break;
  }
  return "";
}

std::optional<SeqCodec> seq_codec_from_name(std::string_view name) {
  for (SeqCodec c : {SeqCodec::kDefault, SeqCodec::kDeflate, SeqCodec::kGzip, SeqCodec::kBzip2}) {
    std::string_view cls = seq_codec_class(c);
    if (name == cls) return c;
    std::string simple = lower(cls.substr(cls.rfind('.') + 1));  // e.g. "gzipcodec"
    std::string n = lower(name);
    if (n == simple || n + "codec" == simple) return c;
  }
  return std::nullopt;
}

void write_hadoop_vlong(int64_t i, std::string& out) {
  if (i >= -112 && i <= 127) {
    out += static_cast<char>(i);
    return;
  }
  int len = -112;
  if (i < 0) {
    i ^= -1;  // one's complement
    len = -120;
  }
  for (int64_t tmp = i; tmp != 0; tmp >>= 8) --len;
  out += static_cast<char>(len);
  int n = len < -120 ? -(len + 120) : -(len + 112);
  for (int idx = n; idx != 0; --idx)
    out += static_cast<char>((static_cast<uint64_t>(i) >> ((idx - 1) * 8)) & 0xff);
}

void write_hadoop_text(std::string_view s, std::string& out) {
  write_hadoop_vlong(static_cast<int64_t>(s.size()), out);
  out.append(s.data(), s.size());
}

struct SequenceFileEncoder::Zlib {
  z_stream z{};
  bool init = false;
  ~Zlib() {
    if (init) deflateEnd(&z);
  }
};

SequenceFileEncoder::SequenceFileEncoder(const SeqFormat& f) : f_(f) {}

SequenceFileEncoder::~SequenceFileEncoder() { delete z_; }

void SequenceFileEncoder::start(SeqFileState& s, std::string sync) {
  s.sync = std::move(sync);
  s.header_due = true;
  s.pos = s.last_sync_pos = 0;
  s.records = 0;
  s.key_lens.clear();
  s.keys.clear();
  s.val_lens.clear();
  s.vals.clear();
}

std::string SequenceFileEncoder::header(const SeqFileState& s) const {
  std::string h = "SEQ";
  h += static_cast<char>(6);
  write_hadoop_text("org.apache.hadoop.io.LongWritable", h);
  write_hadoop_text(seq_value_class(f_.value), h);
  const bool compressed = f_.codec != SeqCodec::kNone;
  h += static_cast<char>(compressed);  // compressed
  h += static_cast<char>(compressed);  // block-compressed (Flume: BLOCK whenever compressed)
  if (compressed) write_hadoop_text(seq_codec_class(f_.codec), h);
  put_be32(0, h);  // metadata: no entries
  h += s.sync;
  return h;
}

void SequenceFileEncoder::write_header(SeqFileState& s, std::string& out) const {
  std::string h = header(s);
  out += h;
  s.pos += static_cast<int64_t>(h.size());
  s.header_due = false;
}

void SequenceFileEncoder::write_sync(SeqFileState& s, std::string& out) const {
  if (s.last_sync_pos == s.pos) return;
  put_be32(0xffffffffu, out);  // SYNC_ESCAPE
  out += s.sync;
  s.pos += 4 + static_cast<int64_t>(s.sync.size());
  s.last_sync_pos = s.pos;
}

Status SequenceFileEncoder::append(SeqFileState& s, int64_t key, std::string_view value,
                                   std::string& out) {
  std::string* vals = &s.vals;
  const bool block = f_.codec != SeqCodec::kNone;
  if (!block) {
    // The record's serialized value goes to scratch_, then out as one record.
    scratch_.clear();
    vals = &scratch_;
  }
  const size_t v0 = vals->size();
  if (f_.value == SeqValueType::kText) {
    write_hadoop_vlong(static_cast<int64_t>(value.size()), *vals);  // Text.write
  } else {
    put_be32(static_cast<uint32_t>(value.size()), *vals);  // BytesWritable.write
  }
  vals->append(value.data(), value.size());
  const int64_t val_len = static_cast<int64_t>(vals->size() - v0);
  if (!block) {
    if (s.header_due) write_header(s, out);
    if (s.pos >= s.last_sync_pos + f_.sync_interval) write_sync(s, out);  // checkAndWriteSync
    put_be32(static_cast<uint32_t>(8 + val_len), out);
    put_be32(8, out);
    put_be64(static_cast<uint64_t>(key), out);
    out += scratch_;
    s.pos += 16 + val_len;
    return {};
  }
  write_hadoop_vlong(8, s.key_lens);
  put_be64(static_cast<uint64_t>(key), s.keys);
  write_hadoop_vlong(val_len, s.val_lens);
  ++s.records;
  if (static_cast<int64_t>(s.keys.size() + s.vals.size()) >= f_.block_bytes) return sync(s, out);
  return {};
}

Status SequenceFileEncoder::write_buffer(std::string_view in, std::string& out) {
  // Each buffer is a whole compressed stream of its own (the codec is reset per buffer).
  std::string& c = scratch_;
  c.clear();
  if (f_.codec == SeqCodec::kBzip2) {
    // Hadoop's Bzip2Compressor: block size 9, work factor 30 (libbz2's default for 0).
    unsigned int cap = static_cast<unsigned int>(in.size() + in.size() / 100 + 600);
    c.resize(cap);
    int rc = BZ2_bzBuffToBuffCompress(c.data(), &cap, const_cast<char*>(in.data()),
                                      static_cast<unsigned int>(in.size()), 9, 0, 30);
    if (rc != BZ_OK) return make_error(Errc::kInternal, "SequenceFile: bzip2 compression failed");
    c.resize(cap);
  } else {
    if (!z_) z_ = new Zlib;
    if (!z_->init) {
      // DefaultCodec: a zlib stream (Deflater, level -1); GzipCodec: a gzip member as zlib
      // writes it (window bits 31).
      const int bits = f_.codec == SeqCodec::kGzip ? 15 + 16 : 15;
      if (deflateInit2(&z_->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) !=
          Z_OK)
        return make_error(Errc::kInternal, "SequenceFile: deflateInit2 failed");
      z_->init = true;
    } else if (deflateReset(&z_->z) != Z_OK) {
      return make_error(Errc::kInternal, "SequenceFile: deflateReset failed");
    }
    c.resize(deflateBound(&z_->z, static_cast<uLong>(in.size())) + 32);
    z_->z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_->z.avail_in = static_cast<uInt>(in.size());
    z_->z.next_out = reinterpret_cast<Bytef*>(c.data());
    z_->z.avail_out = static_cast<uInt>(c.size());
    if (deflate(&z_->z, Z_FINISH) != Z_STREAM_END)
      return make_error(Errc::kInternal, "SequenceFile: deflate failed");
    c.resize(c.size() - z_->z.avail_out);
  }
  write_hadoop_vlong(static_cast<int64_t>(c.size()), out);
  out += c;
  return {};
}

Status SequenceFileEncoder::sync(SeqFileState& s, std::string& out) {
  if (f_.codec == SeqCodec::kNone) {
    if (!s.header_due) write_sync(s, out);
    return {};
  }
  if (s.records == 0) return {};
  if (s.header_due) write_header(s, out);
  write_sync(s, out);
  const size_t o0 = out.size();
  write_hadoop_vlong(s.records, out);
  for (const std::string* b : {&s.key_lens, &s.keys, &s.val_lens, &s.vals})
    if (auto st = write_buffer(*b, out); !st) return st;
  s.pos += static_cast<int64_t>(out.size() - o0);
  s.records = 0;
  s.key_lens.clear();
  s.keys.clear();
  s.val_lens.clear();
  s.vals.clear();
  return {};
}

void SequenceFileEncoder::rollback(SeqFileState& s, int64_t kept_bytes) const {
  s.records = 0;
  s.key_lens.clear();
  s.keys.clear();
  s.val_lens.clear();
  s.vals.clear();
  if (kept_bytes <= 0) {
    s.header_due = true;
    s.pos = s.last_sync_pos = 0;
    return;
  }
  s.header_due = false;
  s.pos = kept_bytes;
  // Uncompressed: the kept bytes end with sync(), so with a sync escape (or at one). Block: with
  // a block, after which the next block needs its escape again.
  s.last_sync_pos = f_.codec == SeqCodec::kNone ? kept_bytes : -1;
}

}  // namespace ingestor
