#pragma once
// The relay -> consumer wire format (docs/formats/consumer.md, "POST /objects"):
//
//   POST /objects
//   Content-Type: application/json
//   Idempotency-Key: <hex sha256 of bucket \0 key \0 etag \0 sequencer>
//   X-Ingestor-Signature: sha256=<hex HMAC-SHA256(secret, body)>      (when a secret is set)
//
//   {"bucket":"b","key":"decoded key","size":123,"etag":"<hex>[-N]","eventTime":"...",
//    "sequencer":"..."}
//
// bucket, key, size and etag are required; eventTime and sequencer are optional strings.
// Pure functions, thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ingestor::s3 {

struct ObjectNotice {
  std::string bucket;
  std::string key;  // the real key bytes (decoded)
  uint64_t size = 0;
  std::string etag;  // without quotes
  std::string event_time;
  std::string sequencer;
};

inline constexpr std::string_view kSignatureHeader = "X-Ingestor-Signature";
inline constexpr std::string_view kIdempotencyHeader = "Idempotency-Key";

// The JSON body (compact, fields in the order above).
std::string notice_json(const ObjectNotice& n);
// Parses and validates a body. kInvalidArgument: not JSON, not an object, a required field
// missing or of the wrong type, an empty bucket or key, a negative or fractional size.
[[nodiscard]] Result<ObjectNotice> parse_notice_json(std::string_view body);

// Hex SHA-256 of bucket, key, etag and sequencer joined by NUL bytes.
std::string idempotency_key(const ObjectNotice& n);

// "sha256=<hex HMAC-SHA256(secret, body)>".
std::string sign_body(std::string_view secret, std::string_view body);
// True when `header` is exactly sign_body(secret, body) (hex in either case), compared in
// constant time.
bool verify_signature(std::string_view secret, std::string_view body, std::string_view header);

}  // namespace ingestor::s3
