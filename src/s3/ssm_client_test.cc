#include "s3/ssm_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>

#include "net/http_server.h"
#include "net/io_pool.h"
#include "net/loopback_server_for_test.h"

namespace ingestor::s3 {
namespace {

using namespace std::chrono_literals;

const Credentials kCreds{"AKIDSSMTEST", "ssm-test-secret-key", "session-token-1"};
const TimePoint kNow = std::chrono::sys_days{std::chrono::year{2026} / 11 / 26} + 10h;
constexpr std::string_view kSecretValue = "s3cr3t-value-never-logged";

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view n) -> std::optional<std::string> {
    auto it = vars.find(std::string(n));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::optional<std::string> header(const std::vector<HttpHeader>& hs, std::string_view name) {
  return find_header(hs, name);
}

TEST(SsmEndpoint, ResolvesLikeTheSdks) {
  auto aws = resolve_ssm_endpoint(
      env_of({{"AWS_REGION", "eu-west-1"}, {"AWS_DEFAULT_REGION", "us-west-2"}}));
  ASSERT_TRUE(aws) << aws.error().message;
  EXPECT_EQ(aws->url, "https://ssm.eu-west-1.amazonaws.com");
  EXPECT_TRUE(aws->endpoint.tls);
  EXPECT_EQ(aws->endpoint.port, 443);
  EXPECT_EQ(aws->region, "eu-west-1");

  auto dflt = resolve_ssm_endpoint(env_of({{"AWS_DEFAULT_REGION", "us-west-2"}}));
  ASSERT_TRUE(dflt);
  EXPECT_EQ(dflt->endpoint.host, "ssm.us-west-2.amazonaws.com");

  auto china = resolve_ssm_endpoint(env_of({{"AWS_REGION", "cn-north-1"}}));
  ASSERT_TRUE(china);
  EXPECT_EQ(china->url, "https://ssm.cn-north-1.amazonaws.com.cn");

  auto fallback = resolve_ssm_endpoint(env_of({}), "ap-south-1");
  ASSERT_TRUE(fallback);
  EXPECT_EQ(fallback->region, "ap-south-1");

  // The service-specific variable wins over the global one.
  auto custom = resolve_ssm_endpoint(env_of({{"AWS_ENDPOINT_URL", "http://127.0.0.1:1"},
                                             {"AWS_ENDPOINT_URL_SSM", "http://127.0.0.1:4566"}}));
  ASSERT_TRUE(custom);
  EXPECT_FALSE(custom->endpoint.tls);
  EXPECT_EQ(custom->endpoint.port, 4566);
  EXPECT_EQ(custom->region, "us-east-1");  // emulators take any region
  auto global = resolve_ssm_endpoint(
      env_of({{"AWS_ENDPOINT_URL", "http://localhost:5000"}, {"AWS_REGION", "eu-central-1"}}));
  ASSERT_TRUE(global);
  EXPECT_EQ(global->endpoint.host, "localhost");
  EXPECT_EQ(global->region, "eu-central-1");
}

TEST(SsmEndpoint, ConfigErrors) {
  auto none = resolve_ssm_endpoint(env_of({}));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::kConfig);
  EXPECT_NE(none.error().message.find("AWS_REGION"), std::string::npos);
  auto bad_url = resolve_ssm_endpoint(env_of({{"AWS_ENDPOINT_URL_SSM", "ftp://x"}}));
  ASSERT_FALSE(bad_url);
  EXPECT_EQ(bad_url.error().code, Errc::kConfig);
  auto bad_region = resolve_ssm_endpoint(env_of({{"AWS_REGION", "evil.com/x"}}));
  ASSERT_FALSE(bad_region);
  EXPECT_EQ(bad_region.error().code, Errc::kConfig);
}

TEST(SsmRequest, BodyIsEscapedJson) {
  EXPECT_EQ(get_parameter_body("/ingestor/relay-secret", true),
            R"({"Name":"/ingestor/relay-secret","WithDecryption":true})");
  EXPECT_EQ(get_parameter_body("a\"b\\c", false), R"({"Name":"a\"b\\c","WithDecryption":false})");
}

