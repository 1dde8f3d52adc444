#pragma once
// The XML bodies of the S3 API subset `ingestor store` serves: rendering of responses and
// parsing of request bodies (pugixml). Formats: aws.md 2.x; namespace
// http://s3.amazonaws.com/doc/2006-03-01/. Parsers accept a missing xmlns and unquoted ETags
// (s3cmd) and answer MalformedXML for anything else they cannot read. Pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/listing.h"
#include "store/store_error.h"

namespace ingestor::store {

// Escapes & < > " ' for element text, CR as "&#13;" (which XML readers keep, where they turn a
// literal CR into LF), and other control characters but TAB and LF as "&#xN;".
std::string xml_escape(std::string_view s);
// "2026-11-26T09:04:52.000Z".
std::string xml_time(int64_t ms_since_epoch);
// "Thu, 26 Nov 2026 09:04:52 GMT".
std::string http_time(int64_t ms_since_epoch);

std::string error_xml(const ApiError& e, const std::string& resource,
                      const std::string& request_id);

struct BucketInfo {
  std::string name;
  int64_t created_ms = 0;
};
std::string list_buckets_xml(const std::vector<BucketInfo>& buckets, const std::string& owner);

// Echoed request parameters and the page of a ListObjects call.
struct ListObjectsParams {
  int version = 2;  // 1 or 2
  std::string bucket;
  std::string prefix, delimiter;
  bool url_encoding = false;
  int max_keys = 1000;
  std::string start_after, continuation_token;  // v2
  bool continuation_token_sent = false;         // echoed, even when empty
  std::string marker;                           // v1
  bool fetch_owner = false;
};
std::string list_objects_xml(const ListObjectsParams& p, const ListPage& page,
                             const std::string& owner);

std::string initiate_multipart_xml(const std::string& bucket, const std::string& key,
                                   const std::string& upload_id);
// `checksums`: the object's checksum ({"SHA256", b64}) and `checksum_type` its type, if any.
std::string complete_multipart_xml(
    const std::string& location, const std::string& bucket, const std::string& key,
    const std::string& etag, const std::vector<std::pair<std::string, std::string>>& checksums = {},
    const std::string& checksum_type = "");
std::string copy_object_xml(const std::string& etag, int64_t mtime_ms, bool part);

struct PartInfo {
  int part_number = 0;
  uint64_t size = 0;
  std::string etag;  // without quotes
  int64_t mtime_ms = 0;
  std::vector<std::pair<std::string, std::string>> checksums;  // {"CRC32", b64}
};
struct ListPartsParams {
  std::string bucket, key, upload_id;
  int part_number_marker = 0;
  int max_parts = 1000;
  bool truncated = false;
  int next_marker = 0;
};
std::string list_parts_xml(const ListPartsParams& p, const std::vector<PartInfo>& parts,
                           const std::string& owner);

struct UploadInfo {
  std::string key, upload_id;
  int64_t initiated_ms = 0;
  std::string owner;  // who created it ("" shows the `owner` given to list_uploads_xml)
};
struct ListUploadsParams {
  std::string bucket, prefix, delimiter, key_marker, upload_id_marker;
  int max_uploads = 1000;
  bool truncated = false;
  std::string next_key_marker, next_upload_id_marker;
  bool url_encoding = false;
};
std::string list_uploads_xml(const ListUploadsParams& p, const std::vector<UploadInfo>& uploads,
                             const std::vector<std::string>& common_prefixes,
                             const std::string& owner);

struct DeleteOutcome {
  std::string key;
  std::optional<ApiError> error;
};
std::string delete_result_xml(const std::vector<DeleteOutcome>& outcomes, bool quiet);
std::string location_xml(const std::string& region);
// GetObjectAcl / GetBucketAcl: the one ACL the store has, FULL_CONTROL for its owner (no ACLs).
std::string access_control_policy_xml(const std::string& owner);

// ---- request bodies -----------------------------------------------------------------------------

struct CompletePart {
  int part_number = 0;
  std::string etag;  // quotes stripped
};
// <CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>...; MalformedXML if unreadable or
// with no parts.
[[nodiscard]] ApiResult<std::vector<CompletePart>> parse_complete_multipart(std::string_view xml);

struct DeleteRequest {
  bool quiet = false;
  std::vector<std::string> keys;
};
// <Delete><Quiet/><Object><Key/></Object>...; MalformedXML if unreadable, empty or > 1000 keys.
[[nodiscard]] ApiResult<DeleteRequest> parse_delete(std::string_view xml);

// CreateBucketConfiguration/LocationConstraint ("" for an empty body or none given).
[[nodiscard]] ApiResult<std::string> parse_create_bucket(std::string_view xml);

// Strips one pair of surrounding double quotes (and &quot; already decoded by the parser).
std::string strip_quotes(std::string_view etag);

}  // namespace ingestor::store
