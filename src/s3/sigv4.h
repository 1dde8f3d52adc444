#pragma once
// AWS Signature Version 4 for S3 (client signing, presigned URLs, server verification) and
// SigV2 verification (header and query auth, which `aws s3 presign` still produces by default).
// Spec: /work/shared/reference/aws.md section 1; AWS docs sig-v4-header-based-auth.html,
// sigv4-query-string-auth.html, RESTAuthentication.html (v2).
//
// Everything here is a pure function of its arguments (time is passed in, secrets come from a
// callback); nothing does I/O. Thread-safety: functions are reentrant; SigningKeyCache is
// internally locked and may be shared.
//
// S3 flavour: the path is encoded once per segment with '/' kept and is never normalized
// ("//", "." and ".." stay), unlike the generic SigV4 test suite.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/hash.h"
#include "base/result.h"
#include "s3/s3_error.h"

namespace ingestor::s3 {

using TimePoint = std::chrono::system_clock::time_point;
using SigningKey = Sha256Digest;

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
};

struct HttpHeader {
  std::string name;  // any case; compared case-insensitively
  std::string value;
};

struct QueryParam {
  std::string name;       // decoded
  std::string value;      // decoded
  bool has_value = true;  // false for "?uploads" (SigV2 resources keep the difference)
};

// A request as the signer and verifier see it. The same struct describes an outgoing request
// (client) and an incoming one (server).
struct SigningRequest {
  std::string method = "GET";  // upper case
  // Decoded path, e.g. "/bucket/dir/a b+c.txt" (the key bytes, not percent-encoded): the
  // canonical URI encodes each segment once. Empty means "/".
  std::string path = "/";
  std::vector<QueryParam> query;  // decoded pairs, in wire order
  // All headers of the request. Signing signs every header here except the never-signed ones
  // (authorization, user-agent, expect, transfer-encoding, connection, x-amzn-trace-id,
  // amz-sdk-*): add unsigned headers after signing. Verification reads the signed ones.
  std::vector<HttpHeader> headers;
  // Signing only: the x-amz-content-sha256 value (64 hex, UNSIGNED-PAYLOAD, STREAMING-...).
  // Verification ignores it and uses the header (or UNSIGNED-PAYLOAD for presigned URLs).
  std::string payload_hash;
  // SigV2 only: the bucket when the request is virtual-hosted style (its resource is then
  // "/<bucket><path>"); empty for path style.
  std::string virtual_bucket;
};

// ---- encoding helpers ---------------------------------------------------------------------------

// RFC 3986 encoding as SigV4 wants it: A-Z a-z 0-9 - _ . ~ kept, everything else %XX (upper-case
// hex) on the bytes; '/' kept unless encode_slash.
std::string uri_encode(std::string_view s, bool encode_slash);
// Percent-decoding; nullopt on a malformed escape ("%G1", "%4"). plus_is_space turns '+' into ' '
// (query strings, as MinIO and AWS read them).
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);
// Splits a raw query string ("a=1&b&c=%2F") into decoded pairs; '+' decodes to a space; an
// undecodable name or value is kept verbatim.
std::vector<QueryParam> parse_query(std::string_view raw_query);
// The header value for `name` (case-insensitive); several headers with the name are joined with
// ','. nullopt if absent.
std::optional<std::string> find_header(const std::vector<HttpHeader>& headers,
                                       std::string_view name);

// ---- time ---------------------------------------------------------------------------------------

// "20130524T000000Z" (ISO 8601 basic, UTC, second precision).
std::string format_amz_date(TimePoint t);
// nullopt for a malformed date, and for one a TimePoint cannot hold (before 1678 or after 2261).
std::optional<TimePoint> parse_amz_date(std::string_view s);
// RFC 1123 / RFC 7231 IMF-fixdate: "Fri, 24 May 2013 00:00:00 GMT", also with a numeric zone
// ("... 02:00:00 +0200", RFC 2822: s3cmd's SigV2 x-amz-date); nullopt as parse_amz_date.
std::optional<TimePoint> parse_http_date(std::string_view s);
// "2013-05-24T00:00:00Z", as S3 writes ServerTime in error bodies.
std::string format_iso8601(TimePoint t);

// ---- SigV4 building blocks ----------------------------------------------------------------------

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr int64_t kMaxPresignExpires = 604800;  // 7 days

// "<yyyymmdd>/<region>/<service>/aws4_request".
std::string credential_scope(std::string_view date, std::string_view region,
                             std::string_view service);
// kSigning = HMAC chain over "AWS4"+secret, date, region, service, "aws4_request".
SigningKey derive_signing_key(std::string_view secret, std::string_view date,
                              std::string_view region, std::string_view service);

// Keeps the last `capacity` derived keys (they change once a day per credential). Thread-safe.
class SigningKeyCache {
 public:
  explicit SigningKeyCache(size_t capacity = 16) : capacity_(capacity == 0 ? 1 : capacity) {}
  SigningKey get(std::string_view secret, std::string_view date, std::string_view region,
                 std::string_view service);

 private:
  struct Entry {
    std::string id;  // secret \0 date \0 region \0 service
    SigningKey key;
  };
  const size_t capacity_;
  std::mutex mu_;
  std::vector<Entry> entries_;  // guarded by mu_
  size_t next_ = 0;             // round-robin victim, guarded by mu_
};

