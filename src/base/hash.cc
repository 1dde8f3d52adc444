#include "base/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <zlib.h>

#include <bit>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace ingestor {
namespace {

// Algorithms are fetched once: an implicit fetch per EVP_DigestInit_ex costs a lock and a lookup
// in OpenSSL 3.
const EVP_MD* md_for(Digest::Algorithm a) {
  static const EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static const EVP_MD* sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  static const EVP_MD* md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  const EVP_MD* md = nullptr;
  switch (a) {
    case Digest::Algorithm::kSha256:
      md = sha256;
      break;
    case Digest::Algorithm::kSha1:
      md = sha1;
      break;
    case Digest::Algorithm::kMd5:
      md = md5;
      break;
  }
  if (md == nullptr) std::abort();  // the default provider is missing: nothing works
  return md;
}

template <size_t N>
std::array<uint8_t, N> one_shot(Digest::Algorithm a, std::string_view data) {
  std::array<uint8_t, N> out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, md_for(a), nullptr) != 1 || len != N) {
    std::abort();
  }
  return out;
}

template <size_t N>
std::array<uint8_t, N> hmac(const char* digest, std::string_view key, std::string_view data) {
  // EVP_Q_mac fetches per call; a cached EVP_MAC plus a per-call context avoids that.
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) std::abort();
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  if (ctx == nullptr) std::abort();
  OSSL_PARAM params[2];
  params[0] = OSSL_PARAM_construct_utf8_string("digest", const_cast<char*>(digest), 0);
  params[1] = OSSL_PARAM_construct_end();
  std::array<uint8_t, N> out{};
  size_t len = 0;
  if (EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) !=
          1 ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx, out.data(), &len, out.size()) != 1 || len != N) {
    EVP_MAC_CTX_free(ctx);
    std::abort();
  }
  EVP_MAC_CTX_free(ctx);
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// ---- CRC32C -------------------------------------------------------------------------------------

struct Crc32cTables {
  uint32_t t[8][256];
  Crc32cTables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
    }
  }
};

const Crc32cTables& crc32c_tables() {
  static const Crc32cTables tables;
  return tables;
}

// Raw (not inverted) update, slicing-by-8.
uint32_t crc32c_sw(uint32_t c, const unsigned char* p, size_t n) {
  const auto& t = crc32c_tables().t;
  while (n >= 8) {
    uint32_t lo;
    uint32_t hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    if constexpr (std::endian::native == std::endian::big) {
      lo = __builtin_bswap32(lo);
      hi = __builtin_bswap32(hi);
    }
    lo ^= c;
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
        t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFF];
  return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_hw(uint32_t c, const unsigned char* p, size_t n) {
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = _mm_crc32_u64(c64, v);
    p += 8;
    n -= 8;
  }
  c = static_cast<uint32_t>(c64);
  while (n-- > 0) c = _mm_crc32_u8(c, *p++);
  return c;
}

bool have_sse42() {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}
#endif

// ---- CRC64/NVME ---------------------------------------------------------------------------------

