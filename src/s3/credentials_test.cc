#include "s3/credentials.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "net/http_server.h"
#include "net/loopback_server_for_test.h"

namespace ingestor::s3 {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "credentials_test.XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text) const {
    fs::create_directories(fs::path(path + "/" + name).parent_path());
    std::ofstream(path + "/" + name) << text;
  }
  std::string path;
};

// A fake environment.
struct Env {
  std::map<std::string, std::string> vars;
  EnvLookup lookup() {
    return [this](std::string_view n) -> std::optional<std::string> {
      auto it = vars.find(std::string(n));
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }
};

using FakeServer = net::LoopbackServer;

std::string creds_json(const std::string& akid, TimePoint expiration) {
  return R"({"Code":"Success","LastUpdated":"2026-11-26T09:00:00Z","Type":"AWS-HMAC",)"
         R"("AccessKeyId":")" +
         akid + R"(","SecretAccessKey":"secret-)" + akid + R"(","Token":"token-)" + akid +
         R"(","Expiration":")" + format_iso8601(expiration) + "\"}";
}

TEST(Credentials, ParseIni) {
  auto ini = parse_ini(
      "# comment\n[default]\naws_access_key_id = AKID\n  ; other\naws_secret_access_key=S\n"
      "s3 =\n    signature_version = s3v4\n[profile   dev]\nregion = eu-west-1\r\n");
  ASSERT_EQ(ini.size(), 2u);
  EXPECT_EQ(ini[0].first, "default");
  ASSERT_EQ(ini[0].second.size(), 3u);
  EXPECT_EQ(ini[0].second[0], (std::pair<std::string, std::string>{"aws_access_key_id", "AKID"}));
  EXPECT_EQ(ini[0].second[1].second, "S");
  EXPECT_EQ(ini[0].second[2].first, "s3");  // the nested signature_version line is skipped
  EXPECT_EQ(ini[1].first, "profile dev");
  EXPECT_EQ(ini[1].second[0].second, "eu-west-1");
}

TEST(Credentials, ParseIso8601) {
  auto t = parse_iso8601("2016-02-25T06:03:31Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_iso8601(*t), "2016-02-25T06:03:31Z");
  EXPECT_EQ(parse_iso8601("2016-02-25T06:03:31.123Z"), t);
  EXPECT_EQ(parse_iso8601("2016-02-25T06:03:31+00:00"), t);
  EXPECT_FALSE(parse_iso8601("2016-02-25"));
  EXPECT_FALSE(parse_iso8601("2016-13-25T06:03:31Z"));
}

TEST(Credentials, ChainOrderEnvThenFilesThenNothing) {
  TempDir home;
  Env env;
  env.vars["HOME"] = home.path;
  env.vars["AWS_EC2_METADATA_DISABLED"] = "true";
  home.write(".aws/credentials",
             "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n"
             "[other]\naws_access_key_id = OTHERKEY\naws_secret_access_key = othersecret\n"
             "aws_session_token = othertoken\n");
  home.write(".aws/config",
             "[profile cfg]\naws_access_key_id = CFGKEY\n"
             "aws_secret_access_key = cfgsecret\n[profile role]\n"
             "role_arn = arn:aws:iam::1:role/x\nsource_profile = default\n");
  env.vars["AWS_ACCESS_KEY_ID"] = "ENVKEY";
  env.vars["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  env.vars["AWS_SESSION_TOKEN"] = "envtoken";

  CredentialsChainOptions o;
  o.env = env.lookup();
  {
    // Explicit keys come first.
    auto opts = o;
    opts.explicit_credentials = Credentials{"EXPLICIT", "s", ""};
    auto c = CredentialsChain::make_default(opts)->get();
    ASSERT_TRUE(c);
    EXPECT_EQ(c->access_key_id, "EXPLICIT");
  }
  auto chain = CredentialsChain::make_default(o);
  auto c = chain->get();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_id, "ENVKEY");
  EXPECT_EQ(c->session_token, "envtoken");
  EXPECT_EQ(chain->source(), "env");

  env.vars.erase("AWS_ACCESS_KEY_ID");
  env.vars.erase("AWS_SECRET_ACCESS_KEY");
  env.vars.erase("AWS_SESSION_TOKEN");
  c = CredentialsChain::make_default(o)->get();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_id, "FILEKEY");
  EXPECT_EQ(c->session_token, "");

  env.vars["AWS_PROFILE"] = "other";
  c = CredentialsChain::make_default(o)->get();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "OTHERKEY");
  EXPECT_EQ(c->session_token, "othertoken");

  env.vars["AWS_PROFILE"] = "cfg";  // only in ~/.aws/config, as [profile cfg]
  c = CredentialsChain::make_default(o)->get();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "CFGKEY");

  env.vars["AWS_PROFILE"] = "missing";
  c = CredentialsChain::make_default(o)->get();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::kConfig);
  EXPECT_NE(c.error().message.find("profile missing not found"), std::string::npos);

  env.vars["AWS_PROFILE"] = "role";
  c = CredentialsChain::make_default(o)->get();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::kUnsupported);

  // Files named by env.
  env.vars.erase("AWS_PROFILE");
  home.write("elsewhere", "[default]\naws_access_key_id = ELSE\naws_secret_access_key = e\n");
  env.vars["AWS_SHARED_CREDENTIALS_FILE"] = home.path + "/elsewhere";
  c = CredentialsChain::make_default(o)->get();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "ELSE");

  // Nothing anywhere: a clear message naming every source.
  env.vars["AWS_SHARED_CREDENTIALS_FILE"] = home.path + "/none";
  env.vars["AWS_CONFIG_FILE"] = home.path + "/none2";
  c = CredentialsChain::make_default(o)->get();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::kAuth);
  EXPECT_EQ(c.error().message, "no AWS credentials found: tried env, " + home.path + "/none and " +
                                   home.path + "/none2 (profile default), container, IMDS");

  // Half of a key pair in env is an error, not a fall-through.
  env.vars["AWS_ACCESS_KEY_ID"] = "X";
  c = CredentialsChain::make_default(o)->get();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::kConfig);
}

