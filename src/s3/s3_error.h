#pragma once
// S3Error: an S3 API error as a server returns it (code string, HTTP status, message, extra
// elements for the <Error> body) and as our client classifies it. The signing layer returns it so
// that the store can answer exactly what AWS would (docs: ErrorResponses.html; aws.md 2.8).

#include <boost/system/result.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace ingestor::s3 {

// The S3 error codes this layer produces. s3_code() gives AWS's exact spelling.
enum class S3Errc {
  kAccessDenied,                       // 403, also an expired presigned URL
  kInvalidAccessKeyId,                 // 403
  kSignatureDoesNotMatch,              // 403
  kRequestTimeTooSkewed,               // 403
  kAuthorizationHeaderMalformed,       // 400
  kAuthorizationQueryParametersError,  // 400
  kInvalidArgument,                    // 400
  kInvalidRequest,                     // 400
  kInvalidToken,                       // 400, session token does not match the credentials
  kMissingSecurityHeader,              // 400
  kXAmzContentSHA256Mismatch,          // 400
  kBadDigest,                          // 400, checksum mismatch
  kInvalidDigest,                      // 400, malformed checksum
  kIncompleteBody,                     // 400, fewer bytes than announced / truncated stream
  kNotImplemented,                     // 501
};

// "SignatureDoesNotMatch".
const char* s3_code(S3Errc c);
// 403, 400, 501...
int http_status(S3Errc c);

struct S3Error {
  S3Errc code = S3Errc::kAccessDenied;
  std::string message;  // AWS's wording where known, for the <Message> element
  // Extra <Error> child elements in order, e.g. {"StringToSign", ...}, {"RequestTime", ...}.
  std::vector<std::pair<std::string, std::string>> details;

  S3Error() = default;
  S3Error(S3Errc c, std::string msg) : code(c), message(std::move(msg)) {}

  const char* s3_code() const { return s3::s3_code(code); }
  int http_status() const { return s3::http_status(code); }
  // The project-wide Error: kAuth for the 403s, kInvalidArgument for the 400s, kCorrupt for
  // digests, kUnsupported for 501; the message is "<Code>: <Message>".
  Error to_error() const;
};

// Used by result::value() on an error (tests only): throws a std::runtime_error with the message.
[[noreturn]] void throw_exception_from_error(const S3Error& e, const boost::source_location& loc);

template <class T>
using S3Result = boost::system::result<T, S3Error>;
using S3Status = boost::system::result<void, S3Error>;

}  // namespace ingestor::s3
