#include "store/store_error.h"

#include <stdexcept>

namespace ingestor::store {

ApiError ApiError::from(const s3::S3Error& e) {
  ApiError a(e.s3_code(), e.http_status(), e.message);
  a.details = e.details;
  return a;
}

void throw_exception_from_error(const ApiError& e, const boost::source_location&) {
  throw std::runtime_error(e.code + ": " + e.message);
}

namespace err {

ApiError access_denied(std::string msg) { return {"AccessDenied", 403, std::move(msg)}; }
ApiError no_such_bucket(const std::string& bucket) {
  return ApiError("NoSuchBucket", 404, "The specified bucket does not exist")
      .with("BucketName", bucket);
}
ApiError no_such_key(const std::string& key) {
  return ApiError("NoSuchKey", 404, "The specified key does not exist.").with("Key", key);
}
ApiError no_such_upload(const std::string& upload_id) {
  return ApiError("NoSuchUpload", 404,
                  "The specified upload does not exist. The upload ID may be invalid, or the "
                  "upload may have been aborted or completed.")
      .with("UploadId", upload_id);
}
ApiError bucket_already_owned(const std::string& bucket) {
  return ApiError("BucketAlreadyOwnedByYou", 409,
                  "Your previous request to create the named bucket succeeded and you already "
                  "own it.")
      .with("BucketName", bucket);
}
ApiError bucket_already_exists(const std::string& bucket) {
  return ApiError("BucketAlreadyExists", 409,
                  "The requested bucket name is not available. The bucket namespace is shared by "
                  "all users of the system. Please select a different name and try again.")
      .with("BucketName", bucket);
}
ApiError bucket_not_empty(const std::string& bucket) {
  return ApiError("BucketNotEmpty", 409, "The bucket you tried to delete is not empty")
      .with("BucketName", bucket);
}
ApiError invalid_bucket_name(const std::string& bucket) {
  return ApiError("InvalidBucketName", 400, "The specified bucket is not valid.")
      .with("BucketName", bucket);
}
ApiError key_too_long(size_t size) {
  return ApiError("KeyTooLongError", 400, "Your key is too long")
      .with("Size", std::to_string(size))
      .with("MaxSizeAllowed", "1024");
}
ApiError invalid_uri(std::string msg) { return {"InvalidURI", 400, std::move(msg)}; }
ApiError invalid_argument(std::string msg, std::string name, std::string value) {
  ApiError e("InvalidArgument", 400, std::move(msg));
  if (!name.empty()) {
    e.details.emplace_back("ArgumentName", std::move(name));
    e.details.emplace_back("ArgumentValue", std::move(value));
  }
  return e;
}
ApiError invalid_request(std::string msg) { return {"InvalidRequest", 400, std::move(msg)}; }
ApiError malformed_xml() {
  return {"MalformedXML", 400,
          "The XML you provided was not well-formed or did not validate against our published "
          "schema"};
}
ApiError invalid_part(std::string msg) { return {"InvalidPart", 400, std::move(msg)}; }
ApiError invalid_part_order() {
  return {"InvalidPartOrder", 400, "The list of parts was not in ascending order."};
}
ApiError entity_too_small(uint64_t size, uint64_t min) {
  return ApiError("EntityTooSmall", 400,
                  "Your proposed upload is smaller than the minimum allowed object size.")
      .with("ProposedSize", std::to_string(size))
      .with("MinSizeAllowed", std::to_string(min));
}
ApiError entity_too_large(uint64_t size, uint64_t max) {
  return ApiError("EntityTooLarge", 400,
                  "Your proposed upload exceeds the maximum allowed object size.")
      .with("ProposedSize", std::to_string(size))
      .with("MaxSizeAllowed", std::to_string(max));
}
ApiError precondition_failed(std::string condition) {
  return ApiError("PreconditionFailed", 412,
                  "At least one of the pre-conditions you specified did not hold")
      .with("Condition", std::move(condition));
}
ApiError not_modified() { return {"NotModified", 304, "Not Modified"}; }
ApiError invalid_range(uint64_t size, std::string requested) {
  return ApiError("InvalidRange", 416, "The requested range is not satisfiable")
      .with("RangeRequested", std::move(requested))
      .with("ActualObjectSize", std::to_string(size));
}
ApiError invalid_part_number() {
  return {"InvalidPart", 400, "The requested partnumber is not satisfiable"};
}
ApiError bad_digest(std::string msg) { return {"BadDigest", 400, std::move(msg)}; }
ApiError invalid_digest(std::string msg) { return {"InvalidDigest", 400, std::move(msg)}; }
ApiError incomplete_body(std::string msg) { return {"IncompleteBody", 400, std::move(msg)}; }
ApiError sha256_mismatch() {
  return {"XAmzContentSHA256Mismatch", 400,
          "The provided 'x-amz-content-sha256' header does not match what was computed."};
}
ApiError missing_content_length() {
  return {"MissingContentLength", 411, "You must provide the Content-Length HTTP header."};
}
ApiError method_not_allowed() {
  return {"MethodNotAllowed", 405, "The specified method is not allowed against this resource."};
}
ApiError not_implemented(std::string msg) { return {"NotImplemented", 501, std::move(msg)}; }
ApiError internal(std::string msg) { return {"InternalError", 500, std::move(msg)}; }
ApiError insufficient_storage(std::string msg) {
  return {"InsufficientStorage", 507, std::move(msg)};
}

}  // namespace err
}  // namespace ingestor::store
