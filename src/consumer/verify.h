#pragma once
// Checks that a downloaded file is the object the notification named, and runs --exec.
//
// ETag rules (aws.md 2.7): a single-part ETag ("<32 hex>") is the MD5 of the content, so it is
// recomputed and compared. A multipart ETag ("<hex>-N") is MD5(concat(MD5(part_i))) and depends
// on the part size, which the notification does not carry: the file is hashed in one pass with
// every plausible part size (5, 8, 16, 32, 64, 128, 256, 512 MiB and ceil(size/N) rounded up to a
// MiB) that yields N parts; a match is reported as kMultipartMd5. No match is not an error: the
// object is then vouched for by size + If-Match (S3 served the bytes of exactly that ETag), which
// GetObject already checked (kSizeAndIfMatch). A single-part mismatch or a wrong size is kCorrupt.
// An object encrypted with SSE-KMS or SSE-C has an ETag that is not an MD5 at all: only its size
// is checked (kSizeAndIfMatch). kChecksum is for a download that S3Client already checked against
// the object's own checksum (CRC32C...) as it streamed; the consumer then does not call this.
// Pure functions over files; thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "base/hash.h"
#include "base/result.h"

namespace ingestor::consumer {

enum class Verified { kChecksum, kMd5, kMultipartMd5, kSizeAndIfMatch };
inline constexpr Verified kAllVerified[] = {Verified::kChecksum, Verified::kMd5,
                                            Verified::kMultipartMd5, Verified::kSizeAndIfMatch};
const char* verified_name(Verified v);

// `streamed`, when given, is the MD5 of the bytes as they were downloaded into `path`
// (S3Client's GetObjectRequest::md5): a single-part ETag is then checked against it and the file
// is not read again, only its size checked. `etag_is_md5` false (SSE-KMS, SSE-C) skips the ETag.
[[nodiscard]] Result<Verified> verify_download(const std::string& path, uint64_t size,
                                               const std::string& etag,
                                               const Md5Digest* streamed = nullptr,
                                               bool etag_is_md5 = true);

// The multipart ETag ("<hex>-N") of a file split in parts of `part_size` bytes (for tests).
[[nodiscard]] Result<std::string> multipart_etag(const std::string& path, uint64_t part_size);

// Splits a command line on spaces and tabs (no shell, no quoting).
std::vector<std::string> split_command(const std::string& cmd);
// posix_spawnp(argv + [path]) and waits; returns the exit status (128 + signal when killed).
[[nodiscard]] Result<int> run_exec(const std::vector<std::string>& argv, const std::string& path);

}  // namespace ingestor::consumer
