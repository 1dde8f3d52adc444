// Container and EC2 instance metadata (IMDSv2) credential providers (aws.md 5.2, 5.3).

#include <fmt/format.h>

#include <boost/json.hpp>

#include "base/file.h"
#include "base/log.h"
#include "net/http_client.h"
#include "s3/credentials.h"

namespace ingestor::s3 {

namespace json = boost::json;

namespace {

std::string env_or(const EnvLookup& env, std::string_view name) {
  auto v = env(name);
  return v ? *v : std::string();
}

std::unique_ptr<net::HttpClient> metadata_client(const MetadataOptions& o) {
  net::HttpClientOptions ho;
  ho.connect_timeout = o.timeout;
  ho.timeout = o.timeout;
  ho.max_body = 64 * 1024;
  ho.max_idle_per_host = 2;
  return std::make_unique<net::HttpClient>(ho);
}

// A GET/PUT with up to `attempts` tries on network errors.
Result<net::ClientResponse> call(net::HttpClient& http, const MetadataOptions& o,
                                 const std::string& method, const std::string& url,
                                 net::HeaderList headers) {
  Result<net::ClientResponse> r = make_error(Errc::kInternal, "no attempt");
  for (int i = 0; i < std::max(1, o.attempts); ++i) {
    r = http.request(method, url, headers);
    if (r || !r.error().retryable()) break;
  }
  return r;
}

std::string short_body(const std::string& body) { return body.substr(0, 200); }

bool allowed_container_host(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1" ||
         host == "169.254.170.2" || host == "169.254.170.23" || host == "fd00:ec2::23";
}

}  // namespace

Result<TimedCredentials> parse_credentials_json(std::string_view body, std::string_view source) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object())
    return make_error(Errc::kUnavailable,
                      fmt::format("{} credentials: response is not a JSON object", source));
  const auto& o = v.get_object();
  auto str = [&](const char* k) -> std::string {
    const json::value* f = o.if_contains(k);
    return f && f->is_string() ? std::string(f->get_string()) : std::string();
  };
  std::string code = str("Code");
  if (!code.empty() && code != "Success")
    return make_error(Errc::kAuth,
                      fmt::format("{} credentials: Code {}: {}", source, code, str("Message")));
  TimedCredentials tc;
  tc.credentials.access_key_id = str("AccessKeyId");
  tc.credentials.secret_access_key = str("SecretAccessKey");
  tc.credentials.session_token = str("Token");
  if (tc.credentials.access_key_id.empty() || tc.credentials.secret_access_key.empty())
    return make_error(
        Errc::kUnavailable,
        fmt::format("{} credentials: AccessKeyId or SecretAccessKey missing", source));
  std::string exp = str("Expiration");
  if (!exp.empty()) {
    tc.expiration = parse_iso8601(exp);
    if (!tc.expiration)
      return make_error(Errc::kUnavailable,
                        fmt::format("{} credentials: bad Expiration '{}'", source, exp));
  }
  return tc;
}

// ---- container ---------------------------------------------------------------------------------

ContainerCredentialsProvider::ContainerCredentialsProvider(EnvLookup env, MetadataOptions opts)
    : env_(std::move(env)), opts_(opts), http_(metadata_client(opts)) {
  // botocore: 2 s timeout, 3 attempts for the container endpoint.
  if (opts_.attempts < 3) opts_.attempts = 3;
}

ContainerCredentialsProvider::~ContainerCredentialsProvider() = default;