// Canonical URI of a decoded path.
std::string canonical_uri(std::string_view decoded_path);
// Canonical query string; a parameter named `exclude` (e.g. "X-Amz-Signature") is left out.
std::string canonical_query(const std::vector<QueryParam>& query, std::string_view exclude = {});
// The six-line canonical request. `signed_headers` are lower-case and sorted.
std::string canonical_request(const SigningRequest& req,
                              const std::vector<std::string>& signed_headers,
                              std::string_view payload_hash, bool presigned);
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);
// hex(HMAC(key, string_to_sign)).
std::string sign_string(const SigningKey& key, std::string_view string_to_sign);

// ---- client side --------------------------------------------------------------------------------

struct SignOptions {
  std::string region = "us-east-1";
  std::string service = "s3";
  SigningKeyCache* cache = nullptr;  // optional, not owned
};

// What a signature was computed from, for chunk signing and for debugging.
struct SignatureInfo {
  std::string authorization;  // full header value (empty for presigned URLs)
  std::string signature;      // 64 hex; the seed signature of aws-chunked uploads
  std::string signed_headers;
  std::string amz_date;
  std::string scope;
  std::string canonical_request;
  std::string string_to_sign;
  SigningKey key{};
};

// Signs `req` for header auth. Sets x-amz-date (replacing one present), x-amz-content-sha256
// (from payload_hash, unless present), x-amz-security-token (if the credentials have one), then
// Authorization. Requires a Host header and a payload_hash (kInvalidArgument otherwise).
[[nodiscard]] Result<SignatureInfo> sign_request(SigningRequest& req, const Credentials& creds,
                                                 TimePoint now, const SignOptions& opts);

// A SigV4 presigned URL without scheme and host: "<canonical uri>?<query>&X-Amz-Signature=...".
// Signs the headers in req.headers (at least Host); expires in [1, 604800] seconds.
// If `info` is not null it receives the details.
[[nodiscard]] Result<std::string> presign_url(const SigningRequest& req, const Credentials& creds,
                                              TimePoint now, std::chrono::seconds expires,
                                              const SignOptions& opts,
                                              SignatureInfo* info = nullptr);

// SigV2 string to sign (RESTAuthentication.html): method, Content-MD5, Content-Type, date (the
// Date header, "" when x-amz-date is present, Expires for query auth), canonical x-amz-* headers,
// canonical resource with sub-resources. x-amz-* query parameters count as headers (botocore
// moves them there when presigning).
std::string string_to_sign_v2(const SigningRequest& req, std::string_view date_or_expires);
// A SigV2 presigned URL path and query ("/b/k?AWSAccessKeyId=...&Expires=...&Signature=...").
[[nodiscard]] Result<std::string> presign_url_v2(const SigningRequest& req,
                                                 const Credentials& creds, int64_t expires_unix);

// ---- server side --------------------------------------------------------------------------------

enum class AuthKind { kAnonymous, kHeaderV4, kQueryV4, kHeaderV2, kQueryV2 };

// How the body is covered, from x-amz-content-sha256.
enum class PayloadMode {
  kSha256,                    // 64-hex hash: the server must hash the body and compare
  kUnsigned,                  // UNSIGNED-PAYLOAD (all presigned URLs, SigV2)
  kStreamingSigned,           // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
  kStreamingSignedTrailer,    // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
  kStreamingUnsignedTrailer,  // STREAMING-UNSIGNED-PAYLOAD-TRAILER
};

// Classifies an x-amz-content-sha256 value: InvalidArgument for an unknown value,
// NotImplemented for SigV4a (ECDSA) streaming.
[[nodiscard]] S3Result<PayloadMode> parse_payload_hash(std::string_view value);

struct AuthResult {
  AuthKind kind = AuthKind::kAnonymous;
  std::string access_key_id;
  PayloadMode payload_mode = PayloadMode::kUnsigned;
  std::string payload_sha256;  // lower-case hex, when payload_mode == kSha256
  // SigV4 only: what aws-chunked chunk signatures chain from.
  std::string amz_date;
  std::string scope;
  std::string seed_signature;
  SigningKey signing_key{};
};

// Returns the credentials of an access key id, or nullopt if unknown (-> InvalidAccessKeyId).
// If the returned session_token is not empty, the request must carry that token.
using SecretLookup = std::function<std::optional<Credentials>(std::string_view access_key_id)>;

struct VerifyOptions {
  // Expected region; empty accepts any region in the credential scope.
  std::string region;
  std::string service = "s3";
  std::chrono::seconds max_skew{900};  // S3's 15 minutes
  SigningKeyCache* cache = nullptr;    // optional, not owned
};

// Authenticates a request: SigV4 Authorization header, SigV4 presigned query, SigV2 header
// ("AWS AKID:sig") or SigV2 presigned query; a request with none of them is kAnonymous (the
// caller decides whether that is allowed). Errors carry S3's code and message:
// AuthorizationHeaderMalformed / AuthorizationQueryParametersError (unparseable auth),
// InvalidArgument (two auth mechanisms, unsupported type, bad x-amz-content-sha256),
// InvalidAccessKeyId, InvalidToken, RequestTimeTooSkewed (header auth beyond max_skew),
// AccessDenied (expired or not yet valid presigned URL, missing date; an x-amz-* header that
// SigV4's SignedHeaders leave out, with HeadersNotSigned: only x-amz-content-sha256, and
// x-amz-date in header auth, are covered without being listed), SignatureDoesNotMatch
// (with StringToSign and CanonicalRequest details), NotImplemented (SigV4a).
// The body is not checked here: for kSha256 the caller hashes it and answers
// XAmzContentSHA256Mismatch; streaming modes go through AwsChunkedDecoder.
[[nodiscard]] S3Result<AuthResult> verify_request(const SigningRequest& req,
                                                  const SecretLookup& lookup, TimePoint now,
                                                  const VerifyOptions& opts);

}  // namespace ingestor::s3