// Reflected, slicing-by-8 (t[k][b]: byte b followed by k zero bytes), as crc32c_sw: eight
// table lookups per 8 bytes instead of a dependent lookup per byte (~6x the byte loop).
struct Crc64Table {
  uint64_t t[8][256];
  Crc64Table() {
    for (uint64_t i = 0; i < 256; ++i) {
      uint64_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x9A6C9329AC4BC9B5ull : c >> 1;
      t[0][i] = c;
    }
    for (int k = 1; k < 8; ++k)
      for (int i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
  }
};

uint64_t crc64nvme_sw(uint64_t c, const unsigned char* p, size_t n) {
  static const Crc64Table table;
  const auto& t = table.t;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
    c ^= v;
    c = t[7][c & 0xFF] ^ t[6][(c >> 8) & 0xFF] ^ t[5][(c >> 16) & 0xFF] ^ t[4][(c >> 24) & 0xFF] ^
        t[3][(c >> 32) & 0xFF] ^ t[2][(c >> 40) & 0xFF] ^ t[1][(c >> 48) & 0xFF] ^ t[0][c >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFF];
  return c;
}

}  // namespace

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 0xF];
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const uint32_t v = uint32_t{p[i]} << 16;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    const uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after '='
      v[k] = b64_value(c);
      if (v[k] < 0) return std::nullopt;
    }
    const uint32_t w =
        (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    if (pad == 2 && (w & 0xFFFF) != 0) return std::nullopt;
    if (pad == 1 && (w & 0xFF) != 0) return std::nullopt;
    out += static_cast<char>(w >> 16);
    if (pad < 2) out += static_cast<char>((w >> 8) & 0xFF);
    if (pad < 1) out += static_cast<char>(w & 0xFF);
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Sha256Digest sha256(std::string_view data) {
  return one_shot<32>(Digest::Algorithm::kSha256, data);
}
std::string sha256_hex(std::string_view data) { return to_hex(sha256(data)); }
Sha1Digest sha1(std::string_view data) { return one_shot<20>(Digest::Algorithm::kSha1, data); }
Md5Digest md5(std::string_view data) { return one_shot<16>(Digest::Algorithm::kMd5, data); }

Digest::Digest(Algorithm a) : algorithm_(a), ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) std::abort();
  reset();
}

Digest::~Digest() { EVP_MD_CTX_free(ctx_); }

Digest::Digest(Digest&& o) noexcept : algorithm_(o.algorithm_), ctx_(o.ctx_) { o.ctx_ = nullptr; }

Digest& Digest::operator=(Digest&& o) noexcept {
  if (this != &o) {
    EVP_MD_CTX_free(ctx_);
    algorithm_ = o.algorithm_;
    ctx_ = o.ctx_;
    o.ctx_ = nullptr;
  }
  return *this;
}

void Digest::reset() {
  if (EVP_DigestInit_ex(ctx_, md_for(algorithm_), nullptr) != 1) std::abort();
}

void Digest::update(std::string_view data) {
  if (EVP_DigestUpdate(ctx_, data.data(), data.size()) != 1) std::abort();
}

size_t Digest::size() const { return static_cast<size_t>(EVP_MD_get_size(md_for(algorithm_))); }

std::string Digest::finish() {
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_, buf, &len) != 1) std::abort();
  return std::string(reinterpret_cast<const char*>(buf), len);
}

Sha256Digest Sha256::finish() {
  const std::string raw = d_.finish();
  Sha256Digest out{};
  std::memcpy(out.data(), raw.data(), out.size());
  return out;
}

Md5Digest Md5::finish() {
  const std::string raw = d_.finish();
  Md5Digest out{};
  std::memcpy(out.data(), raw.data(), out.size());
  return out;
}

Sha256Digest hmac_sha256(std::string_view key, std::string_view data) {
  return hmac<32>("SHA256", key, data);
}
Sha1Digest hmac_sha1(std::string_view key, std::string_view data) {
  return hmac<20>("SHA1", key, data);
}

uint32_t crc32(std::string_view data, uint32_t crc) {
  uLong c = crc;
  const auto* p = reinterpret_cast<const Bytef*>(data.data());
  size_t n = data.size();
  while (n > 0) {  // zlib takes uInt lengths
    const uInt step = n > (1u << 30) ? (1u << 30) : static_cast<uInt>(n);
    c = ::crc32(c, p, step);
    p += step;
    n -= step;
  }
  return static_cast<uint32_t>(c);
}

uint32_t crc32c(std::string_view data, uint32_t crc) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  uint32_t c = ~crc;
#if defined(__x86_64__)
  if (have_sse42()) return ~crc32c_hw(c, p, data.size());
#endif
  return ~crc32c_sw(c, p, data.size());
}

namespace detail {
uint32_t crc32c_portable(std::string_view data, uint32_t crc) {
  return ~crc32c_sw(~crc, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}
}  // namespace detail

uint64_t crc64nvme(std::string_view data, uint64_t crc) {
  return ~crc64nvme_sw(~crc, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

std::string crc_bytes(uint32_t crc) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xFF);
  return out;
}

std::string crc_bytes(uint64_t crc) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((crc >> (56 - 8 * i)) & 0xFF);
  return out;
}

}  // namespace ingestor