TEST(SsmRequest, SignedForTheSsmServiceAndVerifiable) {
  auto ep = resolve_ssm_endpoint(env_of({{"AWS_REGION", "eu-west-1"}}));
  ASSERT_TRUE(ep);
  const std::string body = get_parameter_body("/p", true);
  auto hs = sign_ssm_request(*ep, "AmazonSSM.GetParameter", body, kCreds, kNow);
  ASSERT_TRUE(hs) << hs.error().message;
  EXPECT_EQ(header(*hs, "host"), "ssm.eu-west-1.amazonaws.com");
  EXPECT_EQ(header(*hs, "content-type"), "application/x-amz-json-1.1");
  EXPECT_EQ(header(*hs, "x-amz-target"), "AmazonSSM.GetParameter");
  EXPECT_EQ(header(*hs, "x-amz-date"), "20261126T100000Z");
  EXPECT_EQ(header(*hs, "x-amz-security-token"), "session-token-1");
  auto auth = header(*hs, "authorization");
  ASSERT_TRUE(auth);
  EXPECT_NE(auth->find("Credential=AKIDSSMTEST/20261126/eu-west-1/ssm/aws4_request"),
            std::string::npos);
  EXPECT_NE(auth->find("x-amz-target"), std::string::npos);  // the operation is signed

  // Our own verifier (the one `ingestor store` uses) accepts it for service "ssm" only.
  SigningRequest sr;
  sr.method = "POST";
  sr.path = "/";
  sr.headers = *hs;
  SecretLookup lookup = [](std::string_view id) -> std::optional<Credentials> {
    if (id == kCreds.access_key_id) return kCreds;
    return std::nullopt;
  };
  VerifyOptions vo;
  vo.region = "eu-west-1";
  vo.service = "ssm";
  auto v = verify_request(sr, lookup, kNow, vo);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->payload_sha256, sha256_hex(body));
  vo.service = "s3";
  EXPECT_FALSE(verify_request(sr, lookup, kNow, vo));
}

TEST(SsmResponse, ValueOfASecureString) {
  auto v = parse_get_parameter_response(
      200,
      R"({"Parameter":{"ARN":"arn:aws:ssm:us-east-1:1:parameter/p","DataType":"text",)"
      R"("LastModifiedDate":1.7e9,"Name":"/p","Type":"SecureString","Value":"s3cr3t \"q\"",)"
      R"("Version":3}})",
      "/p");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(*v, "s3cr3t \"q\"");
}

TEST(SsmResponse, MalformedAnswersAreCorrupt) {
  for (std::string_view body :
       {std::string_view("{\"Parameter\":{\"Value\":\"x\""), std::string_view("<html>proxy</html>"),
        std::string_view(""), std::string_view("[]"), std::string_view(R"({"Parameter":"x"})"),
        std::string_view(R"({"Parameter":{"Name":"/p"}})"),
        std::string_view(R"({"Parameter":{"Value":42}})"),
        std::string_view(R"({"Parameter":{"Value":""}})")}) {
    auto v = parse_get_parameter_response(200, body, "/ingestor/p");
    ASSERT_FALSE(v) << body;
    EXPECT_EQ(v.error().code, Errc::kCorrupt) << body;
    EXPECT_NE(v.error().message.find("SSM parameter '/ingestor/p'"), std::string::npos);
  }
}

TEST(SsmResponse, ErrorsAreClassified) {
  struct Case {
    int status;
    std::string body;
    Errc code;
    std::string text;
  };
  const std::vector<Case> cases = {
      {400, R"({"__type":"ParameterNotFound","message":"Parameter /p not found."})",
       Errc::kNotFound, "ParameterNotFound: Parameter /p not found."},
      {400, R"({"__type":"com.amazonaws.ssm#AccessDeniedException","Message":"no"})", Errc::kAuth,
       "AccessDeniedException: no"},
      {400, R"({"__type":"UnrecognizedClientException","message":"bad token"})", Errc::kAuth,
       "UnrecognizedClientException"},
      {400, R"({"__type":"InvalidKeyId","message":"kms"})", Errc::kAuth, "InvalidKeyId"},
      {400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})", Errc::kUnavailable,
       "Rate exceeded"},
      {500, R"({"__type":"InternalServerError"})", Errc::kUnavailable, "InternalServerError"},
      {503, "Service Unavailable", Errc::kUnavailable, "HTTP 503: Service Unavailable"},
      {403, "<html>forbidden</html>", Errc::kAuth, "HTTP 403: <html>forbidden</html>"},
      {400, R"({"__type":"ValidationException","message":"1 validation error"})",
       Errc::kInvalidArgument, "ValidationException"},
  };
  for (const auto& c : cases) {
    auto v = parse_get_parameter_response(c.status, c.body, "/p");
    ASSERT_FALSE(v) << c.body;
    EXPECT_EQ(v.error().code, c.code) << c.body;
    EXPECT_NE(v.error().message.find("SSM parameter '/p': "), std::string::npos)
        << v.error().message;
    EXPECT_NE(v.error().message.find(c.text), std::string::npos) << v.error().message;
  }
}

class FixedCredentials : public CredentialsSource {
 public:
  Result<Credentials> get() override { return kCreds; }
};

