#include "s3/event_notification.h"

#include <gtest/gtest.h>

#include "s3/event_parse.h"

namespace ingestor::s3 {
namespace {

// A record with every member away from its default, so a member the renderer or the parser
// drops shows up as a difference.
S3EventRecord every_field_set(std::string key) {
  S3EventRecord r;
  // One name per member: a member added to S3EventRecord stops this from compiling until it is
  // given a value here, and so goes through the round trips below.
  auto& [bucket, key_, size, etag, event_time, sequencer, event_name, event_version, event_source,
         aws_region, principal_id, source_ip, request_id, host_id, configuration_id] = r;
  bucket = "my-bucket";
  key_ = std::move(key);
  size = 9000000001ull;
  etag = "02bbf93df4c65203e3981d8ae07d65cd-2";
  event_time = "2026-11-26T09:04:52.123Z";
  sequencer = "0018B2C3D4E5F601";
  event_name = "ObjectCreated:CompleteMultipartUpload";
  event_version = "2.2";
  event_source = "minio:s3";
  aws_region = "eu-west-3";
  principal_id = "AKIDEXAMPLE";
  source_ip = "203.0.113.5";
  request_id = "1A00000000000001";
  host_id = "host-2";
  configuration_id = "rule-1";
  return r;
}

const char* const kKeys[] = {
    "plain.txt",
    "dir/a b.txt",                                // space <-> '+'
    "a+b/c+ d",                                   // a literal '+' is %2B on the wire
    "100%/%2B%zz%",                               // '%' and things that look like escapes
    "caf\xc3\xa9/\xe2\x82\xac \xf0\x9f\x8c\xb8",  // UTF-8
    "*-_.~!'()=&?#[]@$,;:",
    "a//b/./../",
    " lead and trail ",
    "tab\tnl\nbyte\x7f\x01",
};

TEST(EventNotification, EnvelopeRoundTripKeepsEveryField) {
  for (const char* key : kKeys) {
    S3EventRecord r = every_field_set(key);
    auto back = parse_s3_notification(event_envelope_json(r));
    ASSERT_TRUE(back) << key << ": " << back.error().message;
    EXPECT_FALSE(back->test_event);
    EXPECT_EQ(back->skipped, 0u);
    ASSERT_EQ(back->objects.size(), 1u) << key;
    EXPECT_EQ(back->objects[0], r) << key;
    EXPECT_EQ(back->objects[0].key, key);
  }
}

TEST(EventNotification, SeveralRecordsRoundTripInOrder) {
  std::vector<S3EventRecord> records;
  std::string body = R"({"Records":[)";
  for (const char* key : kKeys) {
    records.push_back(every_field_set(key));
    records.back().size = records.size();
    records.back().sequencer = "00" + std::to_string(records.size());
    if (records.size() > 1) body += ',';
    body += event_record_json(records.back());
  }
  body += "]}";
  auto back = parse_s3_notification(body);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->objects, records);
  auto plain = parse_event_notification(body);
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(*plain, records);
}

TEST(EventNotification, WriterDefaultsRoundTrip) {
  S3EventRecord r;
  r.bucket = "b";
  r.key = "k";
  r.event_name = "ObjectCreated:Put";
  r.event_time = format_event_time(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1795683892123)));
  EXPECT_EQ(r.event_time, "2026-11-26T09:04:52.123Z");
  auto back = parse_s3_notification(event_envelope_json(r));
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->objects.size(), 1u);
  EXPECT_EQ(back->objects[0], r);
}

// The store's webhook body, byte for byte: relays, MinIO-aware tools and the outbox rows of
// existing stores see exactly this text.
TEST(EventNotification, EnvelopeBytes) {
  S3EventRecord r;
  r.bucket = "bkt";
  r.key = "dir/a b+\xc3\xa9.txt";
  r.size = 11;
  r.etag = "5eb63bbbe01eeed093cb22bb8f5acdc3";
  r.event_time = "2026-11-26T09:04:52.123Z";
  r.sequencer = "0018B2C3D4E5F601";
  r.event_name = "ObjectCreated:Put";
  r.principal_id = "AKID";
  r.request_id = "1A00000000000001";
  r.host_id = "1A00000000000001";
  r.configuration_id = "ingestor-webhook";
  EXPECT_EQ(
      event_envelope_json(r),
      R"({"EventName":"s3:ObjectCreated:Put","Key":"bkt/dir/a b+é.txt","Records":[{)"
      R"("eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",)"
      R"("eventTime":"2026-11-26T09:04:52.123Z","eventName":"ObjectCreated:Put",)"
      R"("userIdentity":{"principalId":"AKID"},"requestParameters":{"sourceIPAddress":"127.0.0.1"},)"
      R"("responseElements":{"x-amz-request-id":"1A00000000000001","x-amz-id-2":"1A00000000000001"},)"
      R"("s3":{"s3SchemaVersion":"1.0","configurationId":"ingestor-webhook",)"
      R"("bucket":{"name":"bkt","ownerIdentity":{"principalId":"AKID"},"arn":"arn:aws:s3:::bkt"},)"
      R"("object":{"key":"dir/a+b%2B%C3%A9.txt","size":11,"eTag":"5eb63bbbe01eeed093cb22bb8f5acdc3",)"
      R"("sequencer":"0018B2C3D4E5F601"}}}]})");
}

TEST(EventNotification, ProvenanceFieldsOfAnotherTypeReadAsEmpty) {
  auto back = parse_s3_notification(
      R"({"Records":[{"eventName":"ObjectCreated:Put","eventSource":1,"awsRegion":null,)"
      R"("userIdentity":"x","requestParameters":{"sourceIPAddress":[1]},"responseElements":7,)"
      R"("s3":{"configurationId":{},"bucket":{"name":"b"},"object":{"key":"k","size":1}}}]})");
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->objects.size(), 1u);
  const S3EventRecord& r = back->objects[0];
  EXPECT_EQ(r.event_source, "");
  EXPECT_EQ(r.aws_region, "");
  EXPECT_EQ(r.principal_id, "");
  EXPECT_EQ(r.source_ip, "");
  EXPECT_EQ(r.request_id, "");
  EXPECT_EQ(r.configuration_id, "");
  EXPECT_EQ(r.event_version, "");
}

}  // namespace
}  // namespace ingestor::s3
