#pragma once
// Hashes, MACs, checksums and the text encodings that carry them (hex, base64).
//
// Digests come from OpenSSL 3 (EVP with algorithms fetched once per process), CRC32 from zlib,
// CRC32C from SSE4.2 when the CPU has it (else slicing-by-8 tables), CRC64/NVME from tables.
// Every function here is pure and thread-safe; the incremental classes are not shared between
// threads (one instance per thread), are move-only and own their OpenSSL context.
// Byte strings are std::string_view of raw bytes (not text); digests are fixed-size arrays.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// OpenSSL forward declaration: the header stays free of OpenSSL includes.
struct evp_md_ctx_st;

namespace ingestor {

using Sha256Digest = std::array<uint8_t, 32>;
using Sha1Digest = std::array<uint8_t, 20>;
using Md5Digest = std::array<uint8_t, 16>;

// ---- text encodings -----------------------------------------------------------------------------

// Lower-case hex of `bytes` ("00ff").
std::string to_hex(std::string_view bytes);
template <size_t N>
std::string to_hex(const std::array<uint8_t, N>& d) {
  return to_hex(std::string_view(reinterpret_cast<const char*>(d.data()), N));
}
// Decodes hex (either case); nullopt on an odd length or a non-hex character.
std::optional<std::string> from_hex(std::string_view hex);

// Standard base64 (RFC 4648 section 4, '+' '/', '=' padding).
std::string base64_encode(std::string_view bytes);
template <size_t N>
std::string base64_encode(const std::array<uint8_t, N>& d) {
  return base64_encode(std::string_view(reinterpret_cast<const char*>(d.data()), N));
}
// Strict decode of padded standard base64: nullopt on a bad character, a bad length, bad padding
// or non-zero trailing bits. Whitespace is not accepted.
std::optional<std::string> base64_decode(std::string_view text);

// The digest as a string of raw bytes (for comparisons and concatenation).
template <size_t N>
std::string_view as_bytes(const std::array<uint8_t, N>& d) {
  return std::string_view(reinterpret_cast<const char*>(d.data()), N);
}

// Compares in time that depends only on the lengths (CRYPTO_memcmp): for MACs and signatures.
bool constant_time_equal(std::string_view a, std::string_view b);

// ---- digests ------------------------------------------------------------------------------------

Sha256Digest sha256(std::string_view data);
std::string sha256_hex(std::string_view data);
Sha1Digest sha1(std::string_view data);
Md5Digest md5(std::string_view data);

// Incremental digest of one algorithm. update() any number of times, then finish() once; after
// finish() the object may be reset() and reused. Aborts (std::abort) only if OpenSSL cannot
// allocate a context, which the callers cannot recover from either.
class Digest {
 public:
  enum class Algorithm { kSha256, kSha1, kMd5 };
  explicit Digest(Algorithm a);
  ~Digest();
  Digest(Digest&& o) noexcept;
  Digest& operator=(Digest&& o) noexcept;
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void update(std::string_view data);
  // Returns the digest (size() raw bytes).
  std::string finish();
  void reset();
  size_t size() const;

 private:
  Algorithm algorithm_;
  evp_md_ctx_st* ctx_ = nullptr;
};

class Sha256 {
 public:
  Sha256() : d_(Digest::Algorithm::kSha256) {}
  void update(std::string_view data) { d_.update(data); }
  Sha256Digest finish();
  std::string finish_hex() { return to_hex(finish()); }
  void reset() { d_.reset(); }

 private:
  Digest d_;
};

class Md5 {
 public:
  Md5() : d_(Digest::Algorithm::kMd5) {}
  void update(std::string_view data) { d_.update(data); }
  Md5Digest finish();
  void reset() { d_.reset(); }

 private:
  Digest d_;
};

// ---- MACs ---------------------------------------------------------------------------------------

Sha256Digest hmac_sha256(std::string_view key, std::string_view data);
Sha1Digest hmac_sha1(std::string_view key, std::string_view data);

// ---- CRCs ---------------------------------------------------------------------------------------
// Each takes the running value of a previous call (0 to start), so crc(a+b) == crc(b, crc(a)).
// The values are the standard finished CRCs (pre- and post-inverted), as S3 checksums use them:
// x-amz-checksum-crc32 is base64 of the big-endian bytes of crc32(...).

// CRC-32/ISO-HDLC (zlib, IEEE 802.3); crc32("123456789") == 0xCBF43926.
uint32_t crc32(std::string_view data, uint32_t crc = 0);
// CRC-32C (Castagnoli, iSCSI); crc32c("123456789") == 0xE3069283.
uint32_t crc32c(std::string_view data, uint32_t crc = 0);
// CRC-64/NVME (S3's CRC64NVME); crc64nvme("123456789") == 0xAE8B14860A799888.
uint64_t crc64nvme(std::string_view data, uint64_t crc = 0);

namespace detail {
// The table-driven CRC32C, also on CPUs with SSE4.2 (for tests comparing both paths).
uint32_t crc32c_portable(std::string_view data, uint32_t crc = 0);
}  // namespace detail

// Big-endian bytes of a CRC value, as S3 encodes checksums before base64.
std::string crc_bytes(uint32_t crc);
std::string crc_bytes(uint64_t crc);

}  // namespace ingestor
