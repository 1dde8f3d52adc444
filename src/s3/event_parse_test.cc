#include "s3/event_parse.h"

#include <gtest/gtest.h>

#include "s3/object_notice.h"

namespace ingestor::s3 {
namespace {

const char* kAwsEvent = R"({"Records":[{
  "eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",
  "eventTime":"2026-11-26T09:04:52.123Z","eventName":"ObjectCreated:Put",
  "userIdentity":{"principalId":"AWS:AIDA"},"requestParameters":{"sourceIPAddress":"203.0.113.5"},
  "responseElements":{"x-amz-request-id":"R","x-amz-id-2":"H"},
  "s3":{"s3SchemaVersion":"1.0","configurationId":"c",
        "bucket":{"name":"my-bucket","ownerIdentity":{"principalId":"A"},"arn":"arn:aws:s3:::my-bucket"},
        "object":{"key":"logs/red+flower%2B1.jpg","size":1024,"eTag":"5eb63bbbe01eeed093cb22bb8f5acdc3",
                  "sequencer":"0055AED6DCD90281E5","unknownField":1}}},
 {"eventVersion":"2.1","eventName":"ObjectRemoved:Delete","eventTime":"2026-11-26T09:04:53.000Z",
  "s3":{"bucket":{"name":"my-bucket"},"object":{"key":"gone","sequencer":"01"}}},
 {"eventVersion":"2.2","eventName":"ObjectCreated:CompleteMultipartUpload",
  "eventTime":"2026-11-26T09:04:54.000Z",
  "s3":{"bucket":{"name":"b2"},"object":{"key":"a%2Fb%3Ac","size":9000000,
        "eTag":"02bbf93df4c65203e3981d8ae07d65cd-2","sequencer":"02"}}}]})";

TEST(EventParse, EveryFieldOfAnAwsRecord) {
  auto r = parse_s3_notification(kAwsEvent);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->test_event);
  EXPECT_EQ(r->skipped, 1u);  // the delete
  ASSERT_EQ(r->objects.size(), 2u);
  const auto& a = r->objects[0];
  EXPECT_EQ(a.bucket, "my-bucket");
  EXPECT_EQ(a.key, "logs/red flower+1.jpg");  // '+' is a space, %2B is '+'
  EXPECT_EQ(a.size, 1024u);
  EXPECT_EQ(a.etag, "5eb63bbbe01eeed093cb22bb8f5acdc3");
  EXPECT_EQ(a.event_time, "2026-11-26T09:04:52.123Z");
  EXPECT_EQ(a.sequencer, "0055AED6DCD90281E5");
  EXPECT_EQ(a.event_name, "ObjectCreated:Put");
  const auto& b = r->objects[1];
  EXPECT_EQ(b.bucket, "b2");
  EXPECT_EQ(b.key, "a/b:c");
  EXPECT_EQ(b.size, 9000000u);
  EXPECT_EQ(b.etag, "02bbf93df4c65203e3981d8ae07d65cd-2");
}

TEST(EventParse, MinioEnvelopeWithPrefixedEventName) {
  auto r = parse_s3_notification(
      R"({"EventName":"s3:ObjectCreated:Put","Key":"b/k 1","Records":[{"eventVersion":"2.0",
      "eventSource":"minio:s3","eventName":"s3:ObjectCreated:Put","eventTime":"t",
      "s3":{"bucket":{"name":"b"},"object":{"key":"k+1","size":"5","eTag":"\"abc\""}}}]})");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->objects.size(), 1u);
  EXPECT_EQ(r->objects[0].key, "k 1");
  EXPECT_EQ(r->objects[0].size, 5u);
  EXPECT_EQ(r->objects[0].etag, "abc");  // quotes stripped
  EXPECT_EQ(r->objects[0].event_name, "ObjectCreated:Put");
  EXPECT_EQ(r->objects[0].sequencer, "");
}

TEST(EventParse, TestEventIsAcknowledgedWithoutRecords) {
  auto r = parse_s3_notification(
      R"({"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2014-10-13T15:57:02.089Z",
          "Bucket":"amzn-s3-demo-bucket","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw"})");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->test_event);
  EXPECT_TRUE(r->objects.empty());
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

