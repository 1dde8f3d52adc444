#pragma once
// The parts of an S3 request the API layer needs, independent of Beast: raw request line and
// headers, and their interpretation (addressing, query). Pure functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "s3/sigv4.h"
#include "store/store_error.h"

namespace ingestor::store {

struct RawRequest {
  std::string method;  // "PUT"
  std::string target;  // raw request-target "/b/k%20x?uploads"
  std::vector<s3::HttpHeader> headers;
  std::string remote_ip;
  bool has_body = false;                   // a body follows the header
  std::optional<uint64_t> content_length;  // Content-Length, when sent
  bool chunked = false;                    // Transfer-Encoding: chunked

  std::optional<std::string> header(std::string_view name) const {
    return s3::find_header(headers, name);
  }
};

struct Address {
  std::string bucket;  // empty for service-level requests (ListBuckets)
  std::string key;     // decoded key; empty for bucket-level requests
  bool virtual_host = false;
  std::string decoded_path;  // the whole decoded path (for signing)
  std::string raw_query;
};

// Splits the target into bucket and key: virtual-hosted style when the Host header (without its
// port) is "<bucket>.<domain>" for the configured domain (e.g. "localhost"), path style
// otherwise ("/bucket/key", "/bucket", "/bucket/"). The key keeps every byte ("a//b", "../x").
// InvalidURI for malformed percent escapes.
[[nodiscard]] ApiResult<Address> parse_address(std::string_view target,
                                               std::string_view host_header,
                                               std::string_view virtual_host_domain);

// A query parameter's value; nullopt if absent ("?uploads" yields "").
std::optional<std::string> query_value(const std::vector<s3::QueryParam>& q, std::string_view name);

}  // namespace ingestor::store
