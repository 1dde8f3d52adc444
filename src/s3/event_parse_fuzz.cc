// Fuzz target `event_parse` (fuzz/README.md): S3 event notification bodies as the relay receives
// them (event_parse.h): AWS and MinIO shapes, SNS wrapping (HTTP message and SNS -> Lambda), test
// events. The input is the body.
//
// Invariants: an error is kInvalidArgument; every record read is an ObjectCreated one with a
// bucket and a non-empty key; rendering a record with event_envelope_json() and parsing that
// gives the same record back (the store writes what the relay reads); the key's event encoding
// decodes to the key.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/fuzz_check.h"
#include "s3/event_notification.h"
#include "s3/event_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ingestor;
  using namespace ingestor::s3;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_s3_notification(body);
  if (!parsed) {
    INGESTOR_FUZZ_CHECK(parsed.error().code == Errc::kInvalidArgument, parsed.error().message);
    return 0;
  }
  auto objects = parse_event_notification(body);
  INGESTOR_FUZZ_CHECK(objects.has_value() && *objects == parsed->objects);
  for (const S3EventRecord& r : parsed->objects) {
    INGESTOR_FUZZ_CHECK(r.event_name.starts_with("ObjectCreated:"), r.event_name);
    INGESTOR_FUZZ_CHECK(!r.bucket.empty() && !r.key.empty());
    auto key = event_key_decode(event_key_encode(r.key));
    INGESTOR_FUZZ_CHECK(key.has_value() && *key == r.key, r.key);

    const std::string envelope = event_envelope_json(r);
    auto again = parse_s3_notification(envelope);
    INGESTOR_FUZZ_CHECK(again.has_value(), again.error().message + "\n" + envelope);
    INGESTOR_FUZZ_CHECK(again->objects.size() == 1 && again->skipped == 0, envelope);
    S3EventRecord expected = r;
    // The parser strips one pair of quotes from eTag (S3 sends it unquoted, some emitters do
    // not); a value that was quoted twice keeps one pair, which a second reading strips.
    if (expected.etag.size() >= 2 && expected.etag.front() == '"' && expected.etag.back() == '"') {
      expected.etag = expected.etag.substr(1, expected.etag.size() - 2);
    }
    INGESTOR_FUZZ_CHECK(again->objects[0] == expected, envelope);
    (void)event_record_json(r);
  }
  return 0;
}
