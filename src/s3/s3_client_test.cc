// S3Client against a scripted fake S3 on loopback that verifies every signature with the
// project's SigV4 verifier.

#include "s3/s3_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "base/hash.h"
#include "net/http_server.h"

namespace ingestor::s3 {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "s3_client_test.XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

net::HttpResponse xml(int status, const std::string& body) {
  return net::HttpResponse::text(status, body, "application/xml");
}

net::HttpResponse s3_error(int status, const std::string& code, const std::string& msg) {
  return xml(status, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code +
                         "</Code><Message>" + msg + "</Message><RequestId>RID</RequestId></Error>");
}

struct FakeS3 {
  FakeS3() : pool(1) {
    pool.start();
    net::HttpServerOptions o;
    o.bind = "127.0.0.1";
    o.body_limit = 64 << 20;
    server = std::make_unique<net::HttpServer>(
        pool, o, [this](net::HttpRequest&& req, net::Respond respond) {
          std::lock_guard lock(mu);
          verify(req);
          seen.push_back(req);
          if (script.empty()) return respond(net::HttpResponse::text(200, ""));
          auto r = std::move(script.front());
          script.pop_front();
          respond(std::move(r));
        });
    EXPECT_TRUE(server->start());
  }
  ~FakeS3() {
    server->stop();
    pool.stop();
  }

  void verify(const net::HttpRequest& req) {
    SigningRequest sr;
    sr.method = req.method;
    sr.path = percent_decode(req.path, false).value_or("?");
    sr.query = parse_query(req.query);
    for (const auto& [n, v] : req.headers) sr.headers.push_back({n, v});
    auto auth = verify_request(
        sr,
        [](std::string_view akid) -> std::optional<Credentials> {
          if (akid != "AKIDTEST") return std::nullopt;
          return Credentials{"AKIDTEST", "secret", ""};
        },
        std::chrono::system_clock::now(), VerifyOptions{"us-east-1"});
    if (!auth) {
      auth_errors.push_back(auth.error().message);
    } else if (auth->payload_mode == PayloadMode::kSha256 &&
               auth->payload_sha256 != sha256_hex(req.body)) {
      auth_errors.push_back("payload hash mismatch");
    }
  }

  void add(net::HttpResponse r) {
    std::lock_guard lock(mu);
    script.push_back(std::move(r));
  }
  std::vector<net::HttpRequest> requests() {
    std::lock_guard lock(mu);
    return seen;
  }
  std::vector<std::string> errors() {
    std::lock_guard lock(mu);
    return auth_errors;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }

