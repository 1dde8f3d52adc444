#include "s3/checksum.h"

#include <array>
#include <cctype>

namespace ingestor::s3 {
namespace {

struct Info {
  ChecksumAlgorithm algorithm;
  const char* header;
  const char* name;
  size_t b64_len;
};

constexpr std::array<Info, 5> kInfo = {{
    {ChecksumAlgorithm::kCrc32, "x-amz-checksum-crc32", "CRC32", 8},
    {ChecksumAlgorithm::kCrc32c, "x-amz-checksum-crc32c", "CRC32C", 8},
    {ChecksumAlgorithm::kCrc64Nvme, "x-amz-checksum-crc64nvme", "CRC64NVME", 12},
    {ChecksumAlgorithm::kSha1, "x-amz-checksum-sha1", "SHA1", 28},
    {ChecksumAlgorithm::kSha256, "x-amz-checksum-sha256", "SHA256", 44},
}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

const Info& info(ChecksumAlgorithm a) { return kInfo[static_cast<size_t>(a)]; }

}  // namespace

std::optional<ChecksumAlgorithm> checksum_from_header(std::string_view header_name) {
  for (const auto& i : kInfo) {
    if (iequals(header_name, i.header)) return i.algorithm;
  }
  return std::nullopt;
}

std::optional<ChecksumAlgorithm> checksum_from_name(std::string_view name) {
  for (const auto& i : kInfo) {
    if (iequals(name, i.name)) return i.algorithm;
  }
  return std::nullopt;
}

const char* checksum_header(ChecksumAlgorithm a) { return info(a).header; }
const char* checksum_name(ChecksumAlgorithm a) { return info(a).name; }
size_t checksum_base64_length(ChecksumAlgorithm a) { return info(a).b64_len; }

Checksummer::Checksummer(ChecksumAlgorithm a) : algorithm_(a) {
  if (a == ChecksumAlgorithm::kSha1) digest_.emplace(Digest::Algorithm::kSha1);
  if (a == ChecksumAlgorithm::kSha256) digest_.emplace(Digest::Algorithm::kSha256);
}

void Checksummer::update(std::string_view data) {
  switch (algorithm_) {
    case ChecksumAlgorithm::kCrc32:
      crc32_ = crc32(data, crc32_);
      break;
    case ChecksumAlgorithm::kCrc32c:
      crc32_ = crc32c(data, crc32_);
      break;
    case ChecksumAlgorithm::kCrc64Nvme:
      crc64_ = crc64nvme(data, crc64_);
      break;
    case ChecksumAlgorithm::kSha1:
    case ChecksumAlgorithm::kSha256:
      digest_->update(data);
      break;
  }
}

std::string Checksummer::finish_base64() {
  switch (algorithm_) {
    case ChecksumAlgorithm::kCrc32:
    case ChecksumAlgorithm::kCrc32c:
      return base64_encode(crc_bytes(crc32_));
    case ChecksumAlgorithm::kCrc64Nvme:
      return base64_encode(crc_bytes(crc64_));
    case ChecksumAlgorithm::kSha1:
    case ChecksumAlgorithm::kSha256:
      return base64_encode(digest_->finish());
  }
  return {};
}

}  // namespace ingestor::s3