TEST(EventParse, SnsHttpMessageWrapping) {
  std::string body = R"({"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:x",)"
                     R"("Subject":"Amazon S3 Notification","Message":)" +
                     json_string(kAwsEvent) + "}";
  auto r = parse_s3_notification(body);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->objects.size(), 2u);
  EXPECT_EQ(r->objects[0].key, "logs/red flower+1.jpg");
}

TEST(EventParse, SnsToLambdaWrapping) {
  std::string body = R"({"Records":[{"EventSource":"aws:sns","EventVersion":"1.0","Sns":{)"
                     R"("Type":"Notification","Message":)" +
                     json_string(kAwsEvent) + R"(}},{"EventSource":"aws:sns","Sns":{"Message":)" +
                     json_string(R"({"Event":"s3:TestEvent"})") + "}}]}";
  auto r = parse_s3_notification(body);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->objects.size(), 2u);
  EXPECT_TRUE(r->test_event);
}

TEST(EventParse, MalformedInputIsRejectedWithTheReason) {
  struct Case {
    const char* body;
    const char* expect;
  } cases[] = {
      {"not json", "not JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"foo":1})", "no Records"},
      {R"({"Records":{}})", "not an array"},
      {R"({"Records":[1]})", "Records[0]: not an object"},
      {R"({"Records":[{"eventName":"ObjectCreated:Put"}]})", "Records[0].s3: missing"},
      {R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{},"object":{"key":"k","size":1}}}]})",
       "bucket.name: missing"},
      {R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"size":1}}}]})",
       "object.key: missing"},
      {R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]})",
       "object.size: missing"},
      {R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k","size":-1}}}]})",
       "not a byte count"},
      {R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k%zz","size":1}}}]})",
       "bad %-escape"},
      {R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k%4","size":1}}}]})",
       "truncated"},
      {R"({"Records":[{"eventVersion":"3.0","eventName":"ObjectCreated:Put"}]})",
       "unsupported major version"},
      {R"({"Type":"Notification","Message":"{not json"})", "Message is not JSON"},
      {R"({"Records":[{"s3":{}}]})", "eventName: missing"},
      {R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"a%83b","size":1}}}]})",
       "object.key: not UTF-8 once decoded"},
  };
  for (const auto& c : cases) {
    auto r = parse_s3_notification(c.body);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos)
        << c.body << " -> " << r.error().message;
  }
}

// Found by fuzz_event_parse: a key escaping a byte that is not UTF-8 ("%83") was accepted, and the
// relay then POSTed it to the consumer in a body that is not JSON (400: the object was never
// delivered, nor were the records after it in the notification).
TEST(EventParse, EveryKeyReadCanBeForwardedAsJson) {
  for (const char* key : {"caf%C3%A9+%E2%82%AC", "%F0%9F%98%80", "%C3", "%ED%A0%80", "%C0%AF"}) {
    const std::string body = std::string(R"({"Records":[{"eventName":"ObjectCreated:Put","s3":)") +
                             R"({"bucket":{"name":"b"},"object":{"key":")" + key +
                             R"(","size":1,"eTag":"e"}}}]})";
    auto r = parse_s3_notification(body);
    if (!r) {
      EXPECT_NE(r.error().message.find("not UTF-8"), std::string::npos) << r.error().message;
      continue;
    }
    ASSERT_EQ(r->objects.size(), 1u);
    const ObjectNotice n{r->objects[0].bucket, r->objects[0].key, 1, "e", "", ""};
    auto back = parse_notice_json(notice_json(n));
    ASSERT_TRUE(back) << key << ": " << back.error().message;
    EXPECT_EQ(back->key, n.key);
  }
  EXPECT_TRUE(
      parse_s3_notification(R"({"Records":[{"eventName":"ObjectCreated:Put","s3":)"
                            R"({"bucket":{"name":"b"},"object":{"key":"caf%C3%A9","size":1}}}]})"));
}