  net::IoPool pool;
  std::unique_ptr<net::HttpServer> server;
  std::mutex mu;
  std::deque<net::HttpResponse> script;
  std::vector<net::HttpRequest> seen;
  std::vector<std::string> auth_errors;
};

struct StaticSource : CredentialsSource {
  Result<Credentials> get() override { return Credentials{"AKIDTEST", "secret", ""}; }
  void invalidate() override { ++invalidated; }
  int invalidated = 0;
};

struct Fixture {
  explicit Fixture(const std::string& endpoint = {},
                   BodyChecksum checksum = BodyChecksum::kContentMd5) {
    S3ClientOptions o;
    o.endpoint = endpoint.empty() ? s3.url() : endpoint;
    o.body_checksum = checksum;
    o.credentials = creds;
    o.sleep = [this](std::chrono::milliseconds d) { sleeps.push_back(d); };
    o.http.timeout = 5s;
    client = S3Client::create(o).value();
  }
  FakeS3 s3;
  std::shared_ptr<StaticSource> creds = std::make_shared<StaticSource>();
  std::vector<std::chrono::milliseconds> sleeps;
  std::unique_ptr<S3Client> client;
};

TEST(S3Client, PutObjectIsSignedWithMd5AndConditions) {
  Fixture f;
  auto ok = xml(200, "");
  ok.headers.emplace_back("ETag", "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"");
  f.s3.add(ok);
  PutObjectRequest req{"bucket",     "dir/a b+c.txt",       Body::memory("hello world"),
                       "text/plain", {{"origin", "host1"}}, true};
  auto etag = f.client->put_object(req);
  ASSERT_TRUE(etag) << etag.error().describe();
  EXPECT_EQ(*etag, "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"");
  EXPECT_TRUE(f.s3.errors().empty()) << f.s3.errors()[0];
  auto seen = f.s3.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "PUT");
  EXPECT_EQ(seen[0].path, "/bucket/dir/a%20b%2Bc.txt");
  EXPECT_EQ(seen[0].body, "hello world");
  EXPECT_EQ(*seen[0].header("Content-MD5"), base64_encode(md5("hello world")));
  EXPECT_EQ(*seen[0].header("If-None-Match"), "*");
  EXPECT_EQ(*seen[0].header("x-amz-meta-origin"), "host1");
  EXPECT_EQ(*seen[0].header("Content-Type"), "text/plain");
  EXPECT_EQ(*seen[0].header("x-amz-content-sha256"), sha256_hex("hello world"));
}

TEST(S3Client, Crc32cChecksumReplacesContentMd5AndThePayloadSignature) {
  Fixture f({}, BodyChecksum::kCrc32c);
  f.s3.add(xml(200, ""));
  f.s3.add(xml(200,
               "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
               "<UploadId>up1</UploadId></InitiateMultipartUploadResult>"));
  auto ok = xml(200, "");
  ok.headers.emplace_back("ETag", "\"p1\"");
  f.s3.add(ok);
  ASSERT_TRUE(f.client->put_object({"b", "k", Body::memory("hello world"), "", {}, true}));
  ASSERT_EQ(f.client->create_multipart_upload("b", "k").value(), "up1");
  auto part = f.client->upload_part({"b", "k", "up1", 3, Body::memory("hello world")});
  ASSERT_TRUE(part) << part.error().describe();
  EXPECT_EQ(part->part_number, 3);
  EXPECT_EQ(part->etag, "\"p1\"");
  EXPECT_EQ(part->checksum_crc32c, "yZRlqg==");  // CRC32C("hello world") = 0xc99465aa

  auto seen = f.s3.requests();
  ASSERT_EQ(seen.size(), 3u);
  for (size_t i : {0u, 2u}) {  // the two bodies: checksum, no MD5, payload not hashed
    EXPECT_EQ(*seen[i].header("x-amz-checksum-crc32c"), "yZRlqg==");
    EXPECT_EQ(*seen[i].header("x-amz-sdk-checksum-algorithm"), "CRC32C");
    EXPECT_FALSE(seen[i].header("Content-MD5"));
    EXPECT_EQ(*seen[i].header("x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
  }
  // S3 refuses part checksums unless the upload declared the algorithm.
  EXPECT_EQ(*seen[1].header("x-amz-checksum-algorithm"), "CRC32C");
}

TEST(S3Client, PutObjectFromAFileRange) {
  Fixture f;
  TempDir dir;
  std::string data(100000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  std::ofstream(dir.path + "/f", std::ios::binary) << data;
  auto part = std::string_view(data).substr(10, 50000);
  auto r =
      f.client->upload_part({"b", "k", "up1", 7, Body::file_range(dir.path + "/f", 10, 50000)});
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_TRUE(f.s3.errors().empty());
  auto seen = f.s3.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].query, "partNumber=7&uploadId=up1");
  EXPECT_EQ(seen[0].body, part);
  EXPECT_EQ(*seen[0].header("Content-MD5"), base64_encode(md5(part)));
  EXPECT_EQ(*seen[0].header("x-amz-content-sha256"), sha256_hex(part));

  // A range past the end of the file is a local error, nothing is sent.
  r = f.client->upload_part({"b", "k", "up1", 8, Body::file_range(dir.path + "/f", 90000, 20000)});
  ASSERT_FALSE(r);
  EXPECT_EQ(f.s3.requests().size(), 1u);
}

TEST(S3Client, RetriesThrottlingAndServerErrorsWithBackoff) {
  Fixture f;
  f.s3.add(s3_error(503, "SlowDown", "Please reduce your request rate."));
  f.s3.add(s3_error(500, "InternalError", "oops"));
  auto ok = xml(200, "");
  ok.headers.emplace_back("ETag", "\"e\"");
  f.s3.add(ok);
  auto r = f.client->put_object({"b", "k", Body::memory("x"), "", {}, false});
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(f.s3.requests().size(), 3u);
  ASSERT_EQ(f.sleeps.size(), 2u);
  EXPECT_LE(f.sleeps[0], 100ms);
  EXPECT_LE(f.sleeps[1], 200ms);
  EXPECT_TRUE(f.s3.errors().empty());  // each attempt is signed afresh

  // Attempts run out: the last error, with the count.
  for (int i = 0; i < 4; ++i) f.s3.add(s3_error(503, "ServiceUnavailable", "busy"));
  r = f.client->put_object({"b", "k", Body::memory("x"), "", {}, false});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().attempts, 4);
  EXPECT_EQ(r.error().errc, Errc::kUnavailable);
  EXPECT_TRUE(r.error().retryable());
  EXPECT_EQ(r.error().describe(),
            "PutObject b/k: 503 ServiceUnavailable: busy (request id RID) after 4 attempts");
}

TEST(S3Client, AuthErrorsAndPreconditionsAreNotRetried) {
  Fixture f;
  f.s3.add(s3_error(403, "SignatureDoesNotMatch",
                    "The request signature we calculated does "
                    "not match the signature you provided."));
  auto r = f.client->put_object({"b", "k", Body::memory("x"), "", {}, false});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errc, Errc::kAuth);
  EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
  EXPECT_EQ(r.error().http_status, 403);
  EXPECT_EQ(r.error().attempts, 1);
  EXPECT_FALSE(r.error().retryable());

  f.s3.add(s3_error(412, "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold"));
  r = f.client->put_object({"b", "k", Body::memory("x"), "", {}, true});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().precondition_failed());
  EXPECT_EQ(r.error().errc, Errc::kConflict);
  EXPECT_EQ(r.error().attempts, 1);
  EXPECT_TRUE(f.sleeps.empty());

