#pragma once
// Helpers shared by the files that implement sigv4.h: sigv4.cc (signing, and the string and
// request helpers below), sigv4_verify.cc (SigV4 verification and the errors both versions
// answer with), sigv2.cc, sigv4_payload.cc. Not part of the module's interface: include it only
// from those files.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "s3/s3_error.h"
#include "s3/sigv4.h"

namespace ingestor::s3::sigv4_detail {

// ---- strings and requests (sigv4.cc) -----------------------------------------------------------

// ASCII only: header names, parameter names and dates are ASCII.
std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool is_space(char c);  // ' ' or '\t', the whitespace of header values
std::string_view trim(std::string_view s);
bool all_digits(std::string_view s);  // false for ""
// Parses a fixed-width decimal field; the caller has checked the digits.
int num(std::string_view s);
std::string join(const std::vector<std::string>& v, char sep);
std::vector<std::string_view> split(std::string_view s, char sep);
// The first parameter with this exact name / with this name in any case; nullptr if none.
const QueryParam* find_param(const std::vector<QueryParam>& q, std::string_view name);
const QueryParam* find_param_ci(const std::vector<QueryParam>& q, std::string_view name);

// ---- verification (sigv4_verify.cc, also used by sigv2.cc) -------------------------------------

inline S3Error error(S3Errc c, std::string msg) { return S3Error(c, std::move(msg)); }
// InvalidAccessKeyId when `lookup` does not know the key.
S3Result<Credentials> lookup_secret(const SecretLookup& lookup, std::string_view akid);
// InvalidToken when the credentials have a session token and the request (header or query) does
// not carry the same one.
S3Status check_token(const Credentials& creds, const SigningRequest& req);
bool skewed(TimePoint t, TimePoint now, std::chrono::seconds max_skew);
S3Error too_skewed(std::string_view request_time, TimePoint now, std::chrono::seconds max_skew);
// SignatureDoesNotMatch with the StringToSign and (SigV4 only, else empty) CanonicalRequest.
S3Error mismatch(std::string_view sts, std::string_view creq);

// ---- payload (sigv4_payload.cc) -----------------------------------------------------------------

// The payload hash named by the x-amz-content-sha256 header, or `fallback` when absent.
S3Result<std::pair<std::string, PayloadMode>> payload_of(const SigningRequest& req,
                                                         std::optional<std::string_view> fallback);

// ---- SigV2 (sigv2.cc), dispatched from verify_request()
// ------------------------------------------

// `authz` is the trimmed Authorization value starting with "AWS ".
S3Result<AuthResult> verify_header_v2(const SigningRequest& req, std::string_view authz,
                                      const SecretLookup& lookup, TimePoint now,
                                      const VerifyOptions& opts);
S3Result<AuthResult> verify_query_v2(const SigningRequest& req, const SecretLookup& lookup,
                                     TimePoint now);

}  // namespace ingestor::s3::sigv4_detail
