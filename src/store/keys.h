#pragma once
// Names: bucket-name and object-key validation, the encodings S3 uses for keys in listings, and
// the mapping from content ids to files. Keys are never used as file paths: object bytes live in
// files named by a random content id (32 lower-case hex digits), so a hostile key ("../x", "a//b",
// ".", a 1,000-level path) cannot reach the file system. Pure functions; thread-safe.

#include <string>
#include <string_view>

#include "store/store_error.h"

namespace ingestor::store {

inline constexpr size_t kMaxKeyBytes = 1024;

// S3's rules for new buckets: 3-63 characters of [a-z0-9.-], starting and ending with a letter
// or digit, no "..", ".-" or "-.", not formatted as an IPv4 address, no "xn--" prefix and no
// "-s3alias" / "--ol-s3" suffix.
bool is_valid_bucket_name(std::string_view name);

// A decoded object key: 1..1024 bytes (KeyTooLongError beyond) of valid UTF-8 (InvalidURI
// otherwise; S3 rejects keys whose percent escapes do not decode to UTF-8).
[[nodiscard]] ApiStatus validate_key(std::string_view key);

// encoding-type=url as botocore decodes it (unquote_plus): every byte outside A-Za-z0-9 - _ . ~ /
// becomes %XX (upper-case hex), so '+' is %2B and ' ' is %20.
std::string url_encode_for_listing(std::string_view s);

// A new random content id: 32 lower-case hex digits (128 bits from the OS's CSPRNG).
std::string new_content_id();
// True for exactly 32 lower-case hex digits.
bool is_valid_content_id(std::string_view id);
// "<data_dir>/objects/<id[0..2]>/<id>": the file holding content `id`. Precondition:
// is_valid_content_id(id) (asserted; never built from client input).
std::string content_path(const std::string& data_dir, std::string_view id);
// "<data_dir>/tmp/<id>.part": where bytes are written before the rename into content_path().
std::string temp_path(const std::string& data_dir, std::string_view id);

}  // namespace ingestor::store