  // ExpiredToken: the credentials are reloaded and the request retried.
  f.s3.add(s3_error(400, "ExpiredToken", "The provided token has expired."));
  r = f.client->put_object({"b", "k", Body::memory("x"), "", {}, false});
  ASSERT_TRUE(r);
  EXPECT_EQ(f.creds->invalidated, 1);
}

TEST(S3Client, CompleteMultipartUploadTreatsA200ErrorAsRetryable) {
  Fixture f;
  f.s3.add(xml(200, "\n \n<Error><Code>InternalError</Code><Message>try again</Message></Error>"));
  f.s3.add(xml(200,
               "<CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
               "<ETag>\"abc-2\"</ETag></CompleteMultipartUploadResult>"));
  auto r = f.client->complete_multipart_upload("b", "k", "u",
                                               {{1, "\"p1\"", ""}, {2, "\"p2\"", ""}}, true);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(*r, "\"abc-2\"");
  auto seen = f.s3.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].method, "POST");
  EXPECT_EQ(seen[1].query, "uploadId=u");
  EXPECT_EQ(*seen[1].header("If-None-Match"), "*");
  EXPECT_NE(seen[1].body.find("<Part><PartNumber>2</PartNumber><ETag>\"p2\"</ETag></Part>"),
            std::string::npos);
  EXPECT_TRUE(f.s3.errors().empty());
}

