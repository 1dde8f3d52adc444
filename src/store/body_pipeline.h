#pragma once
// BodyPipeline: a request body on its way in. Raw bytes (after HTTP de-chunking) go through the
// aws-chunked decoder when the payload mode is streaming, then through the hashers (MD5 for the
// ETag, SHA-256 when the payload is signed, one Checksummer per x-amz-checksum-* header or
// requested algorithm) into a StagedFile or a bounded memory buffer. finish() checks, in order:
// the chunked framing and trailer checksums, the decoded length (IncompleteBody), the payload
// SHA-256 (XAmzContentSHA256Mismatch), Content-MD5 and x-amz-checksum-* (BadDigest).
// A body headed for a file that may reach kHashBlock bytes has its MD5 computed on the shared
// Md5Lanes worker (eight concurrent bodies hashed for about the CPU of one): its bytes collect in
// a ring of kHashRing blocks, and each full block is submitted for hashing and written to the
// file straight from the ring; finish() waits for the hashing of the blocks and hashes the tail.
// Memory: the decoder's line buffer, the ring or StagedFile's 1 MiB buffer, or at most
// memory_limit bytes. Not thread-safe (one request; feed() and finish() may run on different
// threads one after the other).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/hash.h"
#include "base/md5_lanes.h"
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
  static constexpr size_t kHashBlock = 256 << 10;  // bytes per MD5 submission and file write
  static constexpr size_t kHashRing = 4;           // blocks per body: up to 3 being hashed

  // `file` is where bytes go unless plan.memory_limit > 0.
  [[nodiscard]] static ApiResult<std::unique_ptr<BodyPipeline>> create(
      BodyPlan plan, std::optional<StagedFile> file);

  [[nodiscard]] ApiStatus feed(std::string_view raw);
  // Whether raw bytes can be received in place, straight into the ring: the Md5Lanes path
  // without aws-chunked framing, where the raw bytes are the object's bytes.
  bool takes_in_place() const { return lanes_md5_.has_value() && !decoder_; }
  // Where the next raw bytes go when takes_in_place() (the rest of the current block; may wait
  // for the MD5 worker to free the block), and the accounting of `n` bytes received there. Any
  // mix of feed() and feed_in_place() keeps the byte order.
  std::span<char> in_place();
  [[nodiscard]] ApiStatus feed_in_place(size_t n);
  [[nodiscard]] ApiStatus finish();

  uint64_t size() const { return size_; }
  const std::string& md5_hex() const { return md5_hex_; }
  // {"CRC32", b64}: verified header/trailer checksums and computed ones, after finish().
  const std::vector<std::pair<std::string, std::string>>& checksums() const { return checksums_; }
  std::string& memory() { return memory_; }
  StagedFile take_file() { return std::move(*file_); }

 private:
  BodyPipeline() = default;
  ApiStatus account(std::string_view decoded);  // length limits, SHA-256, checksums
  ApiStatus consume(std::string_view decoded);
  ApiStatus copy_into_ring(std::string_view decoded);
  ApiStatus submit_block();  // the current block is full: hash it and write it
  char* current_block();     // the block being filled (waits for the worker to free it)

  BodyPlan plan_;
  std::optional<s3::AwsChunkedDecoder> decoder_;
  std::optional<StagedFile> file_;
  std::string decoded_;
  std::string memory_;
  Md5 md5_;
  // The Md5Lanes path: the ring outlives the stream, whose destructor waits for the worker to let
  // go of the blocks.
  std::vector<std::unique_ptr<char[]>> ring_;
  size_t ring_fill_ = 0;  // bytes in the current block, ring_[ring_seq_ % kHashRing]
  uint64_t ring_seq_ = 0;  // blocks submitted
  std::optional<Md5Stream> lanes_md5_;
  std::optional<Sha256> sha256_;
  std::vector<s3::Checksummer> summers_;  // header checksums, then `compute`
  uint64_t size_ = 0;
  std::string md5_hex_;
  std::vector<std::pair<std::string, std::string>> checksums_;
  std::optional<ApiError> failed_;
};

}  // namespace ingestor::store
