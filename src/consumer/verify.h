#pragma once
// Checks that the bytes of a download are the object's, and runs --exec.
//
// ETag rules (aws.md 2.7): a single-part ETag ("<32 hex>") is the MD5 of the content. A multipart
// ETag ("<hex>-N") is MD5(concat(MD5(part_i))): it depends on the size of every part, which S3
// tells (HEAD ?partNumber=i, fetch.h), so it is recomputed exactly from the file with those sizes.
// Any other ETag (SSE-KMS, SSE-C, other servers) is not a digest of the bytes. Verified says what
// vouched for a download: the object's own checksum (checked by S3Client as the body streamed),
// the MD5 ETag, or the recomputed multipart ETag; nothing else makes a download done.
// Pure functions over files; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/hash.h"
#include "base/result.h"

namespace ingestor::consumer {

enum class Verified { kChecksum, kMd5, kMultipartMd5 };
inline constexpr Verified kAllVerified[] = {Verified::kChecksum, Verified::kMd5,
                                            Verified::kMultipartMd5};
const char* verified_name(Verified v);

// An ETag by its form: kMd5 ("<32 hex>"), kMultipart ("<32 hex>-N", N 1..10000) or kOther.
// Quotes are dropped and hex is lower-cased.
struct EtagForm {
  enum Kind { kMd5, kMultipart, kOther } kind = kOther;
  std::string etag;  // unquoted, lower case
  int parts = 0;     // kMultipart: N
};
EtagForm parse_etag(std::string_view etag);

// kCorrupt unless `body` (the MD5 of the downloaded bytes) is the single-part ETag `etag`.
[[nodiscard]] Status check_md5(const Md5Digest& body, const EtagForm& etag);

// The multipart ETag ("<hex>-N") of a file cut in consecutive parts of the given sizes; kCorrupt
// when the file's size is not their sum.
[[nodiscard]] Result<std::string> multipart_etag(const std::string& path,
                                                 const std::vector<uint64_t>& part_sizes);
// The same with every part `part_size` bytes but the last.
[[nodiscard]] Result<std::string> multipart_etag(const std::string& path, uint64_t part_size);

// Splits a command line on spaces and tabs (no shell, no quoting).
std::vector<std::string> split_command(const std::string& cmd);
// posix_spawnp(argv + [path]) and waits; returns the exit status (128 + signal when killed).
[[nodiscard]] Result<int> run_exec(const std::vector<std::string>& argv, const std::string& path);

}  // namespace ingestor::consumer
