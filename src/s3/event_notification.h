#pragma once
// S3 event notifications in AWS's JSON format (eventVersion 2.1): the one record model that
// `ingestor store` renders (here) and the relay parses (event_parse.h). Format:
// /work/shared/reference/aws.md section 3 and docs/formats/store.md ("Notification bodies").
//
// The store POSTs the MinIO-style envelope {"EventName":"s3:ObjectCreated:Put","Key":"b/k",
// "Records":[<record>]} whose record is AWS-shaped (eventName without the "s3:" prefix, key
// form-URL-encoded with '/' kept). Pure functions, thread-safe.
//
// Adding a field: the member below, its JSON in record_object() (event_notification.cc) and its
// read in parse_record() (event_parse.cc). event_notification_test.cc binds every member in its
// round trip, so it stops compiling until the new field is covered.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace ingestor::s3 {

// One record, as written and as read. The parser fills every member from the message (absent
// fields read as ""), so a parsed record does not carry the writer's defaults.
struct S3EventRecord {
  std::string bucket;
  std::string key;  // decoded (the real key bytes)
  uint64_t size = 0;
  std::string etag;        // without quotes ("<hex>" or "<hex>-N"); may be empty (Copy on old S3)
  std::string event_time;  // the wire text, "2026-11-26T09:04:52.123Z" (format_event_time)
  std::string sequencer;   // may be empty
  std::string event_name;  // "ObjectCreated:Put", without the "s3:" prefix
  // Every member from here on has an initializer, so that brace-initializing the fields above
  // (the ones the relay forwards) stays clear of -Wmissing-field-initializers.
  std::string event_version = "2.1";
  std::string event_source = "aws:s3";
  std::string aws_region = "us-east-1";
  std::string principal_id = "ingestor";
  std::string source_ip = "127.0.0.1";
  std::string request_id{};
  std::string host_id{};
  std::string configuration_id{};

  bool operator==(const S3EventRecord&) const = default;
};

// AWS's key encoding in events: application/x-www-form-urlencoded with '/' kept: space -> '+',
// A-Z a-z 0-9 - _ . * / kept, everything else %XX (upper-case hex).
std::string event_key_encode(std::string_view key);
// unquote_plus: '+' -> ' ', %XX -> byte. kInvalidArgument on a truncated or non-hex escape.
[[nodiscard]] Result<std::string> form_url_decode(std::string_view s);
// The inverse of event_key_encode: the same decoder under the name that pairs with it.
[[nodiscard]] inline Result<std::string> event_key_decode(std::string_view encoded) {
  return form_url_decode(encoded);
}

// "2026-11-26T09:04:52.123Z".
std::string format_event_time(std::chrono::system_clock::time_point t);

// One record as a JSON object text.
std::string event_record_json(const S3EventRecord& r);
// The webhook body: {"EventName":"s3:<eventName>","Key":"<bucket>/<key>","Records":[record]}.
std::string event_envelope_json(const S3EventRecord& r);

// The ObjectCreated records of a notification body: parse_s3_notification() (event_parse.h,
// every shape and error it knows) without its test-event flag and skipped count.
[[nodiscard]] Result<std::vector<S3EventRecord>> parse_event_notification(std::string_view body);

}  // namespace ingestor::s3