TEST(S3Client, GetObjectRangeToFileWithChecks) {
  Fixture f;
  TempDir dir;
  auto partial = net::HttpResponse::text(206, "cdef", "binary/octet-stream");
  partial.headers.emplace_back("Content-Range", "bytes 2-5/10");
  partial.headers.emplace_back("ETag", "\"e1\"");
  f.s3.add(partial);
  GetObjectRequest req;
  req.bucket = "b";
  req.key = "k";
  req.path = dir.path + "/out";
  req.range = {2, 5};
  req.if_match = "\"e1\"";
  req.expected_size = 10;
  req.fsync = true;
  auto r = f.client->get_object(req);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->size, 10u);
  EXPECT_EQ(r->content_length, 4u);
  std::stringstream got;
  got << std::ifstream(req.path).rdbuf();
  EXPECT_EQ(got.str(), "cdef");
  auto seen = f.s3.requests();
  EXPECT_EQ(*seen[0].header("Range"), "bytes=2-5");
  EXPECT_EQ(*seen[0].header("If-Match"), "\"e1\"");

  // A server that answers with another ETag or range is caught.
  auto other = partial;
  other.headers[2].second = "\"e2\"";
  f.s3.add(other);
  r = f.client->get_object(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errc, Errc::kCorrupt);
  auto shifted = partial;
  shifted.headers[1].second = "bytes 3-6/10";
  f.s3.add(shifted);
  r = f.client->get_object(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errc, Errc::kCorrupt);

  // A retried download starts the file again.
  f.s3.add(s3_error(500, "InternalError", "x"));
  f.s3.add(partial);
  r = f.client->get_object(req);
  ASSERT_TRUE(r);
  std::stringstream again;
  again << std::ifstream(req.path).rdbuf();
  EXPECT_EQ(again.str(), "cdef");
}

TEST(S3Client, GetObjectHashesTheBodyOnItsWayToTheFile) {
  // Sizes around the 64-byte MD5 block and bodies larger than the client's 256 KiB read chunk;
  // the first piece of a body follows the response header in the same read, so pieces start
  // at odd offsets and blocks straddle them.
  Fixture f;
  TempDir dir;
  for (size_t size : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{1000003},
                      size_t{4 * 1024 * 1024 + 17}}) {
    std::string data(size, '\0');
    for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 131) ^ (i >> 9));
    auto ok = net::HttpResponse::text(200, data, "binary/octet-stream");
    ok.headers.emplace_back("ETag", "\"" + to_hex(md5(data)) + "\"");
    f.s3.add(ok);
    GetObjectRequest req;
    req.bucket = "b";
    req.key = "k";
    req.path = dir.path + "/out";
    req.md5 = true;
    auto r = f.client->get_object(req);
    ASSERT_TRUE(r) << size << ": " << r.error().describe();
    ASSERT_TRUE(r->body_md5) << size;
    EXPECT_EQ(to_hex(*r->body_md5), to_hex(md5(data))) << size;
    std::stringstream got;
    got << std::ifstream(req.path, std::ios::binary).rdbuf();
    EXPECT_EQ(got.str().size(), size);
    EXPECT_TRUE(got.str() == data) << size;
  }
  // Without md5 nothing is hashed.
  f.s3.add(net::HttpResponse::text(200, "abc", "binary/octet-stream"));
  GetObjectRequest plain;
  plain.bucket = "b";
  plain.key = "k";
  plain.path = dir.path + "/plain";
  auto r = f.client->get_object(plain);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_FALSE(r->body_md5);
}

namespace {
std::string checksum_of(ChecksumAlgorithm a, std::string_view data) {
  Checksummer c(a);
  c.update(data);
  return c.finish_base64();
}
}  // namespace

