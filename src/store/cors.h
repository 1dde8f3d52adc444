#pragma once
// A bucket's CORS configuration (PutBucketCors / GetBucketCors / DeleteBucketCors) and how a
// request is matched against it (AWS docs cors.html): the first rule whose AllowedOrigins match
// the Origin header (one '*' wildcard per pattern), whose AllowedMethods hold the method (for a
// preflight OPTIONS request, Access-Control-Request-Method), and, for a preflight, whose
// AllowedHeaders cover every Access-Control-Request-Headers entry. Pure functions; thread-safe.
// Stored as the canonical XML this module renders (buckets.cors_xml, docs/formats/store.md).

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/store_error.h"

namespace ingestor::store {

struct CorsRule {
  std::string id;
  std::vector<std::string> allowed_methods;  // GET PUT HEAD POST DELETE
  std::vector<std::string> allowed_origins;  // "*", "https://*.example.com"
  std::vector<std::string> allowed_headers;  // lower-cased on parse; may hold one '*'
  std::vector<std::string> expose_headers;
  std::optional<int> max_age_seconds;
};

// <CORSConfiguration><CORSRule>...; MalformedXML for anything else, InvalidRequest for a rule
// without origins or methods or with an unsupported method; at most 100 rules.
[[nodiscard]] ApiResult<std::vector<CorsRule>> parse_cors_config(std::string_view xml);
std::string render_cors_config(const std::vector<CorsRule>& rules);

// Whether `origin` matches `pattern` (at most one '*', matching any run of characters).
bool cors_origin_matches(std::string_view pattern, std::string_view origin);

// The first matching rule (nullptr if none). `request_headers`: the lower-cased
// Access-Control-Request-Headers of a preflight (empty otherwise).
const CorsRule* match_cors_rule(const std::vector<CorsRule>& rules, std::string_view origin,
                                std::string_view method,
                                const std::vector<std::string>& request_headers);

// The Access-Control-* response headers for a matched rule: Allow-Origin ("*" when the rule's
// origin is "*", else the request's origin), Allow-Methods, Expose-Headers, Max-Age, and for a
// preflight Allow-Headers (the requested ones), plus Vary.
std::vector<std::pair<std::string, std::string>> cors_headers(
    const CorsRule& rule, std::string_view origin, const std::vector<std::string>& request_headers,
    bool preflight);

// Splits an Access-Control-Request-Headers value into lower-cased, trimmed names.
std::vector<std::string> split_header_list(std::string_view v);

}  // namespace ingestor::store
