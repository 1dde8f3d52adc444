#include "s3/chunked.h"

#include <algorithm>
#include <utility>

namespace ingestor::s3 {
namespace {

constexpr std::string_view kChunkSigExt = "chunk-signature=";
constexpr std::string_view kTrailerSigName = "x-amz-trailer-signature";
constexpr size_t kMaxTrailers = 16;

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_lower_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string hex_size(uint64_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  if (n == 0) return "0";
  std::string out;
  while (n > 0) {
    out.insert(out.begin(), kDigits[n & 0xF]);
    n >>= 4;
  }
  return out;
}

bool is_streaming(PayloadMode m) {
  return m == PayloadMode::kStreamingSigned || m == PayloadMode::kStreamingSignedTrailer ||
         m == PayloadMode::kStreamingUnsignedTrailer;
}

bool has_trailer(PayloadMode m) {
  return m == PayloadMode::kStreamingSignedTrailer || m == PayloadMode::kStreamingUnsignedTrailer;
}

bool signed_mode(PayloadMode m) {
  return m == PayloadMode::kStreamingSigned || m == PayloadMode::kStreamingSignedTrailer;
}

std::string chunk_sts(const ChunkSigningContext& c, std::string_view prev,
                      std::string_view data_hash_hex) {
  std::string s = "AWS4-HMAC-SHA256-PAYLOAD\n";
  s.append(c.amz_date).append("\n").append(c.scope).append("\n").append(prev).append("\n");
  s.append(kEmptySha256).append("\n").append(data_hash_hex);
  return s;
}

std::string trailer_sts(const ChunkSigningContext& c, std::string_view prev,
                        std::string_view canonical_trailers) {
  std::string s = "AWS4-HMAC-SHA256-TRAILER\n";
  s.append(c.amz_date).append("\n").append(c.scope).append("\n").append(prev).append("\n");
  s.append(sha256_hex(canonical_trailers));
  return s;
}

S3Error malformed(std::string msg) {
  return S3Error(S3Errc::kInvalidRequest, "Malformed aws-chunked body: " + std::move(msg));
}

S3Error bad_chunk_signature() {
  return S3Error(S3Errc::kSignatureDoesNotMatch,
                 "The request signature we calculated does not match the signature you provided. "
                 "Check your key and signing method.");
}

}  // namespace

// ---- decoder ------------------------------------------------------------------------------------

AwsChunkedDecoder::AwsChunkedDecoder(ChunkedDecoderOptions opts)
    : opts_(std::move(opts)), prev_signature_(opts_.signing.seed_signature) {}

S3Result<AwsChunkedDecoder> AwsChunkedDecoder::create(ChunkedDecoderOptions opts) {
  if (!is_streaming(opts.mode)) {
    return S3Error(S3Errc::kInvalidRequest, "aws-chunked requires a STREAMING-* payload mode");
  }
  if (opts.max_line < 128) opts.max_line = 128;
  std::vector<Checksummer> sums;
  size_t start = 0;
  const std::string& declared = opts.declared_trailers;
  while (start <= declared.size()) {
    size_t comma = declared.find(',', start);
    if (comma == std::string::npos) comma = declared.size();
    const std::string_view name = trim(std::string_view(declared).substr(start, comma - start));
    start = comma + 1;
    if (name.empty()) continue;
    const auto alg = checksum_from_header(name);
    if (!alg) {
      return S3Error(S3Errc::kInvalidRequest, "The trailer " + std::string(name) +
                                                  " declared in x-amz-trailer is not "
                                                  "supported.");
    }
    if (!has_trailer(opts.mode)) {
      return S3Error(S3Errc::kInvalidRequest,
                     "x-amz-trailer requires a STREAMING-*-TRAILER x-amz-content-sha256");
    }
    sums.emplace_back(*alg);
  }
  AwsChunkedDecoder d(std::move(opts));
  d.checksums_ = std::move(sums);
  return d;
}

bool AwsChunkedDecoder::is_signed() const { return signed_mode(opts_.mode); }

std::string AwsChunkedDecoder::chunk_signature(std::string_view data_hash_hex) const {
  return sign_string(opts_.signing.key, chunk_sts(opts_.signing, prev_signature_, data_hash_hex));
}

S3Status AwsChunkedDecoder::fail(S3Error e) {
  state_ = State::kFailed;
  error_ = e;
  return e;
}

S3Status AwsChunkedDecoder::feed(std::string_view in, std::string& out) {
  while (!in.empty()) {
    switch (state_) {
      case State::kFailed:
        return *error_;
      case State::kDone:
        return fail(malformed("data after the end of the body"));
      case State::kHeader:
      case State::kTrailer: {
        // Accumulate one CRLF-terminated line.
        const size_t lf = in.find('\n');
        const std::string_view part = lf == std::string_view::npos ? in : in.substr(0, lf);
        if (line_.size() + part.size() > opts_.max_line) {
          return fail(malformed("line longer than " + std::to_string(opts_.max_line) + " bytes"));
        }
        line_.append(part);
        if (lf == std::string_view::npos) return {};
        in.remove_prefix(lf + 1);
        if (line_.empty() || line_.back() != '\r') return fail(malformed("bare LF in a line"));
        line_.pop_back();
        const std::string line = std::move(line_);
        line_.clear();
        auto st = state_ == State::kHeader ? on_header_line(line) : on_trailer_line(line);
        if (!st) return fail(st.error());
        break;
      }
      case State::kData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk_remaining_, in.size()));
        const std::string_view data = in.substr(0, n);
        out.append(data);
        if (is_signed()) chunk_hash_.update(data);
        for (auto& c : checksums_) c.update(data);
        chunk_remaining_ -= n;
        decoded_ += n;
        in.remove_prefix(n);
        if (chunk_remaining_ == 0) {
          state_ = State::kDataCrlf;
          crlf_seen_ = 0;
        }
        break;
      }
      case State::kDataCrlf: {
        const char want = crlf_seen_ == 0 ? '\r' : '\n';
        if (in.front() != want) return fail(malformed("chunk data not followed by CRLF"));
        in.remove_prefix(1);
        if (++crlf_seen_ == 2) {
          auto st = on_chunk_end();
          if (!st) return fail(st.error());
          state_ = State::kHeader;
        }
        break;
      }
    }
  }
  return {};
}

