#include "s3/s3_error.h"

#include <stdexcept>

namespace ingestor::s3 {

const char* s3_code(S3Errc c) {
  switch (c) {
    case S3Errc::kAccessDenied:
      return "AccessDenied";
    case S3Errc::kInvalidAccessKeyId:
      return "InvalidAccessKeyId";
    case S3Errc::kSignatureDoesNotMatch:
      return "SignatureDoesNotMatch";
    case S3Errc::kRequestTimeTooSkewed:
      return "RequestTimeTooSkewed";
    case S3Errc::kAuthorizationHeaderMalformed:
      return "AuthorizationHeaderMalformed";
    case S3Errc::kAuthorizationQueryParametersError:
      return "AuthorizationQueryParametersError";
    case S3Errc::kInvalidArgument:
      return "InvalidArgument";
    case S3Errc::kInvalidRequest:
      return "InvalidRequest";
    case S3Errc::kInvalidToken:
      return "InvalidToken";
    case S3Errc::kMissingSecurityHeader:
      return "MissingSecurityHeader";
    case S3Errc::kXAmzContentSHA256Mismatch:
      return "XAmzContentSHA256Mismatch";
    case S3Errc::kBadDigest:
      return "BadDigest";
    case S3Errc::kInvalidDigest:
      return "InvalidDigest";
    case S3Errc::kIncompleteBody:
      return "IncompleteBody";
    case S3Errc::kNotImplemented:
      return "NotImplemented";
  }
  return "InternalError";
}

int http_status(S3Errc c) {
  switch (c) {
    case S3Errc::kAccessDenied:
    case S3Errc::kInvalidAccessKeyId:
    case S3Errc::kSignatureDoesNotMatch:
    case S3Errc::kRequestTimeTooSkewed:
      return 403;
    case S3Errc::kNotImplemented:
      return 501;
    default:
      return 400;
  }
}

Error S3Error::to_error() const {
  Errc e = Errc::kInvalidArgument;
  switch (code) {
    case S3Errc::kAccessDenied:
    case S3Errc::kInvalidAccessKeyId:
    case S3Errc::kSignatureDoesNotMatch:
    case S3Errc::kRequestTimeTooSkewed:
    case S3Errc::kInvalidToken:
      e = Errc::kAuth;
      break;
    case S3Errc::kXAmzContentSHA256Mismatch:
    case S3Errc::kBadDigest:
      e = Errc::kCorrupt;
      break;
    case S3Errc::kNotImplemented:
      e = Errc::kUnsupported;
      break;
    default:
      break;
  }
  return Error(e, std::string(s3_code()) + ": " + message);
}

void throw_exception_from_error(const S3Error& e, const boost::source_location&) {
  throw std::runtime_error(std::string(e.s3_code()) + ": " + e.message);
}

}  // namespace ingestor::s3
