#include "s3/s3_request.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace ingestor::s3 {

Result<S3Endpoint> resolve_endpoint(std::string_view url, std::string_view region) {
  S3Endpoint out;
  std::string u(url);
  if (u.empty()) {
    if (region.empty()) return make_error(Errc::kConfig, "S3: no endpoint and no region");
    for (char c : region)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-'))
        return make_error(Errc::kConfig, fmt::format("S3: bad region '{}'", region));
    u = fmt::format("https://s3.{}.amazonaws.com", region);
    out.is_aws = true;
  }
  auto parsed = net::parse_url(u);
  if (!parsed) return make_error(Errc::kConfig, "S3 endpoint: " + parsed.error().message);
  if (parsed->target.find('?') != std::string::npos)
    return make_error(Errc::kConfig, fmt::format("S3 endpoint '{}' has a query", u));
  out.endpoint = parsed->endpoint;
  out.base_path = parsed->target;
  while (!out.base_path.empty() && out.base_path.back() == '/') out.base_path.pop_back();
  return out;
}

bool dns_compatible_bucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(b.front()) || !alnum(b.back())) return false;
  bool all_digits_or_dots = true;
  for (size_t i = 0; i < b.size(); ++i) {
    char c = b[i];
    if (!alnum(c) && c != '-' && c != '.') return false;
    if (c == '.' && i + 1 < b.size() && (b[i + 1] == '.' || b[i + 1] == '-')) return false;
    if (c == '-' && i + 1 < b.size() && b[i + 1] == '.') return false;
    if (!(c == '.' || (c >= '0' && c <= '9'))) all_digits_or_dots = false;
  }
  return !all_digits_or_dots;  // "192.168.1.1" looks like an IP address
}

Result<RequestUrl> build_url(const S3Endpoint& ep, Addressing addressing, std::string_view bucket,
                             std::string_view key, const std::vector<QueryParam>& query) {
  bool virtual_host = false;
  if (!bucket.empty()) {
    switch (addressing) {
      case Addressing::kPath:
        break;
      case Addressing::kVirtual:
        if (!dns_compatible_bucket(bucket))
          return make_error(Errc::kInvalidArgument,
                            fmt::format("bucket '{}' cannot be addressed virtual-hosted style "
                                        "(not DNS-compatible)",
                                        bucket));
        virtual_host = true;
        break;
      case Addressing::kAuto:
        virtual_host = ep.is_aws && dns_compatible_bucket(bucket) &&
                       (bucket.find('.') == std::string_view::npos || !ep.endpoint.tls);
        break;
    }
  }
  RequestUrl out;
  out.endpoint = ep.endpoint;
  std::string path = ep.base_path;
  if (virtual_host) {
    out.endpoint.host = std::string(bucket) + "." + ep.endpoint.host;
  } else if (!bucket.empty()) {
    path += "/";
    path += bucket;
  }
  if (!key.empty() || virtual_host || bucket.empty()) {
    path += "/";
    path += key;
  }
  out.host_header = out.endpoint.host_header();
  out.path = path;
  out.target = canonical_uri(path);
  if (!query.empty()) {
    // Appended in two steps: `"?" + std::string` inlined here at -O3 makes g++ 12 report a
    // false -Werror=restrict / stringop-overflow inside char_traits (GCC bug 105329).
    out.target += '?';
    out.target += canonical_query(query);
  }
  return out;
}

Classification classify_response(int status, std::string_view code) {
  static constexpr std::string_view kAuthCodes[] = {
      "InvalidAccessKeyId",    "SignatureDoesNotMatch", "AccessDenied",
      "RequestTimeTooSkewed",  "InvalidToken",          "AuthorizationHeaderMalformed",
      "MissingSecurityHeader", "InvalidSecurity",       "AccountProblem",
      "AllAccessDisabled",     "InvalidClientTokenId",  "AuthorizationQueryParametersError"};
  static constexpr std::string_view kRetryCodes[] = {"SlowDown",
                                                     "RequestTimeout",
                                                     "InternalError",
                                                     "ServiceUnavailable",
                                                     "Throttling",
                                                     "ThrottlingException",
                                                     "RequestThrottled",
                                                     "RequestLimitExceeded",
                                                     "TooManyRequestsException",
                                                     "ProvisionedThroughputExceededException",
                                                     "BandwidthLimitExceeded",
                                                     "EC2ThrottledException",
                                                     "PriorRequestNotComplete"};
  if (code == "ExpiredToken" || code == "TokenRefreshRequired") return {Errc::kAuth, true};
  for (auto c : kAuthCodes)
    if (code == c) return {Errc::kAuth, false};
  if (code == "RequestTimeout") return {Errc::kTimeout, true};
  for (auto c : kRetryCodes)
    if (code == c) return {Errc::kUnavailable, true};
  if (status == 429 || status >= 500) {
    if (status == 501) return {Errc::kUnsupported, false};
    return {Errc::kUnavailable, true};
  }
  if (status == 401 || status == 403) return {Errc::kAuth, false};
  if (status == 404) return {Errc::kNotFound, false};
  if (status == 409 || status == 412 || status == 304) return {Errc::kConflict, false};
  if (status == 408) return {Errc::kTimeout, true};
  if (status >= 300 && status < 400) return {Errc::kConfig, false};  // wrong region/endpoint
  return {Errc::kInvalidArgument, false};
}

std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base,
                                        std::chrono::milliseconds max, double random01) {
  if (attempt < 1) attempt = 1;
  const double cap =
      std::min(static_cast<double>(max.count()),
               static_cast<double>(base.count()) * std::ldexp(1.0, std::min(attempt - 1, 30)));
  random01 = std::clamp(random01, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(cap * random01));
}

}  // namespace ingestor::s3