S3Status AwsChunkedDecoder::on_header_line(std::string_view line) {
  // <hex-size>[;ext[=value]]...
  const size_t semi = line.find(';');
  const std::string_view size_text = trim(line.substr(0, semi));
  if (size_text.empty() || size_text.size() > 16) return malformed("bad chunk size");
  uint64_t size = 0;
  for (char c : size_text) {
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) return malformed("bad chunk size \"" + std::string(size_text) + "\"");
    size = (size << 4) | static_cast<uint64_t>(v);
  }
  expected_chunk_sig_.clear();
  if (semi != std::string_view::npos) {
    std::string_view ext = line.substr(semi + 1);
    while (!ext.empty()) {
      const size_t next = ext.find(';');
      const std::string_view e = trim(ext.substr(0, next));
      if (e.starts_with(kChunkSigExt)) expected_chunk_sig_ = e.substr(kChunkSigExt.size());
      ext = next == std::string_view::npos ? std::string_view() : ext.substr(next + 1);
    }
  }
  if (is_signed() && !is_lower_hex64(expected_chunk_sig_)) {
    return malformed("chunk without a valid chunk-signature");
  }
  if (opts_.decoded_content_length && size > *opts_.decoded_content_length - decoded_) {
    return S3Error(S3Errc::kInvalidRequest,
                   "The aws-chunked body carries more than x-amz-decoded-content-length (" +
                       std::to_string(*opts_.decoded_content_length) + ") bytes");
  }
  if (is_signed()) chunk_hash_.reset();
  if (size == 0) {
    // The final chunk: its signature covers the empty data; trailers (if any) follow.
    if (is_signed()) {
      const std::string sig = chunk_signature(kEmptySha256);
      if (!constant_time_equal(sig, expected_chunk_sig_)) return bad_chunk_signature();
      prev_signature_ = sig;
    }
    state_ = State::kTrailer;
    return {};
  }
  chunk_remaining_ = size;
  state_ = State::kData;
  return {};
}