TEST(EventParse, FormUrlDecode) {
  EXPECT_EQ(*form_url_decode("a+b%2Bc%20d%2fe"), "a b+c d/e");
  EXPECT_EQ(*form_url_decode("%E2%82%AC"), "\xE2\x82\xAC");
  EXPECT_FALSE(form_url_decode("%"));
  EXPECT_FALSE(form_url_decode("%G1"));
}

TEST(ObjectNotice, RoundTripAndValidation) {
  ObjectNotice n{"b", "dir/a b+c", 42, "abc-2", "2026-01-01T00:00:00.000Z", "00FF"};
  auto back = parse_notice_json(notice_json(n));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->bucket, "b");
  EXPECT_EQ(back->key, "dir/a b+c");
  EXPECT_EQ(back->size, 42u);
  EXPECT_EQ(back->etag, "abc-2");
  EXPECT_EQ(back->event_time, n.event_time);
  EXPECT_EQ(back->sequencer, "00FF");

  EXPECT_FALSE(parse_notice_json("{"));
  EXPECT_FALSE(parse_notice_json(R"({"key":"k","size":1,"etag":"e"})"));
  EXPECT_FALSE(parse_notice_json(R"({"bucket":"b","size":1,"etag":"e"})"));
  EXPECT_FALSE(parse_notice_json(R"({"bucket":"b","key":"k","etag":"e"})"));
  EXPECT_FALSE(parse_notice_json(R"({"bucket":"b","key":"k","size":1})"));
  EXPECT_FALSE(parse_notice_json(R"({"bucket":"b","key":"k","size":-1,"etag":"e"})"));
  EXPECT_FALSE(parse_notice_json(R"({"bucket":"b","key":"k","size":1.5,"etag":"e"})"));
  EXPECT_FALSE(parse_notice_json(R"({"bucket":1,"key":"k","size":1,"etag":"e"})"));
  EXPECT_FALSE(parse_notice_json(R"({"bucket":"","key":"k","size":1,"etag":"e"})"));
  auto e = parse_notice_json(R"({"bucket":"b","key":"k","etag":"e"})");
  EXPECT_NE(e.error().message.find("'size' is missing"), std::string::npos);
}

TEST(ObjectNotice, IdempotencyKeyDependsOnEveryIdentityField) {
  ObjectNotice a{"b", "k", 1, "e", "t", "s"};
  ObjectNotice b = a;
  b.event_time = "other";  // not part of the identity
  b.size = 2;
  EXPECT_EQ(idempotency_key(a), idempotency_key(b));
  EXPECT_EQ(idempotency_key(a).size(), 64u);
  for (auto f :
       {&ObjectNotice::bucket, &ObjectNotice::key, &ObjectNotice::etag, &ObjectNotice::sequencer}) {
    ObjectNotice c = a;
    c.*f += "x";
    EXPECT_NE(idempotency_key(a), idempotency_key(c));
  }
  // Field boundaries matter: ("ab","c") != ("a","bc").
  ObjectNotice d{"ab", "c", 1, "e", "", "s"}, e{"a", "bc", 1, "e", "", "s"};
  EXPECT_NE(idempotency_key(d), idempotency_key(e));
}

TEST(Signature, SignAndVerify) {
  // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
  EXPECT_EQ(sign_body("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  std::string body = R"({"bucket":"b"})";
  std::string sig = sign_body("s3cret", body);
  EXPECT_TRUE(verify_signature("s3cret", body, sig));
  std::string upper = "sha256=";
  for (char c : sig.substr(7)) upper += static_cast<char>(std::toupper(c));
  EXPECT_TRUE(verify_signature("s3cret", body, upper));
  EXPECT_FALSE(verify_signature("other", body, sig));
  EXPECT_FALSE(verify_signature("s3cret", body + " ", sig));
  EXPECT_FALSE(verify_signature("s3cret", body, sig.substr(7)));  // no "sha256=" prefix
  EXPECT_FALSE(verify_signature("s3cret", body, "sha256="));
  EXPECT_FALSE(verify_signature("s3cret", body, sig.substr(0, sig.size() - 1)));
}

}  // namespace
}  // namespace ingestor::s3