TEST(Credentials, ContainerProvider) {
  TimePoint exp = std::chrono::system_clock::now() + 1h;
  int calls = 0;
  FakeServer server([&](const net::HttpRequest& req) {
    ++calls;
    const std::string* auth = req.header("Authorization");
    if (req.path != "/creds" || !auth || *auth != "Bearer xyz")
      return net::HttpResponse::text(401, "no");
    return net::HttpResponse::text(200, creds_json("CONTAINER", exp), "application/json");
  });
  TempDir home;
  Env env;
  env.vars["HOME"] = home.path;
  env.vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.url() + "/creds";
  env.vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "Bearer xyz";
  // IMDS configured too: the container provider comes first.
  env.vars["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = server.url();
  CredentialsChainOptions o;
  o.env = env.lookup();
  auto chain = CredentialsChain::make_default(o);
  auto c = chain->get();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_id, "CONTAINER");
  EXPECT_EQ(c->secret_access_key, "secret-CONTAINER");
  EXPECT_EQ(c->session_token, "token-CONTAINER");
  EXPECT_EQ(chain->source(), "container");

  // The token from a file wins over the variable.
  home.write("token", "Bearer xyz\n");
  env.vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "wrong";
  env.vars["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = home.path + "/token";
  c = CredentialsChain::make_default(o)->get();
  ASSERT_TRUE(c) << c.error().message;

  // A wrong token: a clear error that stops the chain.
  env.vars.erase("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  c = CredentialsChain::make_default(o)->get();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::kAuth);
  EXPECT_NE(c.error().message.find("answered 401"), std::string::npos) << c.error().message;

  // Plain http to a host that is not loopback or the ECS/EKS agent is refused.
  env.vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://example.com/creds";
  c = CredentialsChain::make_default(o)->get();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::kConfig);
}

// A fake IMDS: IMDSv2 token PUT, role listing and credentials, with counters.
struct FakeImds {
  FakeImds() : server([this](const net::HttpRequest& req) { return handle(req); }) {}

  net::HttpResponse handle(const net::HttpRequest& req) {
    const std::string prefix = "/latest/meta-data/iam/security-credentials/";
    if (req.method == "PUT" && req.path == "/latest/api/token") {
      const std::string* ttl = req.header("X-aws-ec2-metadata-token-ttl-seconds");
      if (!ttl) return net::HttpResponse::text(400, "missing ttl");
      last_ttl = *ttl;
      token = "tok-" + std::to_string(++token_puts);
      return net::HttpResponse::text(200, token);
    }
    const std::string* t = req.header("X-aws-ec2-metadata-token");
    if (!t || *t != token) return net::HttpResponse::text(401, "bad token");
    if (req.method == "GET" && req.path == prefix) return net::HttpResponse::text(200, role);
    if (req.method == "GET" && req.path == prefix + role) {
      if (fail) return net::HttpResponse::text(503, "busy");
      ++cred_gets;
      return net::HttpResponse::text(200,
                                     creds_json("ASIA" + std::to_string(cred_gets), expiration));
    }
    return net::HttpResponse::text(404, "not found");
  }

  std::string token;
  std::string role = "ingestor-role";
  std::string last_ttl;
  int token_puts = 0;
  int cred_gets = 0;
  bool fail = false;
  TimePoint expiration;
  FakeServer server;  // last: destroyed first
};

TEST(Credentials, ImdsV2TokenFlowAndRefreshBeforeExpiry) {
  FakeImds imds;
  TimePoint now = std::chrono::system_clock::from_time_t(1800000000);
  {
    std::lock_guard lock(imds.server.mu);
    imds.expiration = now + 10min;
  }
  TempDir home;
  Env env;
  env.vars["HOME"] = home.path;
  env.vars["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.server.url() + "/";
  CredentialsChainOptions o;
  o.env = env.lookup();
  o.clock = [&] { return now; };
  o.refresh_before = 5min;
  auto chain = CredentialsChain::make_default(o);

  auto c = chain->get();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_id, "ASIA1");
  EXPECT_EQ(c->session_token, "token-ASIA1");
  EXPECT_EQ(chain->source(), "IMDS");
  auto counters = [&] {
    std::lock_guard lock(imds.server.mu);
    return std::make_pair(imds.token_puts, imds.cred_gets);
  };
  EXPECT_EQ(counters(), std::make_pair(1, 1));
  {
    std::lock_guard lock(imds.server.mu);
    EXPECT_EQ(imds.last_ttl, "21600");
  }

  // Cached while far from expiry.
  now += 4min;
  EXPECT_EQ(chain->get()->access_key_id, "ASIA1");
  EXPECT_EQ(counters(), std::make_pair(1, 1));

  // Within refresh_before of the expiration: refreshed, with the same session token.
  now += 2min;
  {
    std::lock_guard lock(imds.server.mu);
    imds.expiration = now + 20min;
  }
  EXPECT_EQ(chain->get()->access_key_id, "ASIA2");
  EXPECT_EQ(counters(), std::make_pair(1, 2));

  // The refresh fails but the credentials are still valid: kept.
  now += 16min;
  {
    std::lock_guard lock(imds.server.mu);
    imds.fail = true;
  }
  c = chain->get();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "ASIA2");
  // ... until they expire.
  now += 5min;
  c = chain->get();
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("IMDS"), std::string::npos) << c.error().message;

  // A revoked session token (401) is renewed once, transparently.
  {
    std::lock_guard lock(imds.server.mu);
    imds.fail = false;
    imds.token = "revoked";
    imds.expiration = now + 1h;
  }
  c = chain->get();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_id, "ASIA3");
  EXPECT_EQ(counters().first, 2);
}

