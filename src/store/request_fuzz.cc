// Fuzz target `request` (fuzz/README.md): how `ingestor store` reads a request's target and Host
// header into bucket, key and query (request.h), and checks and encodes names (keys.h).
//
// Input: "HOST\nTARGET" (no newline: the whole input is the target, with no Host header).
//
// Invariants:
//  - path style: "/" + bucket (+ "/" + key) is the decoded path; virtual-hosted style: the bucket
//    comes from the Host header and the key is the decoded path without its leading '/';
//  - re-encoding the decoded path (as a client would) and parsing again gives the same address;
//  - a key that validate_key() accepts is valid UTF-8 by both of the project's UTF-8 readers, and
//    its listing encoding (encoding-type=url) decodes back to it;
//  - a bucket name accepted by is_valid_bucket_name() is 3..63 bytes of [a-z0-9.-];
//  - the query parses into parameters whose canonical form (SigV4) parses back to the same
//    names and values.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/charset.h"
#include "base/fuzz_check.h"
#include "s3/sigv4.h"
#include "store/keys.h"
#include "store/request.h"

namespace {

using namespace ingestor;
using namespace ingestor::store;

bool same_address(const Address& a, const Address& b) {
  return a.bucket == b.bucket && a.key == b.key && a.virtual_host == b.virtual_host &&
         a.decoded_path == b.decoded_path && a.raw_query == b.raw_query;
}

void check_names(const Address& a) {
  if (is_valid_bucket_name(a.bucket)) {
    INGESTOR_FUZZ_CHECK(a.bucket.size() >= 3 && a.bucket.size() <= 63, a.bucket);
    INGESTOR_FUZZ_CHECK(std::all_of(a.bucket.begin(), a.bucket.end(),
                                    [](char c) {
                                      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                             c == '.' || c == '-';
                                    }),
                        a.bucket);
  }
  const bool utf8 = is_valid_utf8(a.key);
  // charset.h's decoder replaces every invalid sequence by U+FFFD: valid input comes back as is.
  INGESTOR_FUZZ_CHECK(utf8 == (decode_to_utf8(a.key, Charset::kUtf8) == a.key), a.key);
  if (validate_key(a.key)) {
    INGESTOR_FUZZ_CHECK(utf8 && !a.key.empty() && a.key.size() <= kMaxKeyBytes);
    const auto listed = s3::percent_decode(url_encode_for_listing(a.key), true);
    INGESTOR_FUZZ_CHECK(listed && *listed == a.key, a.key);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string_view host = fuzz::take_first_line(in);
  const std::string_view target = in;
  auto a = parse_address(target, host, "localhost");
  if (!a) {
    INGESTOR_FUZZ_CHECK(a.error().code == "InvalidURI", a.error().code);
    return 0;
  }
  INGESTOR_FUZZ_CHECK(a->decoded_path.starts_with("/"), a->decoded_path);
  if (a->virtual_host) {
    INGESTOR_FUZZ_CHECK(a->key == a->decoded_path.substr(1));
  } else {
    const std::string rebuilt =
        "/" + a->bucket +
        (a->decoded_path.find('/', 1) == std::string::npos ? std::string() : "/" + a->key);
    INGESTOR_FUZZ_CHECK(rebuilt == a->decoded_path, rebuilt + " vs " + a->decoded_path);
  }
  std::string reencoded = s3::uri_encode(a->decoded_path, false);
  if (target.find('?') != std::string_view::npos) reencoded += "?" + a->raw_query;
  auto again = parse_address(reencoded, host, "localhost");
  INGESTOR_FUZZ_CHECK(again.has_value() && same_address(*a, *again), reencoded);
  check_names(*a);

  const auto query = s3::parse_query(a->raw_query);
  for (const auto& p : query) (void)query_value(query, p.name);
  const auto canonical = s3::parse_query(s3::canonical_query(query));
  INGESTOR_FUZZ_CHECK(canonical.size() == query.size());
  for (const auto& p : query) {
    const auto v = query_value(canonical, p.name);
    INGESTOR_FUZZ_CHECK(v.has_value(), p.name);
  }
  return 0;
}
