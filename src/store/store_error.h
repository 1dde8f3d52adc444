#pragma once
// ApiError: an S3 error as `ingestor store` answers it (code, HTTP status, message, extra <Error>
// elements). Wider than s3::S3Error (which covers what the signing layer produces): every code
// the store's handlers return is built by one of the named constructors below, so the spelling
// and the status of each code live in one place. Format of the body: aws.md 2.8.

#include <boost/system/result.hpp>
#include <string>
#include <utility>
#include <vector>

#include "s3/s3_error.h"

namespace ingestor::store {

struct ApiError {
  std::string code;  // "NoSuchKey"
  int status = 500;
  std::string message;
  std::vector<std::pair<std::string, std::string>> details;  // extra <Error> children, in order

  ApiError() = default;
  ApiError(std::string c, int st, std::string msg)
      : code(std::move(c)), status(st), message(std::move(msg)) {}
  ApiError&& with(std::string name, std::string value) && {
    details.emplace_back(std::move(name), std::move(value));
    return std::move(*this);
  }
  static ApiError from(const s3::S3Error& e);
};

[[noreturn]] void throw_exception_from_error(const ApiError& e, const boost::source_location& loc);

template <class T>
using ApiResult = boost::system::result<T, ApiError>;
using ApiStatus = boost::system::result<void, ApiError>;

// Named constructors, one per S3 code the store produces (aws.md 2.8).
namespace err {
ApiError access_denied(std::string msg = "Access Denied");
ApiError no_such_bucket(const std::string& bucket);
ApiError no_such_key(const std::string& key);
ApiError no_such_upload(const std::string& upload_id);
ApiError bucket_already_owned(const std::string& bucket);
ApiError bucket_already_exists(const std::string& bucket);  // another user owns it
ApiError bucket_not_empty(const std::string& bucket);
ApiError invalid_bucket_name(const std::string& bucket);
ApiError key_too_long(size_t size);
ApiError invalid_uri(std::string msg = "Couldn't parse the specified URI.");
ApiError invalid_argument(std::string msg, std::string name = {}, std::string value = {});
ApiError invalid_request(std::string msg);
ApiError malformed_xml();
ApiError invalid_part(std::string msg);
ApiError invalid_part_order();
ApiError entity_too_small(uint64_t size, uint64_t min);
ApiError entity_too_large(uint64_t size, uint64_t max);
ApiError precondition_failed(std::string condition);
ApiError not_modified();  // 304, no body
ApiError invalid_range(uint64_t size, std::string requested);
ApiError invalid_part_number();  // 400 InvalidPart: GetObject ?partNumber= past the last part
ApiError bad_digest(
    std::string msg = "The Content-MD5 you specified did not match what we received.");
ApiError invalid_digest(std::string msg = "The Content-MD5 you specified was invalid.");
ApiError incomplete_body(
    std::string msg =
        "You did not provide the number of bytes specified by the Content-Length HTTP header.");
ApiError sha256_mismatch();
ApiError missing_content_length();
ApiError method_not_allowed();
ApiError not_implemented(
    std::string msg = "A header you provided implies functionality that is not implemented.");
ApiError internal(std::string msg);
// 507, as MinIO answers when its drives reach their free-space floor (S3 itself never does).
ApiError insufficient_storage(std::string msg);
}  // namespace err

}  // namespace ingestor::store
