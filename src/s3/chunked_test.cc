#include "s3/chunked.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace ingestor::s3 {
namespace {

const Credentials kAws{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
const TimePoint kT0 = parse_amz_date("20130524T000000Z").value();

SecretLookup lookup_aws() {
  return [](std::string_view akid) -> std::optional<Credentials> {
    if (akid == kAws.access_key_id) return kAws;
    return std::nullopt;
  };
}

// The request of the AWS sigv4-streaming.html example, signed; returns the chunk context the
// server derives from it (through verify_request, as the store will).
ChunkSigningContext aws_example_context() {
  SigningRequest r;
  r.method = "PUT";
  r.path = "/examplebucket/chunkObject.txt";
  r.headers = {{"Host", "s3.amazonaws.com"},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
               {"Content-Encoding", "aws-chunked"},
               {"x-amz-decoded-content-length", "66560"},
               {"Content-Length", "66824"}};
  r.payload_hash = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
  EXPECT_TRUE(sign_request(r, kAws, kT0, SignOptions{}));
  auto v = verify_request(r, lookup_aws(), kT0, VerifyOptions{});
  EXPECT_TRUE(v);
  return ChunkSigningContext{v->amz_date, v->scope, v->signing_key, v->seed_signature};
}

std::string encode(const ChunkedEncoderOptions& o, const std::string& payload, size_t chunk) {
  auto enc = AwsChunkedEncoder::create(o);
  EXPECT_TRUE(enc);
  std::string out;
  for (size_t i = 0; i < payload.size(); i += chunk) {
    enc->add_chunk(std::string_view(payload).substr(i, chunk), out);
  }
  enc->finish(out);
  return out;
}

struct Decoded {
  S3Status status;
  std::string payload;
  std::vector<HttpHeader> trailers;
};

// Feeds `body` in pieces of `step` bytes (0 = random sizes), then finishes.
Decoded decode(const ChunkedDecoderOptions& o, std::string_view body, size_t step = 0) {
  Decoded d;
  auto dec = AwsChunkedDecoder::create(o);
  if (!dec) {
    d.status = dec.error();
    return d;
  }
  std::mt19937 rng(7);
  while (!body.empty()) {
    const size_t n = std::min(body.size(), step != 0 ? step : 1 + rng() % 9000);
    d.status = dec->feed(body.substr(0, n), d.payload);
    if (!d.status) return d;
    body.remove_prefix(n);
  }
  d.status = dec->finish();
  d.trailers = dec->trailers();
  return d;
}

TEST(ChunkedTest, AwsSignedExample) {
  const ChunkSigningContext ctx = aws_example_context();
  EXPECT_EQ(ctx.seed_signature, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  const std::string payload(66560, 'a');
  ChunkedEncoderOptions eo;
  eo.mode = PayloadMode::kStreamingSigned;
  eo.signing = ctx;
  const std::string body = encode(eo, payload, 65536);
  EXPECT_EQ(body.size(), 66824u);
  EXPECT_EQ(aws_chunked_encoded_length(PayloadMode::kStreamingSigned, 66560, 65536, std::nullopt),
            66824u);
  EXPECT_TRUE(
      body.starts_with("10000;chunk-signature="
                       "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"));
  EXPECT_NE(body.find("\r\n400;chunk-signature="
                      "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n"),
            std::string::npos);
  EXPECT_TRUE(body.ends_with(
      "\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
      "\r\n\r\n"));

  ChunkedDecoderOptions o;
  o.mode = PayloadMode::kStreamingSigned;
  o.signing = ctx;
  o.decoded_content_length = 66560;
  for (size_t step : {size_t{0}, size_t{1}, size_t{7}, body.size()}) {
    const Decoded d = decode(o, body, step);
    ASSERT_TRUE(d.status) << step << ": " << d.status.error().message;
    EXPECT_EQ(d.payload, payload);
  }
}

TEST(ChunkedTest, ForgedChunkIsRejected) {
  const ChunkSigningContext ctx = aws_example_context();
  ChunkedEncoderOptions eo;
  eo.mode = PayloadMode::kStreamingSigned;
  eo.signing = ctx;
  const std::string body = encode(eo, std::string(66560, 'a'), 65536);
  ChunkedDecoderOptions o;
  o.mode = PayloadMode::kStreamingSigned;
  o.signing = ctx;

  // One payload byte changed in the second chunk.
  std::string forged = body;
  forged[forged.size() - 200] = 'b';
  Decoded d = decode(o, forged);
  ASSERT_FALSE(d.status);
  EXPECT_EQ(d.status.error().code, S3Errc::kSignatureDoesNotMatch);

  // A chunk re-signed with another key.
  ChunkSigningContext other = ctx;
  other.key = derive_signing_key("other", "20130524", "us-east-1", "s3");
  eo.signing = other;
  d = decode(o, encode(eo, std::string(66560, 'a'), 65536));
  ASSERT_FALSE(d.status);
  EXPECT_EQ(d.status.error().code, S3Errc::kSignatureDoesNotMatch);

  // Chunks reordered (each is validly signed but the chain breaks).
  eo.signing = ctx;
  // Drop the first chunk: the second chunk's signature chains from a signature we never saw.
  const std::string two = encode(eo, std::string(10, 'x') + std::string(10, 'y'), 10);
  const size_t second = two.find("\r\n", two.find("\r\n") + 2) + 2;
  d = decode(o, two.substr(second));
  ASSERT_FALSE(d.status);
  EXPECT_EQ(d.status.error().code, S3Errc::kSignatureDoesNotMatch);

  // A missing or malformed chunk signature.
  d = decode(o, "5\r\nhello\r\n0\r\n\r\n");
  ASSERT_FALSE(d.status);
  EXPECT_EQ(d.status.error().code, S3Errc::kInvalidRequest);
}

TEST(ChunkedTest, BotocoreUnsignedTrailer) {
  // The exact aws-chunked body botocore sent for an 11-byte PutObject over HTTPS (aws.md 1.8c).
  const std::string body = "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
  ChunkedDecoderOptions o;
  o.mode = PayloadMode::kStreamingUnsignedTrailer;
  o.declared_trailers = "x-amz-checksum-crc32";
  o.decoded_content_length = 11;
  for (size_t step = 1; step <= body.size(); ++step) {
    const Decoded d = decode(o, body, step);
    ASSERT_TRUE(d.status) << d.status.error().message;
    EXPECT_EQ(d.payload, "hello world");
    ASSERT_EQ(d.trailers.size(), 1u);
    EXPECT_EQ(d.trailers[0].name, "x-amz-checksum-crc32");
    EXPECT_EQ(d.trailers[0].value, "DUoRhQ==");
  }
  // Our encoder produces the same bytes.
  ChunkedEncoderOptions eo;
  eo.mode = PayloadMode::kStreamingUnsignedTrailer;
  eo.trailer_checksum = ChecksumAlgorithm::kCrc32;
  EXPECT_EQ(encode(eo, "hello world", 1 << 20), body);
  EXPECT_EQ(aws_chunked_encoded_length(PayloadMode::kStreamingUnsignedTrailer, 11, 1 << 20,
                                       ChecksumAlgorithm::kCrc32),
            body.size());
}

TEST(ChunkedTest, TrailerChecksumErrors) {
  ChunkedDecoderOptions o;
  o.mode = PayloadMode::kStreamingUnsignedTrailer;
  o.declared_trailers = "x-amz-checksum-crc32";
  o.decoded_content_length = 11;
  auto code = [&](const std::string& body) -> std::optional<S3Errc> {
    const Decoded d = decode(o, body);
    if (d.status) return std::nullopt;
    return d.status.error().code;
  };
  EXPECT_EQ(code("b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"),
            S3Errc::kBadDigest);
  EXPECT_EQ(code("b\r\nhello worle\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"),
            S3Errc::kBadDigest);
  EXPECT_EQ(code("b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoR\r\n\r\n"),
            S3Errc::kInvalidDigest);
  EXPECT_EQ(code("b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:!!!!!!==\r\n\r\n"),
            S3Errc::kInvalidDigest);
  EXPECT_EQ(code("b\r\nhello world\r\n0\r\n\r\n"), S3Errc::kIncompleteBody);  // trailer missing
  EXPECT_EQ(code("b\r\nhello world\r\n0\r\nx-amz-checksum-sha256:" +
                 base64_encode(sha256("hello world")) + "\r\n\r\n"),
            S3Errc::kInvalidRequest);  // undeclared
  const Decoded bad = decode(o, "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n");
  EXPECT_EQ(bad.status.error().message,
            "The CRC32 you specified did not match the calculated checksum.");
  EXPECT_EQ(bad.status.error().http_status(), 400);

  // Each supported algorithm round-trips, and a wrong value is a BadDigest.
  const std::string payload(100000, 'z');
  for (auto alg :
       {ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c, ChecksumAlgorithm::kCrc64Nvme,
        ChecksumAlgorithm::kSha1, ChecksumAlgorithm::kSha256}) {
    ChunkedEncoderOptions eo;
    eo.mode = PayloadMode::kStreamingUnsignedTrailer;
    eo.trailer_checksum = alg;
    const std::string body = encode(eo, payload, 8192);
    EXPECT_EQ(aws_chunked_encoded_length(eo.mode, payload.size(), 8192, alg), body.size());
    ChunkedDecoderOptions d;
    d.mode = eo.mode;
    d.declared_trailers = checksum_header(alg);
    d.decoded_content_length = payload.size();
    const Decoded ok = decode(d, body);
    ASSERT_TRUE(ok.status) << checksum_name(alg) << ": " << ok.status.error().message;
    EXPECT_EQ(ok.payload, payload);
    std::string tampered = payload;
    tampered[5000] = 'y';
    std::string forged = encode(eo, tampered, 8192);
    // Keep the tampered data but the original trailer.
    forged = forged.substr(0, forged.find("\r\n0\r\n")) + body.substr(body.find("\r\n0\r\n"));
    const Decoded no = decode(d, forged);
    ASSERT_FALSE(no.status) << checksum_name(alg);
    EXPECT_EQ(no.status.error().code, S3Errc::kBadDigest);
  }
  // An unknown declared trailer is refused up front.
  ChunkedDecoderOptions unknown = o;
  unknown.declared_trailers = "x-amz-checksum-md7";
  EXPECT_FALSE(AwsChunkedDecoder::create(unknown));
}

TEST(ChunkedTest, SignedTrailerRoundTrip) {
  const ChunkSigningContext ctx = aws_example_context();
  ChunkedEncoderOptions eo;
  eo.mode = PayloadMode::kStreamingSignedTrailer;
  eo.signing = ctx;
  eo.trailer_checksum = ChecksumAlgorithm::kCrc32c;
  const std::string payload = "0123456789abcdef0123456789";
  const std::string body = encode(eo, payload, 10);
  EXPECT_EQ(aws_chunked_encoded_length(eo.mode, payload.size(), 10, ChecksumAlgorithm::kCrc32c),
            body.size());
  ChunkedDecoderOptions o;
  o.mode = eo.mode;
  o.signing = ctx;
  o.declared_trailers = "x-amz-checksum-crc32c";
  o.decoded_content_length = payload.size();
  const Decoded d = decode(o, body, 3);
  ASSERT_TRUE(d.status) << d.status.error().message;
  EXPECT_EQ(d.payload, payload);
  ASSERT_EQ(d.trailers.size(), 1u);
  EXPECT_EQ(d.trailers[0].value, base64_encode(crc_bytes(crc32c(payload))));

  // A trailer value swapped for another (well-formed) one breaks the trailer signature.
  std::string forged = body;
  const size_t pos = forged.find("x-amz-checksum-crc32c:") + 22;
  forged.replace(pos, 8, "AAAAAA==");
  const Decoded f = decode(o, forged);
  ASSERT_FALSE(f.status);
  EXPECT_EQ(f.status.error().code, S3Errc::kSignatureDoesNotMatch);
  // The trailer signature is required.
  std::string unsigned_body = body;
  const size_t sig = unsigned_body.find("x-amz-trailer-signature:");
  unsigned_body.erase(sig, unsigned_body.find("\r\n", sig) + 2 - sig);
  const Decoded u = decode(o, unsigned_body);
  ASSERT_FALSE(u.status);
  EXPECT_EQ(u.status.error().code, S3Errc::kInvalidRequest);
}

TEST(ChunkedTest, TruncatedStreamIsAnError) {
  const ChunkSigningContext ctx = aws_example_context();
  ChunkedEncoderOptions eo;
  eo.mode = PayloadMode::kStreamingSigned;
  eo.signing = ctx;
  const std::string payload = "The quick brown fox jumps over the lazy dog";
  const std::string body = encode(eo, payload, 16);
  ChunkedDecoderOptions o;
  o.mode = eo.mode;
  o.signing = ctx;
  o.decoded_content_length = payload.size();
  for (size_t n = 0; n < body.size(); ++n) {
    const Decoded d = decode(o, std::string_view(body).substr(0, n), 5);
    ASSERT_FALSE(d.status) << n;
    EXPECT_EQ(d.status.error().code, S3Errc::kIncompleteBody) << n;
  }
  EXPECT_TRUE(decode(o, body, 5).status);

  // Unsigned trailer too.
  const std::string ut = "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
  ChunkedDecoderOptions uo;
  uo.mode = PayloadMode::kStreamingUnsignedTrailer;
  uo.declared_trailers = "x-amz-checksum-crc32";
  for (size_t n = 0; n < ut.size(); ++n) {
    EXPECT_FALSE(decode(uo, std::string_view(ut).substr(0, n), 1).status) << n;
  }
}

TEST(ChunkedTest, LengthAndFramingErrors) {
  ChunkedDecoderOptions o;
  o.mode = PayloadMode::kStreamingUnsignedTrailer;
  o.decoded_content_length = 5;
  auto code = [&](const std::string& body) -> std::optional<S3Errc> {
    const Decoded d = decode(o, body, 1);
    if (d.status) return std::nullopt;
    return d.status.error().code;
  };
  EXPECT_EQ(code("5\r\nhello\r\n0\r\n\r\n"), std::nullopt);
  EXPECT_EQ(code("4\r\nhell\r\n0\r\n\r\n"), S3Errc::kIncompleteBody);    // shorter than declared
  EXPECT_EQ(code("6\r\nhello!\r\n0\r\n\r\n"), S3Errc::kInvalidRequest);  // longer
  EXPECT_EQ(code("5\r\nhelloXX0\r\n\r\n"), S3Errc::kInvalidRequest);     // no CRLF after data
  EXPECT_EQ(code("zz\r\nhello\r\n0\r\n\r\n"), S3Errc::kInvalidRequest);  // bad size
  EXPECT_EQ(code("5\nhello\r\n0\r\n\r\n"), S3Errc::kInvalidRequest);     // bare LF
  EXPECT_EQ(code("5\r\nhello\r\n0\r\n\r\nextra"), S3Errc::kInvalidRequest);
  EXPECT_EQ(code("11111111111111111\r\n"), S3Errc::kInvalidRequest);  // 17 hex digits
  EXPECT_EQ(code(std::string(5000, '1')), S3Errc::kInvalidRequest);   // over max_line
  // Signed streaming does not allow trailers.
  ChunkedDecoderOptions s;
  s.mode = PayloadMode::kStreamingSigned;
  s.declared_trailers = "x-amz-checksum-crc32";
  EXPECT_FALSE(AwsChunkedDecoder::create(s));
  s.mode = PayloadMode::kSha256;
  s.declared_trailers.clear();
  EXPECT_FALSE(AwsChunkedDecoder::create(s));
}

TEST(ChunkedTest, ErrorIsSticky) {
  ChunkedDecoderOptions o;
  o.mode = PayloadMode::kStreamingUnsignedTrailer;
  auto dec = AwsChunkedDecoder::create(o);
  ASSERT_TRUE(dec);
  std::string out;
  EXPECT_FALSE(dec->feed("q\r\n", out));
  EXPECT_FALSE(dec->feed("5\r\nhello\r\n0\r\n\r\n", out));
  EXPECT_FALSE(dec->finish());
  EXPECT_TRUE(out.empty());
}

TEST(ChunkedTest, RandomGarbageNeverCrashes) {
  std::mt19937 rng(1234);
  const ChunkSigningContext ctx = aws_example_context();
  ChunkedEncoderOptions eo;
  eo.mode = PayloadMode::kStreamingSignedTrailer;
  eo.signing = ctx;
  eo.trailer_checksum = ChecksumAlgorithm::kCrc32;
  const std::string good = encode(eo, std::string(3000, 'q'), 1000);
  ChunkedDecoderOptions o;
  o.mode = eo.mode;
  o.signing = ctx;
  o.declared_trailers = "x-amz-checksum-crc32";
  o.decoded_content_length = 3000;
  int accepted = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string m = good;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % m.size();
      m[pos] = static_cast<char>(rng() % 256);
    }
    const Decoded d = decode(o, m);
    if (d.status) ++accepted;
  }
  // Every byte of a signed-trailer body is covered by a signature or the framing, except
  // hex-digit case in chunk sizes.
  EXPECT_LT(accepted, 5);
}

}  // namespace
}  // namespace ingestor::s3