Result<std::optional<TimedCredentials>> ContainerCredentialsProvider::load() {
  std::string url;
  std::string relative = env_or(env_, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  std::string full = env_or(env_, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (!relative.empty()) {
    url = "http://169.254.170.2" + relative;
  } else if (!full.empty()) {
    auto parsed = net::parse_url(full);
    if (!parsed)
      return make_error(Errc::kConfig,
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI: " + parsed.error().message);
    if (!parsed->endpoint.tls && !allowed_container_host(parsed->endpoint.host))
      return make_error(Errc::kConfig,
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or name a loopback, "
                        "169.254.170.2 or EKS pod identity host: " +
                            full);
    url = full;
  } else {
    return std::optional<TimedCredentials>();
  }
  net::HeaderList headers{{"Accept", "application/json"}};
  std::string token_file = env_or(env_, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  std::string token = env_or(env_, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
  if (!token_file.empty()) {
    auto t = read_file(token_file);
    if (!t)
      return make_error(Errc::kConfig,
                        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: " + t.error().message);
    token = *t;
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  }
  if (!token.empty()) headers.emplace_back("Authorization", token);
  auto r = call(*http_, opts_, "GET", url, headers);
  if (!r) {
    Error e = r.error();
    e.message = "container credentials endpoint: " + e.message;
    return e;
  }
  if (r->status != 200)
    return make_error(r->status == 401 || r->status == 403 ? Errc::kAuth : Errc::kUnavailable,
                      fmt::format("container credentials endpoint {} answered {}: {}", url,
                                  r->status, short_body(r->body)));
  auto tc = parse_credentials_json(r->body, "container");
  if (!tc) return tc.error();
  return std::optional<TimedCredentials>(std::move(*tc));
}

// ---- IMDS --------------------------------------------------------------------------------------

ImdsCredentialsProvider::ImdsCredentialsProvider(EnvLookup env, MetadataOptions opts,
                                                 std::function<TimePoint()> clock)
    : env_(std::move(env)),
      opts_(opts),
      clock_(clock ? std::move(clock) : [] { return std::chrono::system_clock::now(); }),
      http_(metadata_client(opts)) {}

ImdsCredentialsProvider::~ImdsCredentialsProvider() = default;

Result<std::optional<TimedCredentials>> ImdsCredentialsProvider::load() {
  std::string disabled = env_or(env_, "AWS_EC2_METADATA_DISABLED");
  for (auto& c : disabled) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (disabled == "true") return std::optional<TimedCredentials>();
  std::string base = env_or(env_, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (base.empty()) {
    std::string mode = env_or(env_, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    base = mode == "IPv6" || mode == "ipv6" ? "http://[fd00:ec2::254]" : "http://169.254.169.254";
  }
  while (!base.empty() && base.back() == '/') base.pop_back();

  std::lock_guard lock(mu_);
  bool v1 = false;  // the token PUT was refused: IMDSv1
  auto fetch_token = [&]() -> Result<bool> {
    const TimePoint now = clock_();
    if (!token_.empty() && now + std::chrono::seconds(60) < token_expiry_) return true;
    token_.clear();
    auto r = call(*http_, opts_, "PUT", base + "/latest/api/token",
                  {{"X-aws-ec2-metadata-token-ttl-seconds", std::to_string(kTokenTtlSeconds)}});
    if (!r) return false;  // no IMDS here (not on EC2, or blocked)
    if (r->status == 403 || r->status == 404 || r->status == 405) {
      v1 = true;
      return true;
    }
    if (r->status != 200 || r->body.empty())
      return make_error(Errc::kUnavailable, fmt::format("IMDS token PUT answered {}: {}", r->status,
                                                        short_body(r->body)));
    token_ = r->body;
    token_expiry_ = now + std::chrono::seconds(kTokenTtlSeconds);
    return true;
  };
  auto get = [&](const std::string& path) -> Result<net::ClientResponse> {
    for (int attempt = 0;; ++attempt) {
      net::HeaderList h;
      if (!token_.empty()) h.emplace_back("X-aws-ec2-metadata-token", token_);
      auto r = call(*http_, opts_, "GET", base + path, h);
      if (!r || r->status != 401 || attempt > 0 || v1) return r;
      token_.clear();  // expired or revoked token: get a new one once
      auto t = fetch_token();
      if (!t) return t.error();
      if (!*t) return make_error(Errc::kUnavailable, "IMDS went away while renewing the token");
    }
  };

  auto have = fetch_token();
  if (!have) return have.error();
  if (!*have) return std::optional<TimedCredentials>();
  const std::string prefix = "/latest/meta-data/iam/security-credentials/";
  auto role = get(prefix);
  if (!role) return std::optional<TimedCredentials>();  // unreachable now: treat as absent
  if (role->status == 404) return std::optional<TimedCredentials>();  // no instance profile
  if (role->status != 200)
    return make_error(Errc::kUnavailable, fmt::format("IMDS role lookup answered {}: {}",
                                                      role->status, short_body(role->body)));
  std::string name = role->body.substr(0, role->body.find('\n'));
  while (!name.empty() && (name.back() == '\r' || name.back() == ' ')) name.pop_back();
  if (name.empty()) return std::optional<TimedCredentials>();
  auto cr = get(prefix + name);
  if (!cr) {
    Error e = cr.error();
    e.message = "IMDS credentials: " + e.message;
    return e;
  }
  if (cr->status != 200)
    return make_error(Errc::kUnavailable,
                      fmt::format("IMDS credentials for role {} answered {}: {}", name, cr->status,
                                  short_body(cr->body)));
  auto tc = parse_credentials_json(cr->body, "IMDS");
  if (!tc) return tc.error();
  return std::optional<TimedCredentials>(std::move(*tc));
}

}  // namespace ingestor::s3