TEST(S3Client, GetObjectChecksTheObjectsOwnChecksumInsteadOfTheMd5) {
  Fixture f;
  TempDir dir;
  std::string data(1000003, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 131) ^ (i >> 9));
  auto ok = net::HttpResponse::text(200, data, "binary/octet-stream");
  ok.headers.emplace_back("ETag", "\"" + to_hex(md5(data)) + "\"");
  GetObjectRequest req;
  req.bucket = "b";
  req.key = "k";
  req.path = dir.path + "/out";
  req.md5 = true;
  req.checksum = true;
  auto get = [&](net::HttpResponse resp) {
    f.s3.add(std::move(resp));
    return f.client->get_object(req);
  };

  // The cheapest of the checksums sent is computed; the MD5 is not.
  auto with = ok;
  with.headers.emplace_back("x-amz-checksum-crc64nvme",
                            checksum_of(ChecksumAlgorithm::kCrc64Nvme, data));
  with.headers.emplace_back("x-amz-checksum-crc32c", checksum_of(ChecksumAlgorithm::kCrc32c, data));
  with.headers.emplace_back("x-amz-checksum-type", "FULL_OBJECT");
  auto r = get(with);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->checksum_verified, ChecksumAlgorithm::kCrc32c);
  EXPECT_FALSE(r->body_md5);
  std::stringstream got;
  got << std::ifstream(req.path, std::ios::binary).rdbuf();
  EXPECT_TRUE(got.str() == data);
  EXPECT_EQ(*f.s3.requests().back().header("x-amz-checksum-mode"), "ENABLED");

  // Every algorithm S3 has is checked when it is the only one.
  for (auto a :
       {ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c, ChecksumAlgorithm::kCrc64Nvme,
        ChecksumAlgorithm::kSha1, ChecksumAlgorithm::kSha256}) {
    auto one = ok;
    one.headers.emplace_back(checksum_header(a), checksum_of(a, data));
    r = get(one);
    ASSERT_TRUE(r) << checksum_name(a) << ": " << r.error().describe();
    EXPECT_EQ(r->checksum_verified, a);
    // A checksum of other bytes fails the download, naming both values.
    auto wrong = ok;
    wrong.headers.emplace_back(checksum_header(a), checksum_of(a, data + "x"));
    r = get(wrong);
    ASSERT_FALSE(r) << checksum_name(a);
    EXPECT_EQ(r.error().errc, Errc::kCorrupt);
    EXPECT_NE(r.error().message.find(std::string(checksum_name(a)) + " of the download is " +
                                     checksum_of(a, data)),
              std::string::npos)
        << r.error().message;
  }

  // A composite checksum (of the parts' checksums) is not of the body: the MD5 is computed.
  auto composite = ok;
  composite.headers.emplace_back("x-amz-checksum-crc32c", "AAAAAA==-3");
  r = get(composite);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_FALSE(r->checksum_verified);
  ASSERT_TRUE(r->body_md5);
  EXPECT_EQ(to_hex(*r->body_md5), to_hex(md5(data)));
  auto typed = ok;
  typed.headers.emplace_back("x-amz-checksum-crc32", "AAAAAA==");
  typed.headers.emplace_back("x-amz-checksum-type", "COMPOSITE");
  r = get(typed);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_FALSE(r->checksum_verified);
  EXPECT_TRUE(r->body_md5);

  // A retried GET whose answer has no checksum is MD5-hashed.
  f.s3.add(s3_error(500, "InternalError", "x"));
  r = get(ok);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_FALSE(r->checksum_verified);
  EXPECT_TRUE(r->body_md5);

  // A ranged GET does not ask: S3 sends checksums for whole objects only.
  req.range = std::make_pair(uint64_t{0}, uint64_t{9});
  auto part = net::HttpResponse::text(206, data.substr(0, 10), "binary/octet-stream");
  part.headers.emplace_back("Content-Range", "bytes 0-9/" + std::to_string(data.size()));
  r = get(part);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(f.s3.requests().back().header("x-amz-checksum-mode"), nullptr);
  req.range.reset();

  // Without GetObjectRequest::checksum nothing is asked nor checked.
  req.checksum = false;
  auto ignored = ok;
  ignored.headers.emplace_back("x-amz-checksum-crc32c", "AAAAAA==");
  r = get(ignored);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_FALSE(r->checksum_verified);
  EXPECT_EQ(f.s3.requests().back().header("x-amz-checksum-mode"), nullptr);
}

TEST(S3Client, GetObjectTellsAnEncryptedObjectsEtagIsNoMd5) {
  Fixture f;
  TempDir dir;
  GetObjectRequest req;
  req.bucket = "b";
  req.key = "k";
  req.path = dir.path + "/out";
  const std::pair<const char*, const char*> cases[] = {
      {"x-amz-server-side-encryption", "aws:kms"},
      {"x-amz-server-side-encryption", "aws:kms:dsse"},
      {"x-amz-server-side-encryption-customer-algorithm", "AES256"},
      {"x-amz-server-side-encryption", "AES256"},  // SSE-S3: the ETag is the MD5
  };
  for (const auto& [name, value] : cases) {
    auto resp = net::HttpResponse::text(200, "abc", "binary/octet-stream");
    resp.headers.emplace_back("ETag", "\"0123456789abcdef0123456789abcdef\"");
    resp.headers.emplace_back(name, value);
    f.s3.add(resp);
    auto r = f.client->get_object(req);
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->etag_not_md5, std::string_view(value) != "AES256" ||
                                   std::string_view(name).find("customer") != std::string::npos)
        << name << ": " << value;
  }
}

