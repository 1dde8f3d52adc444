#pragma once
// S3 additional checksums (x-amz-checksum-<alg>): the algorithms, their header names, and an
// incremental calculator producing the base64 value S3 sends (big-endian CRC bytes or the raw
// digest, base64-encoded). One Checksummer per body, not shared between threads.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "base/hash.h"

namespace ingestor::s3 {

enum class ChecksumAlgorithm { kCrc32, kCrc32c, kCrc64Nvme, kSha1, kSha256 };

// "x-amz-checksum-crc32" (any case) -> kCrc32; nullopt for anything else.
std::optional<ChecksumAlgorithm> checksum_from_header(std::string_view header_name);
// "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256" (x-amz-sdk-checksum-algorithm) -> algorithm.
std::optional<ChecksumAlgorithm> checksum_from_name(std::string_view name);
// "x-amz-checksum-crc32".
const char* checksum_header(ChecksumAlgorithm a);
// "CRC32".
const char* checksum_name(ChecksumAlgorithm a);
// Length of the base64 value (8 for CRC32, 44 for SHA256...).
size_t checksum_base64_length(ChecksumAlgorithm a);

class Checksummer {
 public:
  explicit Checksummer(ChecksumAlgorithm a);
  ChecksumAlgorithm algorithm() const { return algorithm_; }
  void update(std::string_view data);
  // The base64 value of everything passed to update(); call once.
  std::string finish_base64();

 private:
  ChecksumAlgorithm algorithm_;
  uint32_t crc32_ = 0;
  uint64_t crc64_ = 0;
  std::optional<Digest> digest_;
};

}  // namespace ingestor::s3
