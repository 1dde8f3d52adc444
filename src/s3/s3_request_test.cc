#include "s3/s3_request.h"

#include <gtest/gtest.h>

namespace ingestor::s3 {
namespace {

using namespace std::chrono_literals;

TEST(S3Request, ResolveEndpoint) {
  auto aws = resolve_endpoint("", "eu-west-1");
  ASSERT_TRUE(aws);
  EXPECT_TRUE(aws->is_aws);
  EXPECT_TRUE(aws->endpoint.tls);
  EXPECT_EQ(aws->endpoint.host, "s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(aws->endpoint.port, 443);

  auto custom = resolve_endpoint("http://127.0.0.1:9000/", "us-east-1");
  ASSERT_TRUE(custom);
  EXPECT_FALSE(custom->is_aws);
  EXPECT_EQ(custom->base_path, "");

  auto prefixed = resolve_endpoint("https://gw.example/s3/", "us-east-1");
  ASSERT_TRUE(prefixed);
  EXPECT_EQ(prefixed->base_path, "/s3");

  EXPECT_FALSE(resolve_endpoint("", "eu west"));
  EXPECT_FALSE(resolve_endpoint("ftp://x", "us-east-1"));
  EXPECT_FALSE(resolve_endpoint("http://x/?a=b", "us-east-1"));
}

TEST(S3Request, DnsCompatibleBucket) {
  EXPECT_TRUE(dns_compatible_bucket("my-bucket"));
  EXPECT_TRUE(dns_compatible_bucket("a.b.c"));
  EXPECT_TRUE(dns_compatible_bucket("abc"));
  EXPECT_FALSE(dns_compatible_bucket("ab"));
  EXPECT_FALSE(dns_compatible_bucket("My-Bucket"));
  EXPECT_FALSE(dns_compatible_bucket("a..b"));
  EXPECT_FALSE(dns_compatible_bucket("-ab"));
  EXPECT_FALSE(dns_compatible_bucket("ab-"));
  EXPECT_FALSE(dns_compatible_bucket("a_b"));
  EXPECT_FALSE(dns_compatible_bucket("192.168.1.1"));
  EXPECT_FALSE(dns_compatible_bucket(std::string(64, 'a')));
}

TEST(S3Request, PathStyleUrls) {
  auto ep = resolve_endpoint("http://127.0.0.1:9000", "us-east-1").value();
  auto u = build_url(ep, Addressing::kAuto, "bucket", "dir/a b+c~.txt", {}).value();
  EXPECT_EQ(u.endpoint.host, "127.0.0.1");
  EXPECT_EQ(u.host_header, "127.0.0.1:9000");
  EXPECT_EQ(u.path, "/bucket/dir/a b+c~.txt");
  EXPECT_EQ(u.target, "/bucket/dir/a%20b%2Bc~.txt");

  // Keys are never normalized: "//", "." and ".." stay.
  u = build_url(ep, Addressing::kPath, "bucket", "a//./../b", {}).value();
  EXPECT_EQ(u.target, "/bucket/a//./../b");

  // Bucket-level with a sub-resource and sorted, encoded parameters.
  u = build_url(ep, Addressing::kPath, "bucket", "", {{"uploads", "", false}, {"prefix", "a/b c"}})
          .value();
  EXPECT_EQ(u.target, "/bucket?prefix=a%2Fb%20c&uploads=");

  u = build_url(ep, Addressing::kPath, "", "", {}).value();
  EXPECT_EQ(u.target, "/");

  auto prefixed = resolve_endpoint("http://gw:8080/s3", "us-east-1").value();
  u = build_url(prefixed, Addressing::kPath, "b", "k", {}).value();
  EXPECT_EQ(u.target, "/s3/b/k");
}

TEST(S3Request, VirtualHostedUrls) {
  auto aws = resolve_endpoint("", "us-west-2").value();
  auto u = build_url(aws, Addressing::kAuto, "my-bucket", "k/x y", {{"partNumber", "3"}}).value();
  EXPECT_EQ(u.endpoint.host, "my-bucket.s3.us-west-2.amazonaws.com");
  EXPECT_EQ(u.host_header, "my-bucket.s3.us-west-2.amazonaws.com");
  EXPECT_EQ(u.path, "/k/x y");
  EXPECT_EQ(u.target, "/k/x%20y?partNumber=3");

  u = build_url(aws, Addressing::kAuto, "my-bucket", "", {}).value();
  EXPECT_EQ(u.target, "/");

  // Auto falls back to path style for dotted buckets over HTTPS and non-DNS names.
  u = build_url(aws, Addressing::kAuto, "a.b.c", "k", {}).value();
  EXPECT_EQ(u.endpoint.host, "s3.us-west-2.amazonaws.com");
  EXPECT_EQ(u.target, "/a.b.c/k");
  u = build_url(aws, Addressing::kAuto, "Upper_Case", "k", {}).value();
  EXPECT_EQ(u.target, "/Upper_Case/k");

  // Forced virtual on a custom endpoint keeps its port.
  auto minio = resolve_endpoint("http://minio.local:9000", "us-east-1").value();
  u = build_url(minio, Addressing::kVirtual, "logs", "k", {}).value();
  EXPECT_EQ(u.host_header, "logs.minio.local:9000");
  EXPECT_EQ(u.target, "/k");
  EXPECT_FALSE(build_url(minio, Addressing::kVirtual, "Bad_Bucket", "k", {}));
  // Custom endpoints default to path style, as botocore.
  u = build_url(minio, Addressing::kAuto, "logs", "k", {}).value();
  EXPECT_EQ(u.target, "/logs/k");
}

TEST(S3Request, RetryClassification) {
  struct Case {
    int status;
    const char* code;
    Errc errc;
    bool retry;
  };
  const Case cases[] = {
      {500, "InternalError", Errc::kUnavailable, true},
      {503, "SlowDown", Errc::kUnavailable, true},
      {503, "ServiceUnavailable", Errc::kUnavailable, true},
      {502, "", Errc::kUnavailable, true},
      {504, "", Errc::kUnavailable, true},
      {429, "", Errc::kUnavailable, true},
      {400, "RequestTimeout", Errc::kTimeout, true},
      {400, "Throttling", Errc::kUnavailable, true},
      {403, "InvalidAccessKeyId", Errc::kAuth, false},
      {403, "SignatureDoesNotMatch", Errc::kAuth, false},
      {403, "AccessDenied", Errc::kAuth, false},
      {403, "RequestTimeTooSkewed", Errc::kAuth, false},
      {400, "AuthorizationHeaderMalformed", Errc::kAuth, false},
      {403, "", Errc::kAuth, false},             // HEAD: no body
      {400, "ExpiredToken", Errc::kAuth, true},  // after reloading the credentials
      {404, "NoSuchKey", Errc::kNotFound, false},
      {404, "", Errc::kNotFound, false},
      {412, "PreconditionFailed", Errc::kConflict, false},
      {409, "BucketAlreadyExists", Errc::kConflict, false},
      {400, "BadDigest", Errc::kInvalidArgument, false},
      {400, "EntityTooSmall", Errc::kInvalidArgument, false},
      {416, "InvalidRange", Errc::kInvalidArgument, false},
      {501, "NotImplemented", Errc::kUnsupported, false},
      {301, "PermanentRedirect", Errc::kConfig, false},
  };
  for (const auto& c : cases) {
    auto got = classify_response(c.status, c.code);
    EXPECT_EQ(got.errc, c.errc) << c.status << " " << c.code;
    EXPECT_EQ(got.retry, c.retry) << c.status << " " << c.code;
  }
}

TEST(S3Request, BackoffIsJitteredAndCapped) {
  EXPECT_EQ(backoff_delay(1, 100ms, 20s, 0.0), 0ms);
  EXPECT_EQ(backoff_delay(1, 100ms, 20s, 0.5), 50ms);
  EXPECT_EQ(backoff_delay(3, 100ms, 20s, 0.5), 200ms);  // cap 400 ms
  EXPECT_EQ(backoff_delay(4, 100ms, 20s, 0.999), 799ms);
  EXPECT_EQ(backoff_delay(30, 100ms, 20s, 0.5), 10s);  // capped at retry_max
  EXPECT_EQ(backoff_delay(1000, 100ms, 20s, 1.0), 20s);
  EXPECT_EQ(backoff_delay(0, 100ms, 20s, 1.0), 100ms);
}

}  // namespace
}  // namespace ingestor::s3
