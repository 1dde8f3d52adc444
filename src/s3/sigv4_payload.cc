// How a request's body is covered, from its x-amz-content-sha256 value: a SHA-256 the server must
// check, UNSIGNED-PAYLOAD, or one of the aws-chunked streaming modes (chunked.h decodes those).

#include <optional>
#include <utility>

#include "s3/sigv4.h"
#include "s3/sigv4_internal.h"

namespace ingestor::s3 {

using sigv4_detail::error;

S3Result<PayloadMode> parse_payload_hash(std::string_view v) {
  if (v == kUnsignedPayload) return PayloadMode::kUnsigned;
  if (v == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") return PayloadMode::kStreamingSigned;
  if (v == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") {
    return PayloadMode::kStreamingSignedTrailer;
  }
  if (v == "STREAMING-UNSIGNED-PAYLOAD-TRAILER") return PayloadMode::kStreamingUnsignedTrailer;
  if (v.starts_with("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")) {
    return error(S3Errc::kNotImplemented, "Signature Version 4A is not implemented.");
  }
  if (v.size() == 64 && from_hex(v)) return PayloadMode::kSha256;
  return error(S3Errc::kInvalidArgument,
               "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-... value, or a valid "
               "sha256 value.");
}

namespace sigv4_detail {

// The payload hash named by the x-amz-content-sha256 header, or `fallback` when absent.
S3Result<std::pair<std::string, PayloadMode>> payload_of(const SigningRequest& req,
                                                         std::optional<std::string_view> fallback) {
  std::optional<std::string> v = find_header(req.headers, "x-amz-content-sha256");
  if (!v) {
    if (!fallback) {
      return error(S3Errc::kInvalidRequest,
                   "Missing required header for this request: x-amz-content-sha256");
    }
    v = std::string(*fallback);
  }
  auto mode = parse_payload_hash(*v);
  if (!mode) return mode.error();
  return std::make_pair(*std::move(v), *mode);
}

}  // namespace sigv4_detail

}  // namespace ingestor::s3