TEST(S3Client, HeadObjectAndNotFound) {
  Fixture f;
  auto head = net::HttpResponse::text(200, "", "text/plain");
  head.headers.emplace_back("ETag", "\"e\"");
  head.headers.emplace_back("X-Amz-Meta-Origin", "h1");
  f.s3.add(head);
  auto r = f.client->head_object("b", "k");
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->etag, "\"e\"");
  ASSERT_EQ(r->metadata.size(), 1u);
  EXPECT_EQ(r->metadata[0], (std::pair<std::string, std::string>{"origin", "h1"}));

  f.s3.add(net::HttpResponse::text(404, ""));
  r = f.client->head_object("b", "missing");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().not_found());
  EXPECT_EQ(r.error().code, "NotFound");
  EXPECT_EQ(r.error().errc, Errc::kNotFound);
}

TEST(S3Client, HeadObjectOfAPartTellsItsLengthTheTotalAndThePartsCount) {
  Fixture f;
  auto part = net::HttpResponse::text(206, "abcde", "binary/octet-stream");  // HEAD: no body sent
  part.headers.emplace_back("ETag", "\"0123456789abcdef0123456789abcdef-2\"");
  part.headers.emplace_back("Content-Range", "bytes 5-9/12");
  part.headers.emplace_back("x-amz-mp-parts-count", "2");
  f.s3.add(part);
  auto r = f.client->head_object(
      HeadObjectRequest{"b", "k", 2, "\"0123456789abcdef0123456789abcdef-2\""});
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->content_length, 5u);
  EXPECT_EQ(r->size, 12u);
  EXPECT_EQ(r->parts_count, 2);
  auto seen = f.s3.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "HEAD");
  EXPECT_EQ(seen[0].query, "partNumber=2");
  EXPECT_EQ(*seen[0].header("If-Match"), "\"0123456789abcdef0123456789abcdef-2\"");
  EXPECT_TRUE(f.s3.errors().empty());
}

// The size and ETag a GetObject expects are checked at the response's headers: a response of
// another size or ETag is refused before its body is taken (nothing reaches the file).
TEST(S3Client, GetObjectRefusesAnotherSizeAtTheHeaders) {
  Fixture f;
  TempDir dir;
  auto whole = net::HttpResponse::text(200, "0123456789", "binary/octet-stream");
  whole.headers.emplace_back("ETag", "\"e1\"");
  f.s3.add(whole);
  GetObjectRequest req;
  req.bucket = "b";
  req.key = "k";
  req.path = dir.path + "/out";
  req.if_match = "\"e1\"";
  req.expected_size = 99;
  auto r = f.client->get_object(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errc, Errc::kCorrupt);
  EXPECT_NE(r.error().message.find("Content-Length says the object has 10 bytes, not 99"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(fs::file_size(req.path), 0u);
  auto other = whole;
  other.headers.back().second = "\"e2\"";
  f.s3.add(other);
  req.expected_size = 10;
  r = f.client->get_object(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errc, Errc::kCorrupt);
  EXPECT_EQ(fs::file_size(req.path), 0u);
  f.s3.add(whole);
  r = f.client->get_object(req);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(fs::file_size(req.path), 10u);
}

TEST(S3Client, NetworkErrorsAreRetried) {
  uint16_t port;
  {
    FakeS3 gone;
    port = gone.server->port();
  }
  Fixture f("http://127.0.0.1:" + std::to_string(port));
  auto r = f.client->delete_object("b", "k");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errc, Errc::kIo);
  EXPECT_EQ(r.error().attempts, 4);
  EXPECT_EQ(f.sleeps.size(), 3u);
  EXPECT_EQ(r.error().http_status, 0);
}

}  // namespace
}  // namespace ingestor::s3
