#pragma once
// S3 event notifications in AWS's JSON format (eventVersion 2.1), as `ingestor store` emits them
// and the relay reads them. Format: /work/shared/reference/aws.md section 3 and
// docs/formats/store.md ("Notification bodies").
//
// The store POSTs the MinIO-style envelope {"EventName":"s3:ObjectCreated:Put","Key":"b/k",
// "Records":[<record>]} whose record is AWS-shaped (eventName without the "s3:" prefix, key
// form-URL-encoded with '/' kept). parse_event_notification() accepts that envelope, a plain
// {"Records":[...]} (AWS Lambda) and ignores s3:TestEvent bodies (no Records). Pure functions.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace ingestor::s3 {

struct S3EventRecord {
  std::string event_version = "2.1";
  std::string event_source = "aws:s3";
  std::string aws_region = "us-east-1";
  std::chrono::system_clock::time_point event_time;
  std::string event_name;  // "ObjectCreated:Put", without the "s3:" prefix
  std::string principal_id = "ingestor";
  std::string source_ip = "127.0.0.1";
  std::string request_id;
  std::string host_id;
  std::string configuration_id;
  std::string bucket;
  std::string key;  // decoded (the real key bytes)
  uint64_t size = 0;
  std::string etag;  // without quotes; "<hex>-N" for multipart
  std::string sequencer;
};

// AWS's key encoding in events: application/x-www-form-urlencoded with '/' kept: space -> '+',
// A-Z a-z 0-9 - _ . * / kept, everything else %XX (upper-case hex).
std::string event_key_encode(std::string_view key);
// The inverse (unquote_plus): '+' -> space, %XX decoded. nullopt on a malformed escape.
Result<std::string> event_key_decode(std::string_view encoded);

// "2026-11-26T09:04:52.123Z".
std::string format_event_time(std::chrono::system_clock::time_point t);

// One record as a JSON object text.
std::string event_record_json(const S3EventRecord& r);
// The webhook body: {"EventName":"s3:<eventName>","Key":"<bucket>/<key>","Records":[record]}.
std::string event_envelope_json(const S3EventRecord& r);

// The records of a notification body (envelope, plain Records, or an SNS-wrapped "Message"
// string holding either). A test event yields an empty vector. kInvalidArgument for bodies that
// are not JSON or whose records lack bucket/key.
[[nodiscard]] Result<std::vector<S3EventRecord>> parse_event_notification(std::string_view body);

}  // namespace ingestor::s3
