#pragma once
// S3 XML bodies the client reads and writes (aws.md 2; namespace
// http://s3.amazonaws.com/doc/2006-03-01/, which the parsers do not require). Parsing uses
// pugixml; element names are matched without namespace prefixes. Pure functions, thread-safe.
//
// ETags are returned as S3 writes them, i.e. quoted ("\"9b2c...\"" or "\"...-3\"").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace ingestor::s3 {

// <Error><Code>NoSuchKey</Code><Message>...</Message><RequestId>...</RequestId>...</Error>
struct ErrorDocument {
  std::string code;
  std::string message;
  std::string request_id;
  std::string host_id;
  std::string resource;  // Resource, Key or BucketName, whichever came
};

// nullopt if `body` is not an XML document whose root is <Error>.
std::optional<ErrorDocument> parse_error_xml(std::string_view body);

// InitiateMultipartUploadResult -> UploadId.
[[nodiscard]] Result<std::string> parse_initiate_multipart_upload(std::string_view body);

struct CompleteMultipartUploadResult {
  std::string location;
  std::string bucket;
  std::string key;
  std::string etag;
};
// Fails (kInvalidArgument) on anything but a CompleteMultipartUploadResult root; a 200 whose root
// is <Error> must be caught with parse_error_xml first.
[[nodiscard]] Result<CompleteMultipartUploadResult> parse_complete_multipart_upload(
    std::string_view body);

struct CompletedPart {
  int part_number = 0;
  std::string etag;             // quoted or not; written quoted
  std::string checksum_crc32c;  // base64; written as <ChecksumCRC32C> when not empty
};
// <CompleteMultipartUpload xmlns=...><Part><PartNumber>1</PartNumber><ETag>"..."</ETag>
// [<ChecksumCRC32C>...</ChecksumCRC32C>]</Part>...
std::string build_complete_multipart_upload(const std::vector<CompletedPart>& parts);

struct ObjectSummary {
  std::string key;
  std::string last_modified;  // as sent: "2026-11-26T09:04:52.000Z"
  std::string etag;
  uint64_t size = 0;
  std::string storage_class;
};

struct ListObjectsV2Result {
  std::string name;
  std::string prefix;
  std::vector<ObjectSummary> objects;
  std::vector<std::string> common_prefixes;
  bool is_truncated = false;
  std::string next_continuation_token;
  int key_count = 0;
};
// Keys, prefixes and StartAfter are percent-decoded (with '+' as space, as botocore) when the
// response has <EncodingType>url</EncodingType>.
[[nodiscard]] Result<ListObjectsV2Result> parse_list_objects_v2(std::string_view body);

struct MultipartUploadSummary {
  std::string key;
  std::string upload_id;
  std::string initiated;
};

struct ListMultipartUploadsResult {
  std::vector<MultipartUploadSummary> uploads;
  std::vector<std::string> common_prefixes;
  bool is_truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};
[[nodiscard]] Result<ListMultipartUploadsResult> parse_list_multipart_uploads(
    std::string_view body);

// "\"abc\"" -> "abc"; unquoted input is returned as is.
std::string_view etag_unquoted(std::string_view etag);

}  // namespace ingestor::s3
