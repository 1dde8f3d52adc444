#include "base/compression.h"

#include <bzlib.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>

namespace ingestor {

namespace {

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

class PassThrough final : public Compressor {
 public:
  Status write(std::string_view in, std::string& out) override {
    out.append(in);
    return {};
  }
  Status finish(std::string&) override { return {}; }
  Status reset() override { return {}; }
};

class Gzip final : public Compressor {
 public:
  explicit Gzip(int level) : level_(level) {}
  ~Gzip() override {
    if (init_) deflateEnd(&z_);
  }
  Status init() {
    // windowBits 15 + 16: a gzip header and trailer.
    if (deflateInit2(&z_, level_ < 0 ? Z_DEFAULT_COMPRESSION : level_, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
      return make_error(Errc::kInternal, "gzip: deflateInit2 failed");
    init_ = true;
    return {};
  }
  Status write(std::string_view in, std::string& out) override { return run(in, out, Z_NO_FLUSH); }
  Status finish(std::string& out) override { return run({}, out, Z_FINISH); }
  Status reset() override {
    if (deflateReset(&z_) != Z_OK) return make_error(Errc::kInternal, "gzip: deflateReset failed");
    return {};
  }

 private:
  Status run(std::string_view in, std::string& out, int flush) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      size_t old = out.size();
      size_t room = std::max<size_t>(deflateBound(&z_, z_.avail_in), 4096);
      out.resize(old + room);
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + old);
      z_.avail_out = static_cast<uInt>(room);
      int rc = deflate(&z_, flush);
      out.resize(old + room - z_.avail_out);
      if (rc == Z_STREAM_ERROR) return make_error(Errc::kInternal, "gzip: deflate failed");
      if (flush == Z_FINISH ? rc == Z_STREAM_END : (z_.avail_in == 0 && z_.avail_out != 0))
        return {};
    }
  }
  int level_;
  z_stream z_{};
  bool init_ = false;
};

class Bzip2 final : public Compressor {
 public:
  explicit Bzip2(int level) : level_(level < 1 || level > 9 ? 9 : level) {}
  ~Bzip2() override {
    if (init_) BZ2_bzCompressEnd(&z_);
  }
  Status write(std::string_view in, std::string& out) override { return run(in, out, BZ_RUN); }
  Status finish(std::string& out) override { return run({}, out, BZ_FINISH); }
  Status reset() override {
    // libbz2 has no reset: end the stream and start another (its buffers are reallocated).
    if (init_) BZ2_bzCompressEnd(&z_);
    init_ = false;
    return {};
  }

 private:
  Status run(std::string_view in, std::string& out, int action) {
    if (!init_) {
      z_ = bz_stream{};
      if (BZ2_bzCompressInit(&z_, level_, 0, 0) != BZ_OK)
        return make_error(Errc::kInternal, "bzip2: BZ2_bzCompressInit failed");
      init_ = true;
    }
    z_.next_in = const_cast<char*>(in.data());
    z_.avail_in = static_cast<unsigned>(in.size());
    for (;;) {
      size_t old = out.size();
      size_t room = std::max<size_t>(in.size() / 2, 65536);
      out.resize(old + room);
      z_.next_out = out.data() + old;
      z_.avail_out = static_cast<unsigned>(room);
      int rc = BZ2_bzCompress(&z_, action);
      out.resize(old + room - z_.avail_out);
      if (rc < 0) return make_error(Errc::kInternal, "bzip2: BZ2_bzCompress failed");
      if (action == BZ_FINISH ? rc == BZ_STREAM_END : z_.avail_in == 0) return {};
    }
  }
  int level_;
  bz_stream z_{};
  bool init_ = false;
};

Result<std::string> bunzip2(std::string_view in) {
  std::string out;
  while (!in.empty()) {
    bz_stream z{};
    if (BZ2_bzDecompressInit(&z, 0, 0) != BZ_OK)
      return make_error(Errc::kInternal, "BZ2_bzDecompressInit");
    z.next_in = const_cast<char*>(in.data());
    z.avail_in = static_cast<unsigned>(in.size());
    int rc = BZ_OK;
    while (rc == BZ_OK) {
      char buf[65536];
      z.next_out = buf;
      z.avail_out = sizeof buf;
      rc = BZ2_bzDecompress(&z);
      out.append(buf, sizeof buf - z.avail_out);
      if (rc == BZ_OK && z.avail_in == 0 && z.avail_out != 0) rc = BZ_UNEXPECTED_EOF;
    }
    in.remove_prefix(in.size() - z.avail_in);
    BZ2_bzDecompressEnd(&z);
    if (rc != BZ_STREAM_END) return make_error(Errc::kCorrupt, "bzip2: corrupt or truncated data");
  }
  return out;
}

class Zstd final : public Compressor {
 public:
  explicit Zstd(int level) : cctx_(ZSTD_createCCtx()) {
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level < 0 ? 3 : level);
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
  }
  ~Zstd() override { ZSTD_freeCCtx(cctx_); }
  Status write(std::string_view in, std::string& out) override {
    return run(in, out, ZSTD_e_continue);
  }
  Status finish(std::string& out) override { return run({}, out, ZSTD_e_end); }
  Status reset() override {
    size_t rc = ZSTD_CCtx_reset(cctx_, ZSTD_reset_session_only);
    if (ZSTD_isError(rc))
      return make_error(Errc::kInternal, std::string("zstd: ") + ZSTD_getErrorName(rc));
    return {};
  }

