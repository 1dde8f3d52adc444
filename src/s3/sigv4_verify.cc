// The server side of sigv4.h: verify_request() tells the auth mechanisms apart and checks SigV4
// header and presigned-query auth here (SigV2 is in sigv2.cc), with the credential lookup, token,
// clock-skew and mismatch errors both versions answer with. Error codes and messages are S3's own,
// which clients match on.

#include <algorithm>
#include <optional>
#include <utility>

#include "s3/sigv4.h"
#include "s3/sigv4_internal.h"

namespace ingestor::s3 {

using sigv4_detail::all_digits;
using sigv4_detail::error;
using sigv4_detail::find_param;
using sigv4_detail::find_param_ci;
using sigv4_detail::is_space;
using sigv4_detail::num;
using sigv4_detail::payload_of;
using sigv4_detail::split;
using sigv4_detail::to_lower;
using sigv4_detail::trim;
using sigv4_detail::verify_header_v2;
using sigv4_detail::verify_query_v2;
using std::chrono::seconds;

namespace sigv4_detail {

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

}  // namespace sigv4_detail

using sigv4_detail::check_token;
using sigv4_detail::lookup_secret;
using sigv4_detail::mismatch;
using sigv4_detail::skewed;
using sigv4_detail::too_skewed;

namespace {

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

// Every x-amz-* header must be covered by the signature (S3: 403 AccessDenied "There were headers
// present in the request which were not signed", HeadersNotSigned listing them), so that whoever
// holds a presigned URL cannot add x-amz-copy-source, x-amz-acl or x-amz-meta-* to it (issue 16).
// Exempt: x-amz-content-sha256, whose value is the canonical request's payload line in both
// modes, and in header auth x-amz-date, the string to sign's date; both are covered anyway.
S3Status check_unsigned_headers(const SigningRequest& req, const std::vector<std::string>& names,
                                bool presigned) {
  std::vector<std::string> missing;
  for (const auto& h : req.headers) {
    std::string n = to_lower(h.name);
    if (!n.starts_with("x-amz-") || n == "x-amz-content-sha256") continue;
    if (!presigned && n == "x-amz-date") continue;
    if (std::binary_search(names.begin(), names.end(), n)) continue;
    if (std::find(missing.begin(), missing.end(), n) == missing.end()) missing.push_back(n);
  }
  if (missing.empty()) return {};
  std::string list;
  for (const auto& n : missing) list += (list.empty() ? "" : ", ") + n;
  S3Error e(S3Errc::kAccessDenied,
            "There were headers present in the request which were not signed");
  e.details.emplace_back("HeadersNotSigned", std::move(list));
  return e;
}

SigningKey signing_key(const VerifyOptions& opts, std::string_view secret, const Credential& c) {
  if (opts.cache != nullptr) return opts.cache->get(secret, c.date, c.region, c.service);
  return derive_signing_key(secret, c.date, c.region, c.service);
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
  if (auto st = check_unsigned_headers(req, *names, false); !st) return st.error();

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
  // A number out of range is a URL that grants nothing: 403 AccessDenied (issue 16; what the
  // ceph/s3-tests suite asks of an S3 service), where junk is a malformed request (400).
  if (!all_digits(expires->value)) {
    if (!expires->value.empty() && expires->value[0] == '-' &&
        all_digits(std::string_view(expires->value).substr(1))) {
      return error(S3Errc::kAccessDenied, "X-Amz-Expires must be non-negative");
    }
    return error(qerr, "X-Amz-Expires should be a number");
  }
  if (expires->value.size() > 7 || num(expires->value) > kMaxPresignExpires) {
    return error(S3Errc::kAccessDenied,
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
  if (auto st = check_unsigned_headers(req, *names, true); !st) return st.error();

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

}  // namespace

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
