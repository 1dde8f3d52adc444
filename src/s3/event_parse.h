#pragma once
// Reading S3 event notifications as the relay receives them (aws.md section 3) into the record
// model the store writes (event_notification.h). Accepted shapes:
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
// Keys are form-URL-decoded (unquote_plus: '+' is a space, "%2B" is '+', "%2F" is '/') and must
// then be UTF-8, as S3 keys are (the relay forwards them in JSON). The
// fields the relay does not forward (eventSource, awsRegion, userIdentity, requestParameters,
// responseElements, configurationId) are read when they are strings and otherwise left empty:
// an emitter's odd provenance field must not cost the delivery of its object.
// Pure functions, thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "s3/event_notification.h"

namespace ingestor::s3 {

struct ParsedNotification {
  bool test_event = false;
  std::vector<S3EventRecord> objects;  // the ObjectCreated records, in order
  size_t skipped = 0;                  // records that are not ObjectCreated
};

// Errors: kInvalidArgument naming what is wrong ("Records[1].s3.bucket.name: missing").
[[nodiscard]] Result<ParsedNotification> parse_s3_notification(std::string_view body);

}  // namespace ingestor::s3