S3Status AwsChunkedDecoder::on_chunk_end() {
  if (!is_signed()) return {};
  const std::string sig = chunk_signature(chunk_hash_.finish_hex());
  if (!constant_time_equal(sig, expected_chunk_sig_)) return bad_chunk_signature();
  prev_signature_ = sig;
  return {};
}

S3Status AwsChunkedDecoder::on_trailer_line(std::string_view line) {
  if (line.empty()) return on_trailers_end();
  if (!has_trailer(opts_.mode)) return malformed("trailer after the final chunk");
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return malformed("bad trailer line");
  std::string name = to_lower(trim(line.substr(0, colon)));
  const std::string_view value = trim(line.substr(colon + 1));
  if (name == kTrailerSigName) {
    if (opts_.mode != PayloadMode::kStreamingSignedTrailer || !trailer_signature_.empty()) {
      return malformed("unexpected x-amz-trailer-signature");
    }
    trailer_signature_ = value;
    return {};
  }
  if (!trailer_signature_.empty()) return malformed("trailer after x-amz-trailer-signature");
  if (trailers_.size() >= kMaxTrailers) return malformed("too many trailers");
  trailers_.push_back(HttpHeader{std::move(name), std::string(value)});
  return {};
}

S3Status AwsChunkedDecoder::on_trailers_end() {
  if (opts_.mode == PayloadMode::kStreamingSignedTrailer) {
    if (!is_lower_hex64(trailer_signature_)) return malformed("missing x-amz-trailer-signature");
    std::string canonical;
    for (const auto& t : trailers_) canonical.append(t.name).append(":").append(t.value) += '\n';
    const std::string sig =
        sign_string(opts_.signing.key, trailer_sts(opts_.signing, prev_signature_, canonical));
    if (!constant_time_equal(sig, trailer_signature_)) return bad_chunk_signature();
  }
  // Every declared checksum must be present, well-formed and match; an undeclared checksum
  // trailer cannot be verified and is refused.
  for (const auto& t : trailers_) {
    const auto alg = checksum_from_header(t.name);
    if (!alg) continue;
    const bool declared = std::any_of(checksums_.begin(), checksums_.end(),
                                      [&](const Checksummer& c) { return c.algorithm() == *alg; });
    if (!declared) {
      return S3Error(S3Errc::kInvalidRequest,
                     "The trailer " + t.name + " was not declared in x-amz-trailer.");
    }
  }
  for (auto& c : checksums_) {
    const std::string header = checksum_header(c.algorithm());
    const auto t = std::find_if(trailers_.begin(), trailers_.end(),
                                [&](const HttpHeader& h) { return h.name == header; });
    if (t == trailers_.end()) {
      return S3Error(S3Errc::kIncompleteBody,
                     "The trailer " + header + " declared in x-amz-trailer was not sent.");
    }
    const auto raw = base64_decode(t->value);
    if (!raw || t->value.size() != checksum_base64_length(c.algorithm())) {
      return S3Error(S3Errc::kInvalidDigest,
                     "Value for " + header + " trailing header is invalid.");
    }
    if (!constant_time_equal(c.finish_base64(), t->value)) {
      return S3Error(S3Errc::kBadDigest, std::string("The ") + checksum_name(c.algorithm()) +
                                             " you specified did not match the calculated "
                                             "checksum.");
    }
  }
  if (opts_.decoded_content_length && decoded_ != *opts_.decoded_content_length) {
    return S3Error(S3Errc::kIncompleteBody,
                   "You did not provide the number of bytes specified by the "
                   "x-amz-decoded-content-length HTTP header (" +
                       std::to_string(decoded_) + " of " +
                       std::to_string(*opts_.decoded_content_length) + ")");
  }
  state_ = State::kDone;
  return {};
}

