#pragma once
// BodyPipeline: a request body on its way in. Raw bytes (after HTTP de-chunking) go through the
// aws-chunked decoder when the payload mode is streaming, then through the hashers (MD5 for the
// ETag, SHA-256 when the payload is signed, one Checksummer per x-amz-checksum-* header or
// requested algorithm) into a StagedFile or a bounded memory buffer. finish() checks, in order:
// the chunked framing and trailer checksums, the decoded length (IncompleteBody), the payload
// SHA-256 (XAmzContentSHA256Mismatch), Content-MD5 and x-amz-checksum-* (BadDigest).
// Memory: the decoder's line buffer, StagedFile's 1 MiB buffer, or at most memory_limit bytes.
// Not thread-safe (one request).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/hash.h"
#include "s3/checksum.h"
#include "s3/chunked.h"
#include "s3/sigv4.h"
#include "store/staged_file.h"
#include "store/store_error.h"

namespace ingestor::store {

struct BodyPlan {
  s3::PayloadMode mode = s3::PayloadMode::kUnsigned;
  std::string expected_sha256;                       // kSha256: lower-case hex
  std::optional<s3::ChunkedDecoderOptions> chunked;  // streaming modes
  std::optional<uint64_t> expected_size;             // decoded length, when known
  std::optional<std::string> content_md5;            // raw 16 bytes
  std::vector<std::pair<s3::ChecksumAlgorithm, std::string>> header_checksums;  // expected b64
  std::optional<s3::ChecksumAlgorithm> compute;  // requested algorithm without a value: compute it
  size_t memory_limit = 0;                       // > 0: keep the body in memory (XML bodies)
};

class BodyPipeline {
 public:
  // `file` is where bytes go unless plan.memory_limit > 0.
  [[nodiscard]] static ApiResult<std::unique_ptr<BodyPipeline>> create(
      BodyPlan plan, std::optional<StagedFile> file);

  [[nodiscard]] ApiStatus feed(std::string_view raw);
  [[nodiscard]] ApiStatus finish();

  uint64_t size() const { return size_; }
  const std::string& md5_hex() const { return md5_hex_; }
  // {"CRC32", b64}: verified header/trailer checksums and computed ones, after finish().
  const std::vector<std::pair<std::string, std::string>>& checksums() const { return checksums_; }
  std::string& memory() { return memory_; }
  StagedFile take_file() { return std::move(*file_); }

 private:
  BodyPipeline() = default;
  ApiStatus consume(std::string_view decoded);

  BodyPlan plan_;
  std::optional<s3::AwsChunkedDecoder> decoder_;
  std::optional<StagedFile> file_;
  std::string decoded_;
  std::string memory_;
  Md5 md5_;
  std::optional<Sha256> sha256_;
  std::vector<s3::Checksummer> summers_;  // header checksums, then `compute`
  uint64_t size_ = 0;
  std::string md5_hex_;
  std::vector<std::pair<std::string, std::string>> checksums_;
  std::optional<ApiError> failed_;
};

}  // namespace ingestor::store