 private:
  Status run(std::string_view in, std::string& out, ZSTD_EndDirective mode) {
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    for (;;) {
      size_t old = out.size();
      size_t room = ZSTD_CStreamOutSize();
      out.resize(old + room);
      ZSTD_outBuffer ob{out.data() + old, room, 0};
      size_t rc = ZSTD_compressStream2(cctx_, &ob, &ib, mode);
      out.resize(old + ob.pos);
      if (ZSTD_isError(rc))
        return make_error(Errc::kInternal, std::string("zstd: ") + ZSTD_getErrorName(rc));
      if (mode == ZSTD_e_end ? rc == 0 : ib.pos == ib.size) return {};
    }
  }
  ZSTD_CCtx* cctx_;
};

}  // namespace

std::optional<Codec> codec_from_name(std::string_view name) {
  std::string n = lower(name);
  for (const char* pfx : {"org.apache.hadoop.io.compress."}) {
    if (n.rfind(pfx, 0) == 0) n = n.substr(std::string_view(pfx).size());
  }
  if (n.size() > 5 && n.ends_with("codec")) n.resize(n.size() - 5);
  if (n == "gzip" || n == "gz" || n == "default") return Codec::kGzip;
  if (n == "bzip2" || n == "bz2") return Codec::kBzip2;
  if (n == "zstd" || n == "zstandard") return Codec::kZstd;
  if (n.empty() || n == "none") return Codec::kNone;
  return std::nullopt;
}

const char* codec_extension(Codec c) {
  switch (c) {
    case Codec::kGzip:
      return ".gz";
    case Codec::kBzip2:
      return ".bz2";
    case Codec::kZstd:
      return ".zst";
    case Codec::kNone:
      return "";
  }
  return "";
}

Result<std::unique_ptr<Compressor>> make_compressor(Codec codec, int level) {
  switch (codec) {
    case Codec::kNone:
      return std::unique_ptr<Compressor>(std::make_unique<PassThrough>());
    case Codec::kGzip: {
      auto g = std::make_unique<Gzip>(level);
      if (auto s = g->init(); !s) return s.error();
      return std::unique_ptr<Compressor>(std::move(g));
    }
    case Codec::kBzip2:
      return std::unique_ptr<Compressor>(std::make_unique<Bzip2>(level));
    case Codec::kZstd:
      return std::unique_ptr<Compressor>(std::make_unique<Zstd>(level));
  }
  return make_error(Errc::kUnsupported, "unknown codec");
}