S3Status AwsChunkedDecoder::finish() {
  if (state_ == State::kFailed) return *error_;
  if (state_ == State::kDone) return {};
  return fail(S3Error(S3Errc::kIncompleteBody,
                      "The aws-chunked body ended before its final chunk and trailers (" +
                          std::to_string(decoded_) + " payload bytes received)"));
}

// ---- encoder ------------------------------------------------------------------------------------

AwsChunkedEncoder::AwsChunkedEncoder(ChunkedEncoderOptions opts)
    : opts_(std::move(opts)), prev_signature_(opts_.signing.seed_signature) {
  if (has_trailer(opts_.mode)) checksum_.emplace(*opts_.trailer_checksum);
}

Result<AwsChunkedEncoder> AwsChunkedEncoder::create(ChunkedEncoderOptions opts) {
  if (!is_streaming(opts.mode)) {
    return make_error(Errc::kInvalidArgument, "aws-chunked: not a STREAMING-* payload mode");
  }
  if (has_trailer(opts.mode) && !opts.trailer_checksum) {
    return make_error(Errc::kInvalidArgument, "aws-chunked: trailer mode without a checksum");
  }
  return AwsChunkedEncoder(std::move(opts));
}

void AwsChunkedEncoder::add_chunk(std::string_view data, std::string& out) {
  if (data.empty()) return;  // an empty chunk would end the body
  out += hex_size(data.size());
  if (signed_mode(opts_.mode)) {
    prev_signature_ =
        sign_string(opts_.signing.key, chunk_sts(opts_.signing, prev_signature_, sha256_hex(data)));
    out.append(";").append(kChunkSigExt).append(prev_signature_);
  }
  out += "\r\n";
  out += data;
  out += "\r\n";
  if (checksum_) checksum_->update(data);
}

void AwsChunkedEncoder::finish(std::string& out) {
  out += '0';
  if (signed_mode(opts_.mode)) {
    prev_signature_ =
        sign_string(opts_.signing.key, chunk_sts(opts_.signing, prev_signature_, kEmptySha256));
    out.append(";").append(kChunkSigExt).append(prev_signature_);
  }
  out += "\r\n";
  if (checksum_) {
    trailer_value_ = checksum_->finish_base64();
    const std::string line =
        std::string(checksum_header(checksum_->algorithm())) + ":" + trailer_value_;
    out.append(line).append("\r\n");
    if (opts_.mode == PayloadMode::kStreamingSignedTrailer) {
      const std::string sig =
          sign_string(opts_.signing.key, trailer_sts(opts_.signing, prev_signature_, line + "\n"));
      out.append(kTrailerSigName).append(":").append(sig).append("\r\n");
    }
  }
  out += "\r\n";
}

uint64_t aws_chunked_encoded_length(PayloadMode mode, uint64_t decoded_length, uint64_t chunk_size,
                                    std::optional<ChecksumAlgorithm> trailer_checksum) {
  const bool sig = signed_mode(mode);
  const uint64_t sig_len = sig ? 1 + kChunkSigExt.size() + 64 : 0;  // ";chunk-signature=<64>"
  auto chunk = [&](uint64_t n) { return hex_size(n).size() + sig_len + 2 + n + 2; };
  uint64_t total = 0;
  if (chunk_size == 0) chunk_size = decoded_length == 0 ? 1 : decoded_length;
  const uint64_t full = decoded_length / chunk_size;
  total += full * chunk(chunk_size);
  if (decoded_length % chunk_size != 0) total += chunk(decoded_length % chunk_size);
  // Final chunk header and the terminating empty line.
  total += 1 + sig_len + 2;
  if (has_trailer(mode) && trailer_checksum) {
    total += std::string_view(checksum_header(*trailer_checksum)).size() + 1 +
             checksum_base64_length(*trailer_checksum) + 2;
    if (mode == PayloadMode::kStreamingSignedTrailer) {
      total += kTrailerSigName.size() + 1 + 64 + 2;
    }
  }
  total += 2;
  return total;
}

}  // namespace ingestor::s3
