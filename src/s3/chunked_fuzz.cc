// Fuzz target `chunked` (fuzz/README.md): aws-chunked request bodies (chunked.h), as the store
// decodes them from an untrusted client.
//
// Input: byte 0 = flags, byte 1 = where to split, the rest = the body.
//   flags & 3: 0 STREAMING-AWS4-HMAC-SHA256-PAYLOAD, 1 ...-PAYLOAD-TRAILER,
//              2 and 3 STREAMING-UNSIGNED-PAYLOAD-TRAILER (signatures: the fixed context below);
//   flags & 4: an x-amz-decoded-content-length of byte 1 is declared;
//   flags & 8: x-amz-trailer declares x-amz-checksum-crc32; flags & 16: ...-crc32c;
//   flags & 128: round trip instead: the rest is a payload, encoded with AwsChunkedEncoder in
//                chunks of (byte 1 + 1) bytes and decoded again.
//
// Invariants: the outcome (success, error code, payload) does not depend on how the body is split
// into feed() calls (whole, split at one point, byte by byte); the payload is never longer than
// the body and decoded_bytes() counts it; finish() succeeds only after the terminating line, with
// the declared length; an encoded payload decodes to itself, and its length is
// aws_chunked_encoded_length().

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/fuzz_check.h"
#include "s3/chunked.h"

namespace {

using namespace ingestor;
using namespace ingestor::s3;

ChunkSigningContext signing() {
  static const ChunkSigningContext c{
      "20130524T000000Z", "20130524/us-east-1/s3/aws4_request",
      derive_signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3"),
      "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"};
  return c;
}

PayloadMode mode_of(uint8_t flags) {
  switch (flags & 3) {
    case 0:
      return PayloadMode::kStreamingSigned;
    case 1:
      return PayloadMode::kStreamingSignedTrailer;
    default:
      return PayloadMode::kStreamingUnsignedTrailer;
  }
}

struct Outcome {
  bool created = false;
  bool ok = false;
  S3Errc code{};
  std::string payload;
  std::string message;
};

// Decodes `body` fed in pieces: cut at `split` (npos: whole), or byte by byte when `bytewise`.
Outcome decode(const ChunkedDecoderOptions& o, std::string_view body, size_t split, bool bytewise) {
  Outcome r;
  auto dec = AwsChunkedDecoder::create(o);
  if (!dec) {
    r.code = dec.error().code;
    return r;
  }
  r.created = true;
  S3Status st;
  if (bytewise) {
    for (size_t i = 0; i < body.size() && st; ++i) st = dec->feed(body.substr(i, 1), r.payload);
  } else if (split < body.size()) {
    st = dec->feed(body.substr(0, split), r.payload);
    if (st) st = dec->feed(body.substr(split), r.payload);
  } else {
    st = dec->feed(body, r.payload);
  }
  if (st) st = dec->finish();
  INGESTOR_FUZZ_CHECK(dec->decoded_bytes() == r.payload.size());
  INGESTOR_FUZZ_CHECK(r.payload.size() <= body.size());
  if (st) {
    INGESTOR_FUZZ_CHECK(dec->done());
    if (o.decoded_content_length)
      INGESTOR_FUZZ_CHECK(r.payload.size() == *o.decoded_content_length);
    r.ok = true;
  } else {
    r.code = st.error().code;
    r.message = st.error().message;
    // After an error every later call returns it again.
    std::string more;
    auto again = dec->feed("0\r\n\r\n", more);
    INGESTOR_FUZZ_CHECK(!again && again.error().code == r.code && more.empty());
    INGESTOR_FUZZ_CHECK(!dec->finish());
  }
  return r;
}

void round_trip(uint8_t flags, size_t chunk, std::string_view payload) {
  ChunkedEncoderOptions eo;
  eo.mode = mode_of(flags);
  eo.signing = signing();
  if (eo.mode != PayloadMode::kStreamingSigned) {
    eo.trailer_checksum = (flags & 16) ? ChecksumAlgorithm::kCrc32c : ChecksumAlgorithm::kCrc32;
  }
  auto enc = AwsChunkedEncoder::create(eo);
  INGESTOR_FUZZ_CHECK(enc.has_value());
  std::string body;
  for (size_t i = 0; i < payload.size(); i += chunk) enc->add_chunk(payload.substr(i, chunk), body);
  enc->finish(body);
  INGESTOR_FUZZ_CHECK(body.size() == aws_chunked_encoded_length(eo.mode, payload.size(), chunk,
                                                                eo.trailer_checksum));

  ChunkedDecoderOptions o;
  o.mode = eo.mode;
  o.signing = signing();
  o.decoded_content_length = payload.size();
  if (eo.trailer_checksum) o.declared_trailers = checksum_header(*eo.trailer_checksum);
  const Outcome r = decode(o, body, body.size() / 2, false);
  INGESTOR_FUZZ_CHECK(r.ok, r.message);
  INGESTOR_FUZZ_CHECK(r.payload == payload);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t flags = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);
  if (flags & 128) {
    round_trip(flags, size_t{data[1]} + 1, body);
    return 0;
  }
  ChunkedDecoderOptions o;
  o.mode = mode_of(flags);
  o.signing = signing();
  if (flags & 4) o.decoded_content_length = data[1];
  if (flags & 8) o.declared_trailers = "x-amz-checksum-crc32";
  if (flags & 16)
    o.declared_trailers +=
        o.declared_trailers.empty() ? "x-amz-checksum-crc32c" : ", x-amz-checksum-crc32c";
  o.max_line = 128;

  const size_t split = body.size() * data[1] / 256;
  const Outcome whole = decode(o, body, std::string_view::npos, false);
  const Outcome cut = decode(o, body, split, false);
  const Outcome bytes = decode(o, body, 0, true);
  for (const Outcome* other : {&cut, &bytes}) {
    INGESTOR_FUZZ_CHECK(other->created == whole.created);
    INGESTOR_FUZZ_CHECK(other->ok == whole.ok, whole.message + " | " + other->message);
    if (whole.ok) INGESTOR_FUZZ_CHECK(other->payload == whole.payload);
    if (!whole.ok)
      INGESTOR_FUZZ_CHECK(other->code == whole.code, whole.message + " | " + other->message);
  }
  return 0;
}
