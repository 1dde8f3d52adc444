// SigV4 as the client uses it, and the building blocks the verifier shares: URI encoding, query
// parsing, the amz and HTTP dates, the canonical request, key derivation and its cache, header
// signing and presigned URLs. Verification is in sigv4_verify.cc, SigV2 in sigv2.cc, the
// x-amz-content-sha256 modes in sigv4_payload.cc; their shared helpers are defined here.

#include "s3/sigv4.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <utility>

#include "s3/sigv4_internal.h"

namespace ingestor::s3 {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

namespace sigv4_detail {

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

}  // namespace sigv4_detail

using sigv4_detail::all_digits;
using sigv4_detail::iequals;
using sigv4_detail::is_space;
using sigv4_detail::join;
using sigv4_detail::num;
using sigv4_detail::split;
using sigv4_detail::to_lower;
using sigv4_detail::trim;

namespace {

using std::chrono::days;
using std::chrono::seconds;
using std::chrono::sys_days;

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

// The UTC time of a local time `utc_offset` ahead of UTC.
std::optional<TimePoint> make_time(int y, int mo, int d, int h, int mi, int s,
                                   seconds utc_offset = seconds(0)) {
  const std::chrono::year_month_day ymd{std::chrono::year{y},
                                        std::chrono::month{static_cast<unsigned>(mo)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  // In seconds first: a TimePoint counts nanoseconds in 64 bits and holds only the years 1678 to
  // 2261; a date outside them is refused, not overflowed.
  const seconds t = sys_days(ymd).time_since_epoch() + std::chrono::hours(h) +
                    std::chrono::minutes(mi) + seconds(s) - utc_offset;
  constexpr seconds kMin = std::chrono::duration_cast<seconds>(TimePoint::duration::min());
  constexpr seconds kMax = std::chrono::duration_cast<seconds>(TimePoint::duration::max());
  if (t < kMin || t > kMax) return std::nullopt;
  return TimePoint(t);
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
  // "Fri, 24 May 2013 00:00:00 GMT", or with a numeric zone "... 00:00:00 +0000" (RFC 2822, as
  // s3cmd writes x-amz-date for SigV2).
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::string_view zone = s.size() > 25 ? s.substr(25) : std::string_view();
  const bool numeric_zone = zone.size() == 6 && zone[0] == ' ' &&
                            (zone[1] == '+' || zone[1] == '-') && all_digits(zone.substr(2)) &&
                            num(zone.substr(4, 2)) < 60;
  if ((zone != " GMT" && !numeric_zone) || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' ||
      s[16] != ' ' || s[19] != ':' || s[22] != ':' || !all_digits(s.substr(5, 2)) ||
      !all_digits(s.substr(12, 4)) || !all_digits(s.substr(17, 2)) ||
      !all_digits(s.substr(20, 2)) || !all_digits(s.substr(23, 2))) {
    return std::nullopt;
  }
  const auto m = std::find(kMonths.begin(), kMonths.end(), s.substr(8, 3));
  if (m == kMonths.end()) return std::nullopt;
  seconds offset(0);
  if (numeric_zone) {
    offset =
        std::chrono::hours(num(zone.substr(2, 2))) + std::chrono::minutes(num(zone.substr(4, 2)));
    if (zone[1] == '-') offset = -offset;
  }
  return make_time(num(s.substr(12, 4)), static_cast<int>(m - kMonths.begin()) + 1,
                   num(s.substr(5, 2)), num(s.substr(17, 2)), num(s.substr(20, 2)),
                   num(s.substr(23, 2)), offset);
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

}  // namespace ingestor::s3
