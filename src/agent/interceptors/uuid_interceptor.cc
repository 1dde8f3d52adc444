#include "agent/interceptors/uuid_interceptor.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <random>

namespace ingestor {

const ComponentSpec& uuid_interceptor_spec() {
  static const ComponentSpec spec{
      "interceptor",
      "uuid",
      "org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder",
      "Adds a random UUID header (an event id).",
      {
          {"headerName", KeyType::kString, "id", false, "Header name"},
          {"preserveExisting", KeyType::kBool, "true", false, "Keep a value already there"},
          {"prefix", KeyType::kString, "", false, "Text put before the UUID"},
      }};
  return spec;
}

namespace {

// xoshiro256** (Blackman and Vigna), seeded from std::random_device per thread: 128 random bits
// in a few cycles. Like Java's UUID.randomUUID(), which Flume uses, these ids are for telling
// events apart, not secrets; unlike it, they need no lock and no system call.
class Xoshiro256 {
 public:
  Xoshiro256() {
    std::random_device rd;
    for (uint64_t& w : s_) w = (uint64_t{rd()} << 32) ^ rd();
    if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;  // the one state it must not be in
  }
  uint64_t next() {
    const uint64_t out = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return out;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// Writes a random (version 4, IETF variant) UUID's 36 characters at `out`.
void write_random_uuid(char* out) {
  thread_local Xoshiro256 rng;
  uint64_t hi = rng.next(), lo = rng.next();
  hi = (hi & ~uint64_t{0xF000}) | 0x4000;                      // version 4
  lo = (lo & ~(uint64_t{0xC} << 60)) | (uint64_t{0x8} << 60);  // IETF variant
  // Two hex digits per byte from one table, most significant byte first; dashes after bytes 4,
  // 6, 8 and 10.
  static constexpr auto kPairs = [] {
    std::array<char, 512> t{};
    constexpr char kHex[] = "0123456789abcdef";
    for (int b = 0; b < 256; ++b) {
      t[2 * b] = kHex[b >> 4];
      t[2 * b + 1] = kHex[b & 0xF];
    }
    return t;
  }();
  auto bytes = [&](uint64_t word, int from, int n) {
    for (int i = from; i < from + n; ++i) {
      std::memcpy(out, &kPairs[2 * ((word >> (8 * (7 - i))) & 0xFF)], 2);
      out += 2;
    }
  };
  bytes(hi, 0, 4);
  *out++ = '-';
  bytes(hi, 4, 2);
  *out++ = '-';
  bytes(hi, 6, 2);
  *out++ = '-';
  bytes(lo, 0, 2);
  *out++ = '-';
  bytes(lo, 2, 6);
}

}  // namespace

std::string random_uuid() {
  std::string out(36, '\0');
  write_random_uuid(out.data());
  return out;
}

UuidInterceptor::UuidInterceptor(const Settings& s)
    : header_(s.str("headerName")),
      prefix_(s.str("prefix")),
      preserve_(s.boolean("preserveExisting")) {}

void UuidInterceptor::intercept(Batch& events) {
  for (Event& e : events) {
    if (preserve_ && e.headers.contains(header_)) continue;
    std::string value(prefix_.size() + 36, '\0');  // one allocation for prefix and UUID
    std::memcpy(value.data(), prefix_.data(), prefix_.size());
    write_random_uuid(value.data() + prefix_.size());
    e.headers.set(header_, std::move(value));
  }
}

}  // namespace ingestor