// A scripted SSM endpoint on loopback: answers[i] for the i-th request (the last one repeats).
struct FakeSsm {
  explicit FakeSsm(std::vector<net::HttpResponse> answers)
      : answers_(std::move(answers)), server([this](const net::HttpRequest& req) {
          requests.push_back(req);
          return answers_[std::min(requests.size(), answers_.size()) - 1];
        }) {}
  std::string url() const { return server.url(); }
  size_t count() {
    std::lock_guard lock(server.mu);
    return requests.size();
  }

  std::vector<net::HttpResponse> answers_;
  std::vector<net::HttpRequest> requests;  // guarded by server.mu
  net::LoopbackServer server;              // last: stops before the members above go
};

net::HttpResponse json_answer(int status, std::string body) {
  return net::HttpResponse::text(status, std::move(body), "application/x-amz-json-1.1");
}

const std::string kOkBody = R"({"Parameter":{"Name":"/p","Type":"SecureString","Value":")" +
                            std::string(kSecretValue) + R"(","Version":1}})";

struct ClientFixture {
  std::vector<std::chrono::milliseconds> sleeps;
  std::unique_ptr<SsmClient> make(const std::string& url, int attempts = 4) {
    SsmClientOptions o;
    o.env = env_of({{"AWS_ENDPOINT_URL_SSM", url}, {"AWS_REGION", "us-east-1"}});
    o.credentials = std::make_shared<FixedCredentials>();
    o.max_attempts = attempts;
    o.sleep = [this](std::chrono::milliseconds d) { sleeps.push_back(d); };
    auto c = SsmClient::create(std::move(o));
    EXPECT_TRUE(c);
    return std::move(*c);
  }
};

TEST(SsmClient, SendsASignedGetParameterAndRetriesTransientErrors) {
  FakeSsm ssm({json_answer(503, "busy"), json_answer(400, R"({"__type":"ThrottlingException"})"),
               json_answer(200, kOkBody)});
  ClientFixture f;
  auto v = f.make(ssm.url())->get_parameter("/p");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(*v, kSecretValue);
  ASSERT_EQ(ssm.count(), 3u);
  EXPECT_EQ(f.sleeps.size(), 2u);
  const net::HttpRequest& r = ssm.requests.back();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/");
  EXPECT_EQ(*r.header("X-Amz-Target"), "AmazonSSM.GetParameter");
  EXPECT_EQ(*r.header("Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(r.body, R"({"Name":"/p","WithDecryption":true})");
  ASSERT_TRUE(r.header("Authorization"));
  EXPECT_NE(r.header("Authorization")->find("/us-east-1/ssm/aws4_request"), std::string::npos);
}

TEST(SsmClient, NotFoundIsNotRetried) {
  FakeSsm ssm({json_answer(400, R"({"__type":"ParameterNotFound","message":"not found"})")});
  ClientFixture f;
  auto v = f.make(ssm.url())->get_parameter("/missing");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, Errc::kNotFound);
  EXPECT_EQ(ssm.count(), 1u);
  EXPECT_TRUE(f.sleeps.empty());
}

TEST(SsmClient, GivesUpAfterTheAttempts) {
  FakeSsm ssm({json_answer(500, R"({"__type":"InternalServerError","message":"oops"})")});
  ClientFixture f;
  auto v = f.make(ssm.url(), 3)->get_parameter("/p");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, Errc::kUnavailable);
  EXPECT_NE(v.error().message.find("gave up after 3 attempts"), std::string::npos)
      << v.error().message;
  EXPECT_EQ(ssm.count(), 3u);
}

TEST(SsmClient, UnreachableEndpointNamesTheParameterAndTheCause) {
  // A port nothing listens on: bind one, note it, close it.
  std::string url;
  {
    FakeSsm gone({json_answer(200, kOkBody)});
    url = gone.url();
  }
  ClientFixture f;
  auto v = f.make(url, 2)->get_parameter("/ingestor/relay-secret");
  ASSERT_FALSE(v);
  EXPECT_TRUE(v.error().retryable());
  EXPECT_NE(v.error().message.find("SSM parameter '/ingestor/relay-secret'"), std::string::npos);
  EXPECT_NE(v.error().message.find(url), std::string::npos) << v.error().message;
  EXPECT_EQ(f.sleeps.size(), 1u);
}

TEST(SsmClient, TheValueNeverAppearsInErrors) {
  // A 200 whose value is there but whose JSON is broken after it.
  FakeSsm ssm({json_answer(200, kOkBody + ",garbage")});
  ClientFixture f;
  auto v = f.make(ssm.url())->get_parameter("/p");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, Errc::kCorrupt);
  EXPECT_EQ(v.error().message.find(kSecretValue), std::string::npos) << v.error().message;
}

}  // namespace
}  // namespace ingestor::s3
