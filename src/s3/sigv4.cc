#include "s3/sigv4.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <utility>

namespace ingestor::s3 {
namespace {

using std::chrono::days;
using std::chrono::seconds;
using std::chrono::sys_days;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Trimmed, with inner runs of spaces and tabs collapsed to one space.
std::string canonical_header_value(std::string_view v) {
  v = trim(v);
  std::string out;
  out.reserve(v.size());
  bool in_space = false;
  for (char c : v) {
    if (is_space(c)) {
      in_space = true;
      continue;
    }
    if (in_space) out += ' ';
    in_space = false;
    out += c;
  }
  return out;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Parses a fixed-width decimal field; the caller has checked the digits.
int num(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

std::optional<TimePoint> make_time(int y, int mo, int d, int h, int mi, int s) {
  const std::chrono::year_month_day ymd{std::chrono::year{y},
                                        std::chrono::month{static_cast<unsigned>(mo)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  return TimePoint(sys_days(ymd).time_since_epoch() + std::chrono::hours(h) +
                   std::chrono::minutes(mi) + seconds(s));
}

bool never_signed(std::string_view lower_name) {
  static constexpr std::array<std::string_view, 6> kNames = {"authorization", "user-agent",
                                                             "expect",        "transfer-encoding",
                                                             "connection",    "x-amzn-trace-id"};
  if (std::find(kNames.begin(), kNames.end(), lower_name) != kNames.end()) return true;
  return lower_name.starts_with("amz-sdk-");
}

void set_header(std::vector<HttpHeader>& headers, std::string_view name, std::string value) {
  std::erase_if(headers, [&](const HttpHeader& h) { return iequals(h.name, name); });
  headers.push_back(HttpHeader{std::string(name), std::move(value)});
}

std::vector<std::string> signable_headers(const std::vector<HttpHeader>& headers) {
  std::vector<std::string> names;
  for (const auto& h : headers) {
    std::string n = to_lower(h.name);
    if (!never_signed(n)) names.push_back(std::move(n));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string join(const std::vector<std::string>& v, char sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += sep;
    out += v[i];
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

const QueryParam* find_param(const std::vector<QueryParam>& q, std::string_view name) {
  for (const auto& p : q) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const QueryParam* find_param_ci(const std::vector<QueryParam>& q, std::string_view name) {
  for (const auto& p : q) {
    if (iequals(p.name, name)) return &p;
  }
  return nullptr;
}

// ---- verification helpers -----------------------------------------------------------------------

S3Error error(S3Errc c, std::string msg) { return S3Error(c, std::move(msg)); }

struct Credential {
  std::string access_key_id;
  std::string date;
  std::string region;
  std::string service;
};

// Parses "AKID/yyyymmdd/region/service/aws4_request" and checks it against the request date
// and the options. `header` selects the wording (Authorization header vs. query).
S3Result<Credential> parse_credential(std::string_view v, std::string_view amz_date,
                                      const VerifyOptions& opts, bool header) {
  const S3Errc code =
      header ? S3Errc::kAuthorizationHeaderMalformed : S3Errc::kAuthorizationQueryParametersError;
  const std::string prefix = header ? "The authorization header is malformed; "
                                    : "Error parsing the X-Amz-Credential parameter; ";
  const auto parts = split(v, '/');
  if (parts.size() != 5 || parts[0].empty() || parts[1].size() != 8 || !all_digits(parts[1]) ||
      parts[2].empty() || parts[3].empty()) {
    return error(code, prefix +
                           "the Credential is mal-formed; expecting "
                           "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
  }
  if (parts[4] != "aws4_request") {
    return error(code, prefix + "incorrect terminal \"" + std::string(parts[4]) +
                           "\". This endpoint uses \"aws4_request\".");
  }
  if (parts[3] != opts.service) {
    return error(code, prefix + "incorrect service \"" + std::string(parts[3]) +
                           "\". This endpoint belongs to \"" + opts.service + "\".");
  }
  if (!opts.region.empty() && parts[2] != opts.region) {
    return error(code, prefix + "the region '" + std::string(parts[2]) + "' is wrong; expecting '" +
                           opts.region + "'");
  }
  if (amz_date.substr(0, 8) != parts[1]) {
    return error(code, prefix + "Invalid credential date \"" + std::string(parts[1]) +
                           "\". This date is not the same as X-Amz-Date: \"" +
                           std::string(amz_date.substr(0, 8)) + "\".");
  }
  return Credential{std::string(parts[0]), std::string(parts[1]), std::string(parts[2]),
                    std::string(parts[3])};
}

S3Result<std::vector<std::string>> parse_signed_headers(std::string_view v, bool header) {
  const S3Errc code =
      header ? S3Errc::kAuthorizationHeaderMalformed : S3Errc::kAuthorizationQueryParametersError;
  std::vector<std::string> out;
  for (std::string_view name : split(v, ';')) {
    if (name.empty()) return error(code, "SignedHeaders contains an empty header name.");
    out.push_back(to_lower(name));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (!std::binary_search(out.begin(), out.end(), std::string("host"))) {
    return error(code, "SignedHeaders must include host.");
  }
  return out;
}

S3Status check_token(const Credentials& creds, const SigningRequest& req) {
  if (creds.session_token.empty()) return {};
  std::optional<std::string> token = find_header(req.headers, "x-amz-security-token");
  if (!token) {
    if (const QueryParam* p = find_param_ci(req.query, "x-amz-security-token")) token = p->value;
  }
  if (!token || !constant_time_equal(*token, creds.session_token)) {
    return error(S3Errc::kInvalidToken, "The provided token is malformed or otherwise invalid.");
  }
  return {};
}

S3Result<Credentials> lookup_secret(const SecretLookup& lookup, std::string_view akid) {
  std::optional<Credentials> creds = lookup ? lookup(akid) : std::nullopt;
  if (!creds) {
    S3Error e(S3Errc::kInvalidAccessKeyId,
              "The AWS Access Key Id you provided does not exist in our records.");
    e.details.emplace_back("AWSAccessKeyId", std::string(akid));
    return e;
  }
  return *std::move(creds);
}

S3Error too_skewed(std::string_view request_time, TimePoint now, seconds max_skew) {
  S3Error e(S3Errc::kRequestTimeTooSkewed,
            "The difference between the request time and the current time is too large.");
  e.details.emplace_back("RequestTime", std::string(request_time));
  e.details.emplace_back("ServerTime", format_iso8601(now));
  e.details.emplace_back("MaxAllowedSkewMilliseconds", std::to_string(max_skew.count() * 1000));
  return e;
}

bool skewed(TimePoint t, TimePoint now, seconds max_skew) {
  return t > now + max_skew || t < now - max_skew;
}

S3Error mismatch(std::string_view sts, std::string_view creq) {
  S3Error e(S3Errc::kSignatureDoesNotMatch,
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.");
  e.details.emplace_back("StringToSign", std::string(sts));
  if (!creq.empty()) e.details.emplace_back("CanonicalRequest", std::string(creq));
  return e;
}

SigningKey signing_key(const VerifyOptions& opts, std::string_view secret, const Credential& c) {
  if (opts.cache != nullptr) return opts.cache->get(secret, c.date, c.region, c.service);
  return derive_signing_key(secret, c.date, c.region, c.service);
}

// The payload hash named by the x-amz-content-sha256 header, or `fallback` when absent.
S3Result<std::pair<std::string, PayloadMode>> payload_of(const SigningRequest& req,
                                                         std::optional<std::string_view> fallback) {
  std::optional<std::string> v = find_header(req.headers, "x-amz-content-sha256");
  if (!v) {
    if (!fallback) {
      return error(S3Errc::kInvalidRequest,
                   "Missing required header for this request: x-amz-content-sha256");
    }
    v = std::string(*fallback);
  }
  auto mode = parse_payload_hash(*v);
  if (!mode) return mode.error();
  return std::make_pair(*std::move(v), *mode);
}

S3Result<AuthResult> verify_header_v4(const SigningRequest& req, std::string_view authz,
                                      const SecretLookup& lookup, TimePoint now,
                                      const VerifyOptions& opts) {
  const S3Errc malformed = S3Errc::kAuthorizationHeaderMalformed;
  // "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." (", " or ",").
  std::string_view rest = authz.substr(kAlgorithm.size());
  if (rest.empty() || !is_space(rest.front())) {
    return error(S3Errc::kInvalidArgument, "Unsupported Authorization Type");
  }
  std::optional<std::string_view> credential, signed_headers, signature;
  for (std::string_view part : split(trim(rest), ',')) {
    part = trim(part);
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return error(malformed,
                   "The authorization header is malformed; the authorization "
                   "component \"" +
                       std::string(part) + "\" is malformed.");
    }
    const std::string_view key = part.substr(0, eq);
    const std::string_view value = part.substr(eq + 1);
    std::optional<std::string_view>* slot = nullptr;
    if (key == "Credential") slot = &credential;
    if (key == "SignedHeaders") slot = &signed_headers;
    if (key == "Signature") slot = &signature;
    if (slot == nullptr || slot->has_value()) {
      return error(malformed,
                   "The authorization header is malformed; the authorization "
                   "component \"" +
                       std::string(part) + "\" is malformed.");
    }
    *slot = value;
  }
  if (!credential || !signed_headers || !signature) {
    return error(malformed,
                 "The authorization header is malformed; the authorization header requires three "
                 "components: Credential, SignedHeaders, and Signature.");
  }
  // The request time: x-amz-date, else Date (then written in the ISO form for signing).
  std::string amz_date;
  std::optional<TimePoint> t;
  if (auto x = find_header(req.headers, "x-amz-date")) {
    amz_date = trim(*x);
    t = parse_amz_date(amz_date);
  } else if (auto d = find_header(req.headers, "date")) {
    t = parse_http_date(trim(*d));
    if (t) amz_date = format_amz_date(*t);
  }
  if (!t) {
    return error(S3Errc::kAccessDenied,
                 "AWS authentication requires a valid Date or x-amz-date header");
  }
  auto cred = parse_credential(*credential, amz_date, opts, true);
  if (!cred) return cred.error();
  auto names = parse_signed_headers(*signed_headers, true);
  if (!names) return names.error();
  auto payload = payload_of(req, std::nullopt);
  if (!payload) return payload.error();

  auto creds = lookup_secret(lookup, cred->access_key_id);
  if (!creds) return creds.error();
  if (auto st = check_token(*creds, req); !st) return st.error();
  if (skewed(*t, now, opts.max_skew)) return too_skewed(amz_date, now, opts.max_skew);

  const std::string scope = credential_scope(cred->date, cred->region, cred->service);
  const std::string creq = canonical_request(req, *names, payload->first, false);
  const std::string sts = string_to_sign(amz_date, scope, creq);
  const SigningKey key = signing_key(opts, creds->secret_access_key, *cred);
  const std::string expected = sign_string(key, sts);
  if (!constant_time_equal(expected, *signature)) return mismatch(sts, creq);

  AuthResult r;
  r.kind = AuthKind::kHeaderV4;
  r.access_key_id = cred->access_key_id;
  r.payload_mode = payload->second;
  if (r.payload_mode == PayloadMode::kSha256) r.payload_sha256 = to_lower(payload->first);
  r.amz_date = std::move(amz_date);
  r.scope = scope;
  r.seed_signature = expected;
  r.signing_key = key;
  return r;
}

S3Result<AuthResult> verify_query_v4(const SigningRequest& req, const SecretLookup& lookup,
                                     TimePoint now, const VerifyOptions& opts) {
  const S3Errc qerr = S3Errc::kAuthorizationQueryParametersError;
  const QueryParam* alg = find_param(req.query, "X-Amz-Algorithm");
  const QueryParam* credential = find_param(req.query, "X-Amz-Credential");
  const QueryParam* signature = find_param(req.query, "X-Amz-Signature");
  const QueryParam* date = find_param(req.query, "X-Amz-Date");
  const QueryParam* signed_headers = find_param(req.query, "X-Amz-SignedHeaders");
  const QueryParam* expires = find_param(req.query, "X-Amz-Expires");
  if (!alg || !credential || !signature || !date || !signed_headers || !expires) {
    return error(qerr,
                 "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                 "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                 "X-Amz-Expires parameters.");
  }
  if (alg->value == "AWS4-ECDSA-P256-SHA256") {
    return error(S3Errc::kNotImplemented, "Signature Version 4A is not implemented.");
  }
  if (alg->value != kAlgorithm) {
    return error(qerr, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  }
  const std::optional<TimePoint> t = parse_amz_date(date->value);
  if (!t) {
    return error(qerr, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  }
  if (!all_digits(expires->value)) {
    if (!expires->value.empty() && expires->value[0] == '-' &&
        all_digits(std::string_view(expires->value).substr(1))) {
      return error(qerr, "X-Amz-Expires must be non-negative");
    }
    return error(qerr, "X-Amz-Expires should be a number");
  }
  if (expires->value.size() > 7 || num(expires->value) > kMaxPresignExpires) {
    return error(qerr,
                 "X-Amz-Expires must be less than a week (in seconds) that is 604800 seconds");
  }
  const seconds expires_s(num(expires->value));
  auto cred = parse_credential(credential->value, date->value, opts, false);
  if (!cred) return cred.error();
  auto names = parse_signed_headers(signed_headers->value, false);
  if (!names) return names.error();
  auto payload = payload_of(req, kUnsignedPayload);
  if (!payload) return payload.error();

  auto creds = lookup_secret(lookup, cred->access_key_id);
  if (!creds) return creds.error();
  if (auto st = check_token(*creds, req); !st) return st.error();
  if (*t > now + opts.max_skew) return error(S3Errc::kAccessDenied, "Request is not valid yet");
  if (now > *t + expires_s) {
    S3Error e(S3Errc::kAccessDenied, "Request has expired");
    e.details.emplace_back("X-Amz-Expires", expires->value);
    e.details.emplace_back("Expires", format_iso8601(*t + expires_s));
    e.details.emplace_back("ServerTime", format_iso8601(now));
    return e;
  }

  const std::string scope = credential_scope(cred->date, cred->region, cred->service);
  const std::string creq = canonical_request(req, *names, payload->first, true);
  const std::string sts = string_to_sign(date->value, scope, creq);
  const SigningKey key = signing_key(opts, creds->secret_access_key, *cred);
  const std::string expected = sign_string(key, sts);
  if (!constant_time_equal(expected, signature->value)) return mismatch(sts, creq);

  AuthResult r;
  r.kind = AuthKind::kQueryV4;
  r.access_key_id = cred->access_key_id;
  r.payload_mode = payload->second;
  if (r.payload_mode == PayloadMode::kSha256) r.payload_sha256 = to_lower(payload->first);
  r.amz_date = date->value;
  r.scope = scope;
  r.seed_signature = expected;
  r.signing_key = key;
  return r;
}

std::string sign_v2(std::string_view secret, std::string_view sts) {
  return base64_encode(hmac_sha1(secret, sts));
}

S3Result<AuthResult> finish_v2(AuthKind kind, const SigningRequest& req, std::string_view akid,
                               std::string signature, std::string_view date_field,
                               const Credentials& creds) {
  // '+' in an unencoded query value reads as a space; base64 has no spaces.
  std::replace(signature.begin(), signature.end(), ' ', '+');
  const std::string sts = string_to_sign_v2(req, date_field);
  if (!constant_time_equal(sign_v2(creds.secret_access_key, sts), signature)) {
    return mismatch(sts, {});
  }
  AuthResult r;
  r.kind = kind;
  r.access_key_id = std::string(akid);
  if (auto v = find_header(req.headers, "x-amz-content-sha256")) {
    auto mode = parse_payload_hash(*v);
    if (mode && *mode == PayloadMode::kSha256) {
      r.payload_mode = PayloadMode::kSha256;
      r.payload_sha256 = to_lower(*v);
    }
  }
  return r;
}

S3Result<AuthResult> verify_header_v2(const SigningRequest& req, std::string_view authz,
                                      const SecretLookup& lookup, TimePoint now,
                                      const VerifyOptions& opts) {
  const std::string_view cred = trim(authz.substr(4));
  const size_t colon = cred.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == cred.size()) {
    return error(S3Errc::kInvalidArgument,
                 "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature");
  }
  const std::string_view akid = cred.substr(0, colon);
  std::optional<TimePoint> t;
  std::string date_field;
  std::string request_time;
  if (auto x = find_header(req.headers, "x-amz-date")) {
    request_time = trim(*x);
    t = parse_http_date(request_time);
    if (!t) t = parse_amz_date(request_time);
  } else if (auto d = find_header(req.headers, "date")) {
    request_time = trim(*d);
    t = parse_http_date(request_time);
    date_field = request_time;
  }
  if (!t) {
    return error(S3Errc::kAccessDenied,
                 "AWS authentication requires a valid Date or x-amz-date header");
  }
  auto creds = lookup_secret(lookup, akid);
  if (!creds) return creds.error();
  if (auto st = check_token(*creds, req); !st) return st.error();
  if (skewed(*t, now, opts.max_skew)) return too_skewed(request_time, now, opts.max_skew);
  return finish_v2(AuthKind::kHeaderV2, req, akid, std::string(cred.substr(colon + 1)), date_field,
                   *creds);
}

S3Result<AuthResult> verify_query_v2(const SigningRequest& req, const SecretLookup& lookup,
                                     TimePoint now) {
  const QueryParam* akid = find_param(req.query, "AWSAccessKeyId");
  const QueryParam* signature = find_param(req.query, "Signature");
  const QueryParam* expires = find_param(req.query, "Expires");
  if (!akid || !signature || !expires || akid->value.empty()) {
    return error(S3Errc::kAccessDenied,
                 "Query-string authentication requires the Signature, Expires and AWSAccessKeyId "
                 "parameters");
  }
  if (!all_digits(expires->value) || expires->value.size() > 12) {
    return error(S3Errc::kAccessDenied,
                 "Invalid date (should be seconds since epoch): " + expires->value);
  }
  auto creds = lookup_secret(lookup, akid->value);
  if (!creds) return creds.error();
  if (auto st = check_token(*creds, req); !st) return st.error();
  const TimePoint t{seconds(std::stoll(expires->value))};
  if (now > t) {
    S3Error e(S3Errc::kAccessDenied, "Request has expired");
    e.details.emplace_back("Expires", format_iso8601(t));
    e.details.emplace_back("ServerTime", format_iso8601(now));
    return e;
  }
  return finish_v2(AuthKind::kQueryV2, req, akid->value, signature->value, expires->value, *creds);
}

bool is_v2_subresource(std::string_view name) {
  static constexpr std::array<std::string_view, 35> kNames = {
      "accelerate",
      "acl",
      "analytics",
      "cors",
      "defaultObjectAcl",
      "delete",
      "inventory",
      "lifecycle",
      "location",
      "logging",
      "metrics",
      "notification",
      "object-lock",
      "partNumber",
      "policy",
      "replication",
      "requestPayment",
      "response-cache-control",
      "response-content-disposition",
      "response-content-encoding",
      "response-content-language",
      "response-content-type",
      "response-expires",
      "restore",
      "select",
      "select-type",
      "storageClass",
      "tagging",
      "torrent",
      "uploadId",
      "uploads",
      "versionId",
      "versioning",
      "versions",
      "website",
  };
  return std::find(kNames.begin(), kNames.end(), name) != kNames.end();
}

}  // namespace

// ---- encoding helpers ---------------------------------------------------------------------------

std::string uri_encode(std::string_view s, bool encode_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || (c == '/' && !encode_slash)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const auto byte = from_hex(s.substr(i + 1, 2));
      if (!byte) return std::nullopt;
      out += (*byte)[0];
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<QueryParam> parse_query(std::string_view raw) {
  std::vector<QueryParam> out;
  if (raw.empty()) return out;
  for (std::string_view pair : split(raw, '&')) {
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    const std::string_view n = pair.substr(0, eq);
    const std::string_view v =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    QueryParam p;
    p.name = percent_decode(n, true).value_or(std::string(n));
    p.value = percent_decode(v, true).value_or(std::string(v));
    p.has_value = eq != std::string_view::npos;
    out.push_back(std::move(p));
  }
  return out;
}

std::optional<std::string> find_header(const std::vector<HttpHeader>& headers,
                                       std::string_view name) {
  std::optional<std::string> out;
  for (const auto& h : headers) {
    if (!iequals(h.name, name)) continue;
    if (out) {
      *out += ',';
      *out += h.value;
    } else {
      out = h.value;
    }
  }
  return out;
}

// ---- time ---------------------------------------------------------------------------------------

namespace {
struct Civil {
  int y;
  unsigned mo, d;
  long h, mi, s;
};
Civil civil(TimePoint t) {
  const auto secs = std::chrono::floor<seconds>(t);
  const auto dp = std::chrono::floor<days>(secs);
  const std::chrono::year_month_day ymd{dp};
  const std::chrono::hh_mm_ss hms{secs - dp};
  return Civil{int(ymd.year()),       unsigned(ymd.month()),
               unsigned(ymd.day()),   hms.hours().count(),
               hms.minutes().count(), static_cast<long>(hms.seconds().count())};
}
}  // namespace

std::string format_amz_date(TimePoint t) {
  const Civil c = civil(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02ld%02ld%02ldZ", c.y, c.mo, c.d, c.h, c.mi, c.s);
  return buf;
}

std::string format_iso8601(TimePoint t) {
  const Civil c = civil(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ldZ", c.y, c.mo, c.d, c.h, c.mi,
                c.s);
  return buf;
}

std::optional<TimePoint> parse_amz_date(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z' || !all_digits(s.substr(0, 8)) ||
      !all_digits(s.substr(9, 6))) {
    return std::nullopt;
  }
  return make_time(num(s.substr(0, 4)), num(s.substr(4, 2)), num(s.substr(6, 2)),
                   num(s.substr(9, 2)), num(s.substr(11, 2)), num(s.substr(13, 2)));
}

std::optional<TimePoint> parse_http_date(std::string_view s) {
  // "Fri, 24 May 2013 00:00:00 GMT"
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT" || !all_digits(s.substr(5, 2)) ||
      !all_digits(s.substr(12, 4)) || !all_digits(s.substr(17, 2)) ||
      !all_digits(s.substr(20, 2)) || !all_digits(s.substr(23, 2))) {
    return std::nullopt;
  }
  const auto m = std::find(kMonths.begin(), kMonths.end(), s.substr(8, 3));
  if (m == kMonths.end()) return std::nullopt;
  return make_time(num(s.substr(12, 4)), static_cast<int>(m - kMonths.begin()) + 1,
                   num(s.substr(5, 2)), num(s.substr(17, 2)), num(s.substr(20, 2)),
                   num(s.substr(23, 2)));
}

// ---- SigV4 building blocks ----------------------------------------------------------------------

std::string credential_scope(std::string_view date, std::string_view region,
                             std::string_view service) {
  std::string s;
  s.reserve(date.size() + region.size() + service.size() + 16);
  s.append(date).append("/").append(region).append("/").append(service).append("/aws4_request");
  return s;
}

SigningKey derive_signing_key(std::string_view secret, std::string_view date,
                              std::string_view region, std::string_view service) {
  const std::string k = "AWS4" + std::string(secret);
  const auto k_date = hmac_sha256(k, date);
  const auto k_region = hmac_sha256(as_bytes(k_date), region);
  const auto k_service = hmac_sha256(as_bytes(k_region), service);
  return hmac_sha256(as_bytes(k_service), "aws4_request");
}

SigningKey SigningKeyCache::get(std::string_view secret, std::string_view date,
                                std::string_view region, std::string_view service) {
  std::string id;
  id.reserve(secret.size() + date.size() + region.size() + service.size() + 3);
  id.append(secret).append(1, '\0').append(date).append(1, '\0').append(region).append(1, '\0');
  id.append(service);
  {
    std::lock_guard lock(mu_);
    for (const auto& e : entries_) {
      if (e.id == id) return e.key;
    }
  }
  const SigningKey key = derive_signing_key(secret, date, region, service);
  std::lock_guard lock(mu_);
  if (entries_.size() < capacity_) {
    entries_.push_back(Entry{std::move(id), key});
  } else {
    entries_[next_] = Entry{std::move(id), key};
    next_ = (next_ + 1) % capacity_;
  }
  return key;
}

std::string canonical_uri(std::string_view decoded_path) {
  if (decoded_path.empty()) return "/";
  return uri_encode(decoded_path, false);
}

std::string canonical_query(const std::vector<QueryParam>& query, std::string_view exclude) {
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(query.size());
  for (const auto& p : query) {
    if (!exclude.empty() && p.name == exclude) continue;
    pairs.emplace_back(uri_encode(p.name, true), uri_encode(p.value, true));
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [n, v] : pairs) {
    if (!out.empty()) out += '&';
    out += n;
    out += '=';
    out += v;
  }
  return out;
}

std::string canonical_request(const SigningRequest& req,
                              const std::vector<std::string>& signed_headers,
                              std::string_view payload_hash, bool presigned) {
  std::string out;
  out.reserve(256);
  out += req.method;
  out += '\n';
  out += canonical_uri(req.path);
  out += '\n';
  out += canonical_query(req.query, presigned ? "X-Amz-Signature" : "");
  out += '\n';
  for (const auto& name : signed_headers) {
    out += name;
    out += ':';
    out += canonical_header_value(find_header(req.headers, name).value_or(""));
    out += '\n';
  }
  out += '\n';
  out += join(signed_headers, ';');
  out += '\n';
  out += payload_hash;
  return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request) {
  std::string out;
  out.reserve(128 + scope.size());
  out.append(kAlgorithm).append("\n").append(amz_date).append("\n").append(scope).append("\n");
  out += sha256_hex(canonical_request);
  return out;
}

std::string sign_string(const SigningKey& key, std::string_view sts) {
  return to_hex(hmac_sha256(as_bytes(key), sts));
}

// ---- client side --------------------------------------------------------------------------------

Result<SignatureInfo> sign_request(SigningRequest& req, const Credentials& creds, TimePoint now,
                                   const SignOptions& opts) {
  if (!find_header(req.headers, "host")) {
    return make_error(Errc::kInvalidArgument, "sigv4: the request has no Host header");
  }
  if (req.payload_hash.empty()) {
    return make_error(Errc::kInvalidArgument, "sigv4: the request has no payload hash");
  }
  SignatureInfo info;
  info.amz_date = format_amz_date(now);
  set_header(req.headers, "x-amz-date", info.amz_date);
  if (!find_header(req.headers, "x-amz-content-sha256")) {
    req.headers.push_back(HttpHeader{"x-amz-content-sha256", req.payload_hash});
  }
  if (!creds.session_token.empty()) {
    set_header(req.headers, "x-amz-security-token", creds.session_token);
  }
  const std::vector<std::string> names = signable_headers(req.headers);
  const std::string date = info.amz_date.substr(0, 8);
  info.scope = credential_scope(date, opts.region, opts.service);
  info.key = opts.cache
                 ? opts.cache->get(creds.secret_access_key, date, opts.region, opts.service)
                 : derive_signing_key(creds.secret_access_key, date, opts.region, opts.service);
  info.signed_headers = join(names, ';');
  info.canonical_request = canonical_request(req, names, req.payload_hash, false);
  info.string_to_sign = string_to_sign(info.amz_date, info.scope, info.canonical_request);
  info.signature = sign_string(info.key, info.string_to_sign);
  info.authorization = std::string(kAlgorithm) + " Credential=" + creds.access_key_id + "/" +
                       info.scope + ", SignedHeaders=" + info.signed_headers +
                       ", Signature=" + info.signature;
  set_header(req.headers, "Authorization", info.authorization);
  return info;
}

Result<std::string> presign_url(const SigningRequest& req, const Credentials& creds, TimePoint now,
                                std::chrono::seconds expires, const SignOptions& opts,
                                SignatureInfo* info_out) {
  if (!find_header(req.headers, "host")) {
    return make_error(Errc::kInvalidArgument, "sigv4: the request has no Host header");
  }
  if (expires.count() < 1 || expires.count() > kMaxPresignExpires) {
    return make_error(Errc::kInvalidArgument,
                      "sigv4: presigned URL expiry must be 1..604800 seconds, got " +
                          std::to_string(expires.count()));
  }
  SignatureInfo info;
  info.amz_date = format_amz_date(now);
  const std::string date = info.amz_date.substr(0, 8);
  info.scope = credential_scope(date, opts.region, opts.service);
  const std::vector<std::string> names = signable_headers(req.headers);
  info.signed_headers = join(names, ';');

  SigningRequest r = req;
  std::erase_if(r.query, [](const QueryParam& p) { return p.name.starts_with("X-Amz-"); });
  r.query.push_back({"X-Amz-Algorithm", std::string(kAlgorithm)});
  r.query.push_back({"X-Amz-Credential", creds.access_key_id + "/" + info.scope});
  r.query.push_back({"X-Amz-Date", info.amz_date});
  r.query.push_back({"X-Amz-Expires", std::to_string(expires.count())});
  if (!creds.session_token.empty()) {
    r.query.push_back({"X-Amz-Security-Token", creds.session_token});
  }
  r.query.push_back({"X-Amz-SignedHeaders", info.signed_headers});
  info.key = opts.cache
                 ? opts.cache->get(creds.secret_access_key, date, opts.region, opts.service)
                 : derive_signing_key(creds.secret_access_key, date, opts.region, opts.service);
  info.canonical_request = canonical_request(r, names, kUnsignedPayload, true);
  info.string_to_sign = string_to_sign(info.amz_date, info.scope, info.canonical_request);
  info.signature = sign_string(info.key, info.string_to_sign);
  std::string url =
      canonical_uri(r.path) + "?" + canonical_query(r.query) + "&X-Amz-Signature=" + info.signature;
  if (info_out != nullptr) *info_out = std::move(info);
  return url;
}

std::string string_to_sign_v2(const SigningRequest& req, std::string_view date_or_expires) {
  auto standard = [&](std::string_view name) -> std::string {
    if (auto h = find_header(req.headers, name)) return std::string(trim(*h));
    if (const QueryParam* p = find_param_ci(req.query, name)) return std::string(trim(p->value));
    return {};
  };
  std::string out = req.method;
  out += '\n';
  out += standard("content-md5");
  out += '\n';
  out += standard("content-type");
  out += '\n';
  out += date_or_expires;
  out += '\n';
  // x-amz-* headers and query parameters: lower-case names, values of one name joined by ','.
  std::vector<std::pair<std::string, std::string>> amz;
  auto add = [&](std::string_view name, std::string_view value) {
    std::string n = to_lower(name);
    if (!n.starts_with("x-amz-")) return;
    for (auto& [k, v] : amz) {
      if (k == n) {
        v += ',';
        v += trim(value);
        return;
      }
    }
    amz.emplace_back(std::move(n), std::string(trim(value)));
  };
  for (const auto& h : req.headers) add(h.name, h.value);
  for (const auto& p : req.query) add(p.name, p.value);
  std::sort(amz.begin(), amz.end());
  for (const auto& [k, v] : amz) {
    out += k;
    out += ':';
    out += v;
    out += '\n';
  }
  if (!req.virtual_bucket.empty()) {
    out += '/';
    out += req.virtual_bucket;
  }
  out += canonical_uri(req.path);
  std::vector<const QueryParam*> sub;
  for (const auto& p : req.query) {
    if (is_v2_subresource(p.name)) sub.push_back(&p);
  }
  std::stable_sort(sub.begin(), sub.end(),
                   [](const QueryParam* a, const QueryParam* b) { return a->name < b->name; });
  for (size_t i = 0; i < sub.size(); ++i) {
    out += i == 0 ? '?' : '&';
    out += sub[i]->name;
    if (sub[i]->has_value) {
      out += '=';
      out += sub[i]->value;
    }
  }
  return out;
}

Result<std::string> presign_url_v2(const SigningRequest& req, const Credentials& creds,
                                   int64_t expires_unix) {
  SigningRequest r = req;
  const std::string expires = std::to_string(expires_unix);
  if (!creds.session_token.empty()) {
    r.query.push_back({"x-amz-security-token", creds.session_token});
  }
  const std::string sig = sign_v2(creds.secret_access_key, string_to_sign_v2(r, expires));
  r.query.push_back({"AWSAccessKeyId", creds.access_key_id});
  r.query.push_back({"Expires", expires});
  r.query.push_back({"Signature", sig});
  std::string url = canonical_uri(r.path);
  for (size_t i = 0; i < r.query.size(); ++i) {
    url += i == 0 ? '?' : '&';
    url += uri_encode(r.query[i].name, true);
    if (r.query[i].has_value) {
      url += '=';
      url += uri_encode(r.query[i].value, true);
    }
  }
  return url;
}

// ---- server side --------------------------------------------------------------------------------

S3Result<PayloadMode> parse_payload_hash(std::string_view v) {
  if (v == kUnsignedPayload) return PayloadMode::kUnsigned;
  if (v == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") return PayloadMode::kStreamingSigned;
  if (v == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") {
    return PayloadMode::kStreamingSignedTrailer;
  }
  if (v == "STREAMING-UNSIGNED-PAYLOAD-TRAILER") return PayloadMode::kStreamingUnsignedTrailer;
  if (v.starts_with("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")) {
    return error(S3Errc::kNotImplemented, "Signature Version 4A is not implemented.");
  }
  if (v.size() == 64 && from_hex(v)) return PayloadMode::kSha256;
  return error(S3Errc::kInvalidArgument,
               "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-... value, or a valid "
               "sha256 value.");
}

S3Result<AuthResult> verify_request(const SigningRequest& req, const SecretLookup& lookup,
                                    TimePoint now, const VerifyOptions& opts) {
  const std::optional<std::string> authz = find_header(req.headers, "authorization");
  const bool v4_query = find_param(req.query, "X-Amz-Algorithm") != nullptr ||
                        find_param(req.query, "X-Amz-Credential") != nullptr ||
                        find_param(req.query, "X-Amz-Signature") != nullptr;
  const bool v2_query = find_param(req.query, "AWSAccessKeyId") != nullptr ||
                        find_param(req.query, "Signature") != nullptr;
  if (int(authz.has_value()) + int(v4_query) + int(v2_query) > 1) {
    return error(S3Errc::kInvalidArgument,
                 "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                 "Signature query string parameter or the Authorization header should be "
                 "specified");
  }
  if (authz) {
    const std::string_view a = trim(*authz);
    if (a.starts_with(kAlgorithm)) return verify_header_v4(req, a, lookup, now, opts);
    if (a.starts_with("AWS4-ECDSA-P256-SHA256")) {
      return error(S3Errc::kNotImplemented, "Signature Version 4A is not implemented.");
    }
    if (a.starts_with("AWS ")) return verify_header_v2(req, a, lookup, now, opts);
    return error(S3Errc::kInvalidArgument, "Unsupported Authorization Type");
  }
  if (v4_query) return verify_query_v4(req, lookup, now, opts);
  if (v2_query) return verify_query_v2(req, lookup, now);
  AuthResult r;
  if (auto v = find_header(req.headers, "x-amz-content-sha256")) {
    auto mode = parse_payload_hash(*v);
    if (!mode) return mode.error();
    if (*mode == PayloadMode::kStreamingSigned || *mode == PayloadMode::kStreamingSignedTrailer) {
      return error(S3Errc::kAccessDenied, "Signed streaming uploads require a signed request");
    }
    r.payload_mode = *mode;
    if (*mode == PayloadMode::kSha256) r.payload_sha256 = to_lower(*v);
  }
  return r;
}

}  // namespace ingestor::s3
