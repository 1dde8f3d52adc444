#pragma once
// Reading S3 event notifications as the relay receives them (aws.md section 3), independent of the
// store's emitter (event_notification.h). Accepted shapes:
//  - AWS: {"Records":[{...,"eventName":"ObjectCreated:Put","s3":{...}}]} (S3 -> Lambda, SQS);
//  - MinIO / `ingestor store` webhook:
//  {"EventName":"s3:ObjectCreated:Put","Key":..,"Records":[..]};
//  - SNS: the SNS HTTP message {"Type":"Notification","Message":"<JSON text>"} and the SNS ->
//    Lambda event {"Records":[{"EventSource":"aws:sns","Sns":{"Message":"<JSON text>"}}]}; the
//    Message text is parsed again (one level of wrapping);
//  - the test event {"Event":"s3:TestEvent",...}: no records, test_event = true.
// Records whose eventName is not ObjectCreated:* ("ObjectRemoved:Delete", ...) are counted in
// `skipped`. eventName is accepted with or without MinIO's "s3:" prefix. Only the major
// eventVersion is checked ("2.x"); unknown fields are ignored.
//
// Keys are form-URL-decoded (unquote_plus: '+' is a space, "%2B" is '+', "%2F" is '/').
// Pure functions, thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace ingestor::s3 {

// One ObjectCreated record, in the form the relay forwards it.
struct CreatedObject {
  std::string bucket;
  std::string key;  // decoded
  uint64_t size = 0;
  std::string etag;        // without quotes ("<hex>" or "<hex>-N"); may be empty (Copy on old S3)
  std::string event_time;  // as sent ("2026-11-26T09:04:52.123Z")
  std::string sequencer;   // may be empty
  std::string event_name;  // without the "s3:" prefix
};

struct ParsedNotification {
  bool test_event = false;
  std::vector<CreatedObject> objects;
  size_t skipped = 0;  // records that are not ObjectCreated
};

// Errors: kInvalidArgument naming what is wrong ("Records[1].s3.bucket.name: missing").
[[nodiscard]] Result<ParsedNotification> parse_s3_notification(std::string_view body);

// unquote_plus: '+' -> ' ', %XX -> byte. kInvalidArgument on a truncated or non-hex escape.
[[nodiscard]] Result<std::string> form_url_decode(std::string_view s);

}  // namespace ingestor::s3
