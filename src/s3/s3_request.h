#pragma once
// The pure parts of the S3 client, exposed for tests: endpoint and URL building (path-style and
// virtual-hosted addressing), error classification (retry or not, which Errc) and the backoff
// schedule. No I/O; thread-safe.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "net/http_client.h"
#include "s3/sigv4.h"

namespace ingestor::s3 {

enum class Addressing {
  kAuto,     // path-style for a custom endpoint (as botocore); virtual-hosted on AWS when the
             // bucket is DNS-compatible and has no dot (dots break the wildcard certificate)
  kPath,     // https://host/bucket/key
  kVirtual,  // https://bucket.host/key
};

// Where requests go, resolved once from the options.
struct S3Endpoint {
  net::Endpoint endpoint;  // scheme, host, port of the service (no bucket)
  std::string base_path;   // path prefix of a custom endpoint ("" or "/prefix"), no trailing '/'
  bool is_aws = false;     // the default AWS endpoint (no custom URL given)
};

// `url` empty: "https://s3.<region>.amazonaws.com". Errors: kConfig for a bad URL or region.
[[nodiscard]] Result<S3Endpoint> resolve_endpoint(std::string_view url, std::string_view region);

// True for names usable as a DNS label prefix: 3-63 chars of [a-z0-9.-], starting and ending
// with a letter or digit, no "..", not an IP address.
bool dns_compatible_bucket(std::string_view bucket);

struct RequestUrl {
  net::Endpoint endpoint;  // with the bucket in the host for virtual-hosted requests
  std::string host_header;
  std::string path;    // decoded path as signed ("/bucket/key" or "/key")
  std::string target;  // path and query as sent (canonical encoding)
};

// Builds the request URL for `bucket` (may be empty: service-level) and `key` (may be empty:
// bucket-level). Errors: kInvalidArgument for kVirtual with a non-DNS-compatible bucket.
[[nodiscard]] Result<RequestUrl> build_url(const S3Endpoint& ep, Addressing addressing,
                                           std::string_view bucket, std::string_view key,
                                           const std::vector<QueryParam>& query);

struct Classification {
  Errc errc = Errc::kInternal;
  bool retry = false;
};

// How an S3 error response is handled: `status` the HTTP status, `code` the <Code> of the error
// body ("" when there is none, e.g. HEAD). Retried: 5xx, 429, SlowDown, RequestTimeout,
// InternalError, ServiceUnavailable, Throttling*, ExpiredToken (after the credentials are
// reloaded). Never retried: auth errors (InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied,
// ... -> Errc::kAuth), 404 (kNotFound), 409/412 (kConflict), other 4xx (kInvalidArgument).
Classification classify_response(int status, std::string_view code);

// Full-jitter exponential backoff: uniform in [0, min(max, base * 2^(attempt-1))], attempt >= 1;
// `random01` in [0, 1).
std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base,
                                        std::chrono::milliseconds max, double random01);

}  // namespace ingestor::s3
