#pragma once
// aws-chunked bodies (Content-Encoding: aws-chunked), both directions. Wire formats: aws.md 1.8;
// AWS docs sigv4-streaming.html and sigv4-streaming-trailers.html.
//
//   signed:            <hex>;chunk-signature=<64hex>\r\n<data>\r\n ...
//   0;chunk-signature=<sig>\r\n\r\n signed + trailer:  ...
//   0;chunk-signature=<sig>\r\n<name>:<b64>\r\n
//                      x-amz-trailer-signature:<64hex>\r\n\r\n
//   unsigned trailer:  <hex>\r\n<data>\r\n ... 0\r\n<name>:<b64>\r\n\r\n
//
// Chunk signatures chain from the seed (the request's SigV4 signature):
//   "AWS4-HMAC-SHA256-PAYLOAD\n" date "\n" scope "\n" prev "\n" sha256("") "\n" sha256(data)
// and the trailer signature from the last chunk signature:
//   "AWS4-HMAC-SHA256-TRAILER\n" date "\n" scope "\n" prev "\n" sha256("<name>:<value>\n"...)
//
// The body may additionally be HTTP-chunked (botocore does both); remove that framing first.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/hash.h"
#include "base/result.h"
#include "s3/checksum.h"
#include "s3/s3_error.h"
#include "s3/sigv4.h"

namespace ingestor::s3 {

// What chunk signatures are computed from (AuthResult of the request, or SignatureInfo).
struct ChunkSigningContext {
  std::string amz_date;        // "20130524T000000Z"
  std::string scope;           // "20130524/us-east-1/s3/aws4_request"
  SigningKey key{};            // derived signing key of the request
  std::string seed_signature;  // the request's signature
};

struct ChunkedDecoderOptions {
  PayloadMode mode = PayloadMode::kStreamingUnsignedTrailer;  // one of the three streaming modes
  ChunkSigningContext signing;                                // signed modes only
  // x-amz-decoded-content-length: the payload must be exactly this long. nullopt = unchecked
  // (S3 requires the header; the caller answers MissingContentLength if it wants that).
  std::optional<uint64_t> decoded_content_length;
  // The x-amz-trailer header value: comma-separated trailer names (e.g.
  // "x-amz-checksum-crc32"). Every declared checksum trailer must arrive and match.
  std::string declared_trailers;
  // Longest chunk-header or trailer line accepted, in bytes (memory bound of the decoder).
  size_t max_line = 4096;
};

// Incremental decoder. Memory: one line buffer of at most max_line bytes plus the running
// hashes; payload bytes are passed through, never buffered.
// Contract: the payload bytes appended to `out` are provisional: a signed chunk is verified when
// its last byte has been fed, and the whole body only when finish() succeeds. A caller that
// stores bytes must discard them on any error. After an error every later call returns it again.
// Not thread-safe.
class AwsChunkedDecoder {
 public:
  // Fails (InvalidRequest) for a non-streaming mode or an unsupported declared checksum.
  [[nodiscard]] static S3Result<AwsChunkedDecoder> create(ChunkedDecoderOptions opts);

  // Consumes all of `in`, appending decoded payload bytes to `out`.
  [[nodiscard]] S3Status feed(std::string_view in, std::string& out);
  // The encoded body has ended: succeeds only if the final chunk, trailers and the terminating
  // empty line were all received and every check passed (IncompleteBody otherwise).
  [[nodiscard]] S3Status finish();

  // True once the terminating empty line has been decoded.
  bool done() const { return state_ == State::kDone; }
  uint64_t decoded_bytes() const { return decoded_; }
  // The trailers received (lower-case names, values as sent), excluding the trailer signature.
  // Checksum trailers here have been verified once done().
  const std::vector<HttpHeader>& trailers() const { return trailers_; }

 private:
  enum class State { kHeader, kData, kDataCrlf, kTrailer, kDone, kFailed };

  explicit AwsChunkedDecoder(ChunkedDecoderOptions opts);
  S3Status fail(S3Error e);
  S3Status on_header_line(std::string_view line);
  S3Status on_chunk_end();
  S3Status on_trailer_line(std::string_view line);
  S3Status on_trailers_end();
  bool is_signed() const;
  std::string chunk_signature(std::string_view data_hash_hex) const;

  ChunkedDecoderOptions opts_;
  State state_ = State::kHeader;
  std::string line_;              // partial line (without CRLF)
  uint64_t chunk_remaining_ = 0;  // data bytes left in the current chunk
  size_t crlf_seen_ = 0;          // bytes of the CRLF after chunk data consumed
  uint64_t decoded_ = 0;
  std::string prev_signature_;      // seed, then each chunk's signature
  std::string expected_chunk_sig_;  // the current chunk's claimed signature
  Sha256 chunk_hash_;
  std::vector<Checksummer> checksums_;  // one per declared checksum trailer
  std::vector<HttpHeader> trailers_;
  std::string trailer_signature_;
  std::optional<S3Error> error_;
};

struct ChunkedEncoderOptions {
  PayloadMode mode = PayloadMode::kStreamingSigned;  // one of the three streaming modes
  ChunkSigningContext signing;                       // signed modes only
  // Trailer checksum for the trailer modes (required there, ignored otherwise).
  std::optional<ChecksumAlgorithm> trailer_checksum;
};

// Frames a payload as aws-chunked for our client. Chunk sizes are the caller's choice (S3 wants
// every chunk but the last to be >= 8 KiB). Not thread-safe.
class AwsChunkedEncoder {
 public:
  // Fails (kInvalidArgument) for a non-streaming mode or a trailer mode without a checksum.
  [[nodiscard]] static Result<AwsChunkedEncoder> create(ChunkedEncoderOptions opts);
  // Appends one chunk carrying `data` (must not be empty: an empty chunk ends the body).
  void add_chunk(std::string_view data, std::string& out);
  // Appends the final chunk, trailers and the terminating empty line.
  void finish(std::string& out);
  // The trailer value sent by finish() (empty before).
  const std::string& trailer_value() const { return trailer_value_; }

 private:
  explicit AwsChunkedEncoder(ChunkedEncoderOptions opts);
  ChunkedEncoderOptions opts_;
  std::string prev_signature_;
  std::optional<Checksummer> checksum_;
  std::string trailer_value_;
};

// The encoded length (the Content-Length of the request) of a `decoded_length` payload split in
// `chunk_size` chunks, for the given mode and trailer checksum.
uint64_t aws_chunked_encoded_length(PayloadMode mode, uint64_t decoded_length, uint64_t chunk_size,
                                    std::optional<ChecksumAlgorithm> trailer_checksum);

}  // namespace ingestor::s3
