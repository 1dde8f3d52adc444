// SigV2 (RESTAuthentication.html), kept because `aws s3 presign` still produces SigV2 URLs by
// default: the string to sign, presigned URLs, and verification of header ("AWS AKID:sig") and
// presigned-query auth, which verify_request() (sigv4_verify.cc) dispatches here.

#include <algorithm>
#include <array>
#include <utility>

#include "s3/sigv4.h"
#include "s3/sigv4_internal.h"

namespace ingestor::s3 {

using sigv4_detail::all_digits;
using sigv4_detail::check_token;
using sigv4_detail::error;
using sigv4_detail::find_param;
using sigv4_detail::find_param_ci;
using sigv4_detail::lookup_secret;
using sigv4_detail::mismatch;
using sigv4_detail::skewed;
using sigv4_detail::to_lower;
using sigv4_detail::too_skewed;
using sigv4_detail::trim;
using std::chrono::seconds;

namespace {

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
    // A path-style request for a bucket ("/b") is signed by botocore with the resource "/b/", as
    // S3 wants a bucket's resource written: S3 accepts both forms.
    const std::string_view p = req.path;
    const bool bucket_only = req.virtual_bucket.empty() && p.size() > 1 && p.front() == '/' &&
                             p.find('/', 1) == std::string_view::npos;
    if (!bucket_only) return mismatch(sts, {});
    SigningRequest slash = req;
    slash.path += '/';
    if (!constant_time_equal(sign_v2(creds.secret_access_key, string_to_sign_v2(slash, date_field)),
                             signature)) {
      return mismatch(sts, {});
    }
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

// The year of an RFC 1123 date ("Tue, 07 Jul 9999 21:53:04 GMT"), or 0 when it is not one.
int http_date_year(std::string_view s) {
  // "<day>, DD Mon YYYY HH:MM:SS ...": the year is the 4-digit field after the month.
  auto comma = s.find(", ");
  if (comma == std::string_view::npos || s.size() < comma + 13) return 0;
  std::string_view rest = s.substr(comma + 2);  // "07 Jul 9999 ..."
  if (rest.size() < 11 || rest[2] != ' ' || rest[6] != ' ') return 0;
  std::string_view year = rest.substr(7, 4);
  if (!all_digits(year) || (rest.size() > 11 && rest[11] != ' ')) return 0;
  return std::stoi(std::string(year));
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

namespace sigv4_detail {

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
  // A well-formed date past what a TimePoint holds (year 2262 on) is merely far off: too skewed,
  // as S3 answers it; one before the epoch, or no date, is not a date a request may carry.
  const bool far_future = !t && http_date_year(request_time) >= 2262;
  if (t && *t < TimePoint{}) t.reset();
  if (!t && !far_future) {
    return error(S3Errc::kAccessDenied,
                 "AWS authentication requires a valid Date or x-amz-date header");
  }
  auto creds = lookup_secret(lookup, akid);
  if (!creds) return creds.error();
  if (auto st = check_token(*creds, req); !st) return st.error();
  if (far_future || skewed(*t, now, opts.max_skew))
    return too_skewed(request_time, now, opts.max_skew);
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
  // Up to 12 digits: an Expires beyond what a TimePoint holds (year 2262) has not passed, and
  // must not be converted (the multiplication to nanoseconds would overflow).
  constexpr int64_t kMaxExpires =
      std::chrono::duration_cast<seconds>(TimePoint::duration::max()).count();
  const int64_t expires_s = std::stoll(expires->value);
  const TimePoint t{seconds(std::min(expires_s, kMaxExpires))};
  if (expires_s <= kMaxExpires && now > t) {
    S3Error e(S3Errc::kAccessDenied, "Request has expired");
    e.details.emplace_back("Expires", format_iso8601(t));
    e.details.emplace_back("ServerTime", format_iso8601(now));
    return e;
  }
  return finish_v2(AuthKind::kQueryV2, req, akid->value, signature->value, expires->value, *creds);
}

}  // namespace sigv4_detail

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

}  // namespace ingestor::s3
