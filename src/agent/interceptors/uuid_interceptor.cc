#include "agent/interceptors/uuid_interceptor.h"

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

std::string random_uuid() {
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }()};
  uint64_t hi = rng(), lo = rng();
  hi = (hi & ~uint64_t{0xF000}) | 0x4000;                      // version 4
  lo = (lo & ~(uint64_t{0xC} << 60)) | (uint64_t{0x8} << 60);  // IETF variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  size_t o = 0;
  auto put = [&](uint64_t v, int from_nibble, int n) {
    for (int i = 0; i < n; ++i, ++o) {
      if (o == 8 || o == 13 || o == 18 || o == 23) ++o;
      out[o] = kHex[(v >> (4 * (from_nibble - i))) & 0xF];
    }
  };
  put(hi, 15, 16);
  put(lo, 15, 16);
  return out;
}

UuidInterceptor::UuidInterceptor(const Settings& s)
    : header_(s.str("headerName")),
      prefix_(s.str("prefix")),
      preserve_(s.boolean("preserveExisting")) {}

void UuidInterceptor::intercept(Batch& events) {
  for (Event& e : events) {
    if (preserve_ && e.headers.contains(header_)) continue;
    e.headers.set(header_, prefix_ + random_uuid());
  }
}

}  // namespace ingestor
