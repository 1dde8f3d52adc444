#include "s3/ssm_client.h"

#include <algorithm>
#include <boost/json.hpp>
#include <random>
#include <thread>

#include "base/hash.h"
#include "base/log.h"
#include "s3/s3_request.h"

namespace ingestor::s3 {

namespace json = boost::json;

namespace {

using SteadyClock = std::chrono::steady_clock;

std::optional<std::string> env_nonempty(const EnvLookup& env, std::string_view name) {
  auto v = env(name);
  if (!v || v->empty()) return std::nullopt;
  return v;
}

// "com.amazonaws.ssm#ParameterNotFound" -> "ParameterNotFound" (both spellings occur).
std::string_view short_type(std::string_view type) {
  auto hash = type.rfind('#');
  if (hash != std::string_view::npos) type.remove_prefix(hash + 1);
  auto colon = type.find(':');  // "X:http://internal.amazon.com/..." in some older answers
  return colon == std::string_view::npos ? type : type.substr(0, colon);
}

Errc classify_type(std::string_view type, int status) {
  if (type == "ParameterNotFound" || type == "ParameterVersionNotFound") return Errc::kNotFound;
  if (type == "ThrottlingException" || type == "TooManyRequestsException" ||
      type == "InternalServerError" || type == "ServiceUnavailable" || status >= 500 ||
      status == 429)
    return Errc::kUnavailable;
  if (type == "AccessDeniedException" || type == "UnrecognizedClientException" ||
      type == "InvalidSignatureException" || type == "IncompleteSignature" ||
      type == "MissingAuthenticationTokenException" || type == "ExpiredTokenException" ||
      type == "InvalidClientTokenId" || type == "InvalidKeyId" || status == 401 || status == 403)
    return Errc::kAuth;
  return Errc::kInvalidArgument;
}

std::string snippet(std::string_view body) {
  std::string s(body.substr(0, 200));
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s.empty() ? "empty body" : s;
}

// An error answer: the __type and message of its JSON body when it has one.
Error error_answer(int status, std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  std::string type, message;
  if (o) {
    if (auto* t = o->if_contains("__type"); t && t->is_string())
      type = std::string(short_type(t->get_string()));
    for (const char* k : {"message", "Message"})
      if (auto* m = o->if_contains(k); m && m->is_string() && message.empty())
        message = std::string(m->get_string());
  }
  std::string text = "HTTP " + std::to_string(status);
  if (!type.empty()) text += " " + type;
  if (!message.empty()) {
    text += ": " + message;
  } else if (type.empty()) {
    text += ": " + snippet(body);
  }
  return Error(classify_type(type, status), text);
}

}  // namespace

Result<SsmEndpoint> resolve_ssm_endpoint(const EnvLookup& env, std::string_view fallback_region) {
  SsmEndpoint ep;
  if (auto r = env_nonempty(env, "AWS_REGION")) {
    ep.region = *r;
  } else if (auto d = env_nonempty(env, "AWS_DEFAULT_REGION")) {
    ep.region = *d;
  } else {
    ep.region = std::string(fallback_region);
  }
  auto custom = env_nonempty(env, "AWS_ENDPOINT_URL_SSM");
  if (!custom) custom = env_nonempty(env, "AWS_ENDPOINT_URL");
  if (custom) {
    auto url = net::parse_url(*custom);
    if (!url)
      return make_error(Errc::kConfig, "SSM endpoint '" + *custom + "': " + url.error().message);
    ep.endpoint = url->endpoint;
    ep.target = url->target;
    ep.url = *custom;
    if (ep.region.empty()) ep.region = "us-east-1";  // emulators take any region
    return ep;
  }
  if (ep.region.empty())
    return make_error(Errc::kConfig,
                      "no AWS region for the SSM endpoint: set AWS_REGION (or AWS_DEFAULT_REGION, "
                      "or AWS_ENDPOINT_URL_SSM)");
  // A region is a DNS label chain; refuse anything that would change the host.
  if (ep.region.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
    return make_error(Errc::kConfig, "bad AWS region '" + ep.region + "'");
  ep.endpoint.tls = true;
  // The China partition has its own DNS suffix (botocore's endpoints.json).
  const bool china = ep.region.rfind("cn-", 0) == 0;
  ep.endpoint.host = "ssm." + ep.region + (china ? ".amazonaws.com.cn" : ".amazonaws.com");
  ep.endpoint.port = 443;
  ep.url = "https://" + ep.endpoint.host;
  return ep;
}

std::string get_parameter_body(std::string_view name, bool with_decryption) {
  json::object o;
  o["Name"] = name;
  o["WithDecryption"] = with_decryption;
  return json::serialize(o);
}

Result<std::vector<HttpHeader>> sign_ssm_request(const SsmEndpoint& ep, std::string_view target,
                                                 std::string_view body, const Credentials& creds,
                                                 TimePoint now) {
  SigningRequest sr;
  sr.method = "POST";
  auto q = ep.target.find('?');
  sr.path = ep.target.substr(0, q);
  if (q != std::string::npos) sr.query = parse_query(std::string_view(ep.target).substr(q + 1));
  sr.headers = {{"Host", ep.endpoint.host_header()},
                {"Content-Type", "application/x-amz-json-1.1"},
                {"X-Amz-Target", std::string(target)}};
  sr.payload_hash = sha256_hex(body);
  auto sig = sign_request(sr, creds, now, SignOptions{ep.region, "ssm", nullptr});
  if (!sig) return sig.error();
  return std::move(sr.headers);
}

Result<std::string> parse_get_parameter_response(int status, std::string_view body,
                                                 std::string_view name) {
  const std::string what = "SSM parameter '" + std::string(name) + "': ";
  if (status < 200 || status >= 300) {
    Error e = error_answer(status, body);
    return make_error(e.code, what + e.message);
  }
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return make_error(Errc::kCorrupt, what + "the answer is not JSON (" + ec.message() + ")");
  const json::object* o = v.if_object();
  const json::value* p = o ? o->if_contains("Parameter") : nullptr;
  const json::value* val = p && p->is_object() ? p->get_object().if_contains("Value") : nullptr;
  if (!val || !val->is_string())
    return make_error(Errc::kCorrupt, what + "the answer has no string Parameter.Value");
  // An empty secret would silently turn signing off (an empty secret means "unsigned").
  if (val->get_string().empty()) return make_error(Errc::kCorrupt, what + "the value is empty");
  return std::string(val->get_string());
}

Result<std::unique_ptr<SsmClient>> SsmClient::create(SsmClientOptions options) {
  if (!options.env) options.env = process_env();
  auto ep = resolve_ssm_endpoint(options.env, options.fallback_region);
  if (!ep) return ep.error();
  if (!options.credentials) {
    CredentialsChainOptions co;
    co.env = options.env;
    options.credentials = CredentialsChain::make_default(co);
  }
  if (!options.sleep)
    options.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  if (!options.clock) options.clock = [] { return std::chrono::system_clock::now(); };
  if (options.max_attempts < 1) options.max_attempts = 1;
  return std::unique_ptr<SsmClient>(new SsmClient(std::move(options), std::move(*ep)));
}

SsmClient::SsmClient(SsmClientOptions options, SsmEndpoint endpoint)
    : options_(std::move(options)), endpoint_(std::move(endpoint)), http_([&] {
        net::HttpClientOptions h;
        h.connect_timeout = options_.attempt_timeout;
        h.timeout = options_.attempt_timeout;
        h.max_body = 64 * 1024;  // a parameter is at most 8 KiB (advanced tier)
        h.max_error_body = 64 * 1024;
        return h;
      }()) {}

Result<std::string> SsmClient::attempt(std::string_view name, const std::string& body,
                                       std::chrono::milliseconds timeout) {
  auto creds = options_.credentials->get();
  if (!creds)
    return make_error(creds.error().code, "SSM parameter '" + std::string(name) +
                                              "': no AWS credentials: " + creds.error().message);
  auto headers =
      sign_ssm_request(endpoint_, "AmazonSSM.GetParameter", body, *creds, options_.clock());
  if (!headers) return headers.error();
  net::ClientRequest req;
  req.method = "POST";
  req.endpoint = endpoint_.endpoint;
  req.target = endpoint_.target;
  for (auto& h : *headers) req.headers.emplace_back(std::move(h.name), std::move(h.value));
  req.body = body;
  req.timeout = timeout;
  auto r = http_.request(req);
  if (!r)
    return make_error(r.error().code,
                      "SSM parameter '" + std::string(name) + "': " + r.error().message);
  return parse_get_parameter_response(r->status, r->body, name);
}

Result<std::string> SsmClient::get_parameter(std::string_view name, bool with_decryption) {
  const std::string body = get_parameter_body(name, with_decryption);
  const auto deadline = SteadyClock::now() + options_.deadline;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (int n = 1;; ++n) {
    auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    auto r = attempt(name, body,
                     std::clamp(remaining, std::chrono::milliseconds(1), options_.attempt_timeout));
    if (r || !r.error().retryable()) return r;
    auto delay = backoff_delay(n, options_.retry_base, options_.retry_max, uniform(rng));
    if (n >= options_.max_attempts || SteadyClock::now() + delay >= deadline)
      return make_error(r.error().code,
                        r.error().message + " (gave up after " + std::to_string(n) + " attempts)");
    log::warn("{}; retrying in {} ms", log::escape(r.error().message), delay.count());
    options_.sleep(delay);
  }
}

Result<std::string> read_secret_parameter(std::string_view name, std::string_view fallback_region) {
  const std::string prefix = std::string(kSecretSsmParameterEnv) + ": ";
  SsmClientOptions o;
  o.fallback_region = std::string(fallback_region);
  auto client = SsmClient::create(std::move(o));
  if (!client) return make_error(client.error().code, prefix + client.error().message);
  auto value = (*client)->get_parameter(name);
  if (!value) return make_error(value.error().code, prefix + value.error().message);
  log::info("read the shared secret from SSM parameter '{}' ({})", name, (*client)->endpoint().url);
  return value;
}

}  // namespace ingestor::s3