Result<std::string> decompress(Codec codec, std::string_view in) {
  std::string out;
  if (codec == Codec::kNone) return std::string(in);
  if (codec == Codec::kBzip2) return bunzip2(in);
  if (codec == Codec::kGzip) {
    z_stream z{};
    if (inflateInit2(&z, 15 + 32) != Z_OK) return make_error(Errc::kInternal, "inflateInit2");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      char buf[65536];
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof buf;
      int rc = inflate(&z, Z_NO_FLUSH);
      out.append(buf, sizeof buf - z.avail_out);
      if (rc == Z_STREAM_END) {
        if (z.avail_in == 0) break;
        inflateReset(&z);  // another gzip member
        continue;
      }
      if (rc != Z_OK) {
        inflateEnd(&z);
        return make_error(Errc::kCorrupt, "gzip: corrupt or truncated data");
      }
    }
    inflateEnd(&z);
    return out;
  }
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  size_t last = 0;
  while (ib.pos < ib.size) {
    char buf[65536];
    ZSTD_outBuffer ob{buf, sizeof buf, 0};
    last = ZSTD_decompressStream(d, &ob, &ib);
    if (ZSTD_isError(last)) {
      ZSTD_freeDCtx(d);
      return make_error(Errc::kCorrupt, std::string("zstd: ") + ZSTD_getErrorName(last));
    }
    out.append(buf, ob.pos);
    if (ob.pos == 0 && ib.pos == ib.size) break;
  }
  ZSTD_freeDCtx(d);
  if (last != 0) return make_error(Errc::kCorrupt, "zstd: truncated frame");
  return out;
}

struct ZlibStreamDeflater::State {
  z_stream z{};
  bool ok = false;
};

ZlibStreamDeflater::ZlibStreamDeflater(int level) : s_(std::make_unique<State>()) {
  s_->ok = deflateInit2(&s_->z, level < 0 || level > 9 ? Z_DEFAULT_COMPRESSION : level,
                        Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
}

ZlibStreamDeflater::~ZlibStreamDeflater() {
  if (s_->ok) deflateEnd(&s_->z);
}

Status ZlibStreamDeflater::write_flush(std::string_view in, std::string& out) {
  if (!s_->ok) return make_error(Errc::kInternal, "zlib: deflateInit2 failed");
  z_stream& z = s_->z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  for (;;) {
    const size_t old = out.size();
    const size_t room = std::max<size_t>(deflateBound(&z, z.avail_in) + 16, 4096);
    out.resize(old + room);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    z.avail_out = static_cast<uInt>(room);
    const int rc = deflate(&z, Z_SYNC_FLUSH);
    out.resize(old + room - z.avail_out);
    if (rc != Z_OK && rc != Z_BUF_ERROR) return make_error(Errc::kInternal, "zlib: deflate failed");
    // With Z_SYNC_FLUSH, output space left over means everything was flushed.
    if (z.avail_in == 0 && z.avail_out != 0) return {};
  }
}

struct ZlibStreamInflater::State {
  z_stream z{};
  bool ok = false;
  bool ended = false;
};

ZlibStreamInflater::ZlibStreamInflater() : s_(std::make_unique<State>()) {
  s_->ok = inflateInit2(&s_->z, 15) == Z_OK;
}

ZlibStreamInflater::~ZlibStreamInflater() {
  if (s_->ok) inflateEnd(&s_->z);
}

Status ZlibStreamInflater::write(std::string_view in, std::string& out, size_t max_out) {
  if (!s_->ok) return make_error(Errc::kInternal, "zlib: inflateInit2 failed");
  if (in.empty()) return {};
  if (s_->ended) return make_error(Errc::kCorrupt, "zlib: data after the end of the stream");
  z_stream& z = s_->z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  size_t produced = 0;
  for (;;) {
    const size_t old = out.size();
    const size_t room = std::max<size_t>(in.size() * 4, 16384);
    out.resize(old + room);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    z.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&z, Z_SYNC_FLUSH);
    const size_t got = room - z.avail_out;
    out.resize(old + got);
    produced += got;
    if (produced > max_out)
      return make_error(Errc::kTooLarge, "zlib: more than " + std::to_string(max_out) +
                                             " bytes from one read");
    if (rc == Z_STREAM_END) {
      s_->ended = true;
      if (z.avail_in != 0)
        return make_error(Errc::kCorrupt, "zlib: data after the end of the stream");
      return {};
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0) return {};  // needs more input
    if (rc != Z_OK)
      return make_error(Errc::kCorrupt,
                        std::string("zlib: ") + (z.msg ? z.msg : "inflate failed"));
    if (z.avail_in == 0 && z.avail_out != 0) return {};
  }
}

}  // namespace ingestor