TEST(Credentials, ImdsAbsentOrDisabledFallsThrough) {
  TempDir home;
  Env env;
  env.vars["HOME"] = home.path;
  MetadataOptions mo;
  mo.timeout = 300ms;
  {
    // Nobody listens: not on EC2.
    FakeServer gone([](const net::HttpRequest&) { return net::HttpResponse::text(200, ""); });
    env.vars["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = gone.url();
  }
  ImdsCredentialsProvider absent(env.lookup(), mo);
  auto r = absent.load();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(*r);

  // No role attached (404): nothing.
  FakeImds imds;
  {
    std::lock_guard lock(imds.server.mu);
    imds.role = "";
  }
  env.vars["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.server.url();
  ImdsCredentialsProvider no_role(env.lookup(), mo);
  r = no_role.load();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(*r);

  // Disabled: not even asked.
  env.vars["AWS_EC2_METADATA_DISABLED"] = "TRUE";
  ImdsCredentialsProvider disabled(env.lookup(), mo);
  int before;
  {
    std::lock_guard lock(imds.server.mu);
    before = imds.token_puts;
  }
  r = disabled.load();
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  std::lock_guard lock(imds.server.mu);
  EXPECT_EQ(imds.token_puts, before);
}

}  // namespace
}  // namespace ingestor::s3
