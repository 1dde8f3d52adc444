#include "agent/channels/wal_format.h"

#include <cstring>

#include "base/hash.h"

namespace ingestor::fc {

std::string encode_segment_header(uint32_t segment_id, uint32_t version) {
  std::string h(kSegmentHeaderSize, '\0');
  std::memcpy(h.data(), kSegmentMagic, 8);
  put_u32(h.data() + 8, version);
  put_u32(h.data() + 12, segment_id);
  // bytes 16..28 reserved (zero)
  put_u32(h.data() + 28, crc32c(std::string_view(h.data(), 28)));
  return h;
}

bool check_segment_header(const char* p, uint32_t segment_id) {
  const uint32_t version = get_u32(p + 8);
  return std::memcmp(p, kSegmentMagic, 8) == 0 && version >= kOldestFormatVersion &&
         version <= kFormatVersion && get_u32(p + 12) == segment_id &&
         get_u32(p + 28) == crc32c(std::string_view(p, 28));
}

size_t encoded_position_size(std::string_view source, const PositionUpdate& update) {
  size_t n = 8 + source.size();
  for (const auto& [k, v] : update) n += 8 + k.size() + v.size();
  return n;
}

void write_position_block(char* p, std::string_view source, const PositionUpdate& update) {
  put_u32(p, static_cast<uint32_t>(source.size()));
  if (!source.empty()) std::memcpy(p + 4, source.data(), source.size());
  p += 4 + source.size();
  put_u32(p, static_cast<uint32_t>(update.size()));
  p += 4;
  for (const auto& [k, v] : update) {
    put_u32(p, static_cast<uint32_t>(k.size()));
    if (!k.empty()) std::memcpy(p + 4, k.data(), k.size());
    p += 4 + k.size();
    put_u32(p, static_cast<uint32_t>(v.size()));
    if (!v.empty()) std::memcpy(p + 4, v.data(), v.size());
    p += 4 + v.size();
  }
}

namespace {
// Reads a u32-prefixed string from [*p, end); false when it does not fit.
bool read_lp(const char*& p, const char* end, std::string* out) {
  if (end - p < 4) return false;
  const size_t n = get_u32(p);
  if (static_cast<size_t>(end - p - 4) < n) return false;
  out->assign(p + 4, n);
  p += 4 + n;
  return true;
}
}  // namespace

size_t read_position_block(const char* p, size_t avail, std::string* source,
                           PositionUpdate* update) {
  const char* const start = p;
  const char* const end = p + avail;
  update->clear();
  if (!read_lp(p, end, source) || end - p < 4) return 0;
  uint32_t n = get_u32(p);
  p += 4;
  // Each entry takes at least 8 bytes: a count that cannot fit is refused before any allocation.
  if (uint64_t{n} * 8 > static_cast<uint64_t>(end - p)) return 0;
  update->reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    std::string k, v;
    if (!read_lp(p, end, &k) || !read_lp(p, end, &v)) return 0;
    update->emplace_back(std::move(k), std::move(v));
  }
  return static_cast<size_t>(p - start);
}

bool encode_put(const Batch& events, std::string& out, const PositionRecord* pos) {
  const size_t pos_len = pos ? encoded_position_size(pos->first, pos->second) : 0;
  if (pos_len > kMaxPositionBlock) return false;
  size_t payload = pos_len;
  for (const auto& e : events) payload += encoded_event_size(e);
  if (payload > kMaxRecordPayload) return false;
  out.resize(kRecordHeaderSize + payload);
  char* h = out.data();
  char* p = h + kRecordHeaderSize;
  if (pos) {
    write_position_block(p, pos->first, pos->second);
    p += pos_len;
  }
  for (const auto& e : events) {
    char* start = p;
    size_t hdr_len = 0;
    for (const auto& [k, v] : e.headers) hdr_len += 8 + k.size() + v.size();
    put_u32(p + 4, static_cast<uint32_t>(e.body.size()));
    put_u32(p + 8, static_cast<uint32_t>(hdr_len));
    p += kEventPrefixSize;
    for (const auto& [k, v] : e.headers) {
      put_u32(p, static_cast<uint32_t>(k.size()));
      std::memcpy(p + 4, k.data(), k.size());
      p += 4 + k.size();
      put_u32(p, static_cast<uint32_t>(v.size()));
      std::memcpy(p + 4, v.data(), v.size());
      p += 4 + v.size();
    }
    if (!e.body.empty()) std::memcpy(p, e.body.data(), e.body.size());
    p += e.body.size();
    put_u32(start, crc32c(std::string_view(start + 4, static_cast<size_t>(p - start - 4))));
  }
  put_u32(h + 4, static_cast<uint32_t>(payload));
  h[8] = static_cast<char>(RecordType::kPut);
  h[9] = static_cast<char>(pos_len);  // 24-bit position block length (0: none, as in format 1)
  h[10] = static_cast<char>(pos_len >> 8);
  h[11] = static_cast<char>(pos_len >> 16);
  put_u32(h + 12, static_cast<uint32_t>(events.size()));
  put_u64(h + 16, 0);
  // Until sealed, the crc field holds the payload's CRC.
  put_u32(h, crc32c(std::string_view(h + kRecordHeaderSize, payload)));
  return true;
}

void seal_put(std::string& record, uint64_t first_seq) {
  char* h = record.data();
  put_u64(h + 16, first_seq);
  put_u32(h, record_crc(get_u32(h), h));
}

void encode_take(const std::vector<SeqRange>& ranges, std::string& out) {
  const size_t payload = ranges.size() * 12;
  out.resize(kRecordHeaderSize + payload);
  char* h = out.data();
  char* p = h + kRecordHeaderSize;
  for (const auto& r : ranges) {
    put_u64(p, r.lo);
    put_u32(p + 8, static_cast<uint32_t>(r.count));
    p += 12;
  }
  put_u32(h + 4, static_cast<uint32_t>(payload));
  h[8] = static_cast<char>(RecordType::kTake);
  h[9] = h[10] = h[11] = 0;
  put_u32(h + 12, static_cast<uint32_t>(ranges.size()));
  put_u64(h + 16, 0);
  put_u32(h, record_crc(crc32c(std::string_view(h + kRecordHeaderSize, payload)), h));
}

bool parse_record_header(const char* p, RecordHeader* h) {
  h->crc = get_u32(p);
  h->payload_len = get_u32(p + 4);
  uint8_t t = static_cast<uint8_t>(p[8]);
  if (t != static_cast<uint8_t>(RecordType::kPut) && t != static_cast<uint8_t>(RecordType::kTake))
    return false;
  if (h->payload_len > kMaxRecordPayload) return false;
  h->type = static_cast<RecordType>(t);
  h->position_len = static_cast<unsigned char>(p[9]) |
                    (uint32_t{static_cast<unsigned char>(p[10])} << 8) |
                    (uint32_t{static_cast<unsigned char>(p[11])} << 16);
  h->count = get_u32(p + 12);
  h->first_seq = get_u64(p + 16);
  if (h->type == RecordType::kTake)
    return h->position_len == 0 && uint64_t{h->count} * 12 == h->payload_len;
  // A put holds events, a position update, or both; never neither.
  if (h->count == 0 && h->position_len == 0) return false;
  return uint64_t{h->count} * kEventPrefixSize + h->position_len <= uint64_t{h->payload_len};
}

uint32_t record_crc(uint32_t payload_crc, const char* header) {
  return crc32c(std::string_view(header + 4, kRecordHeaderSize - 4), payload_crc);
}

size_t event_size_at(const char* p, size_t avail) {
  if (avail < kEventPrefixSize) return 0;
  uint64_t body = get_u32(p + 4);
  uint64_t hdr = get_u32(p + 8);
  uint64_t total = kEventPrefixSize + body + hdr;
  if (total > kMaxRecordPayload || total > avail) return 0;
  return static_cast<size_t>(total);
}

bool decode_event(const char* p, size_t size, const ChunkRef& chunk, Event* out) {
  if (crc32c(std::string_view(p + 4, size - 4)) != get_u32(p)) return false;
  size_t body = get_u32(p + 4);
  size_t hdr = get_u32(p + 8);
  const char* h = p + kEventPrefixSize;
  const char* hend = h + hdr;
  Headers headers;
  while (h < hend) {
    if (hend - h < 4) return false;
    size_t kl = get_u32(h);
    if (static_cast<size_t>(hend - h - 4) < kl + 4) return false;
    std::string k(h + 4, kl);
    h += 4 + kl;
    size_t vl = get_u32(h);
    if (static_cast<size_t>(hend - h - 4) < vl) return false;
    headers.set(std::move(k), std::string(h + 4, vl));
    h += 4 + vl;
  }
  out->headers = std::move(headers);
  out->body = Slice(chunk, hend, body);
  return true;
}

void encode_range(const Range& r, char* out) {
  put_u32(out, r.seg);
  put_u32(out + 4, r.left_in_rec);
  put_u64(out + 8, r.off);
  put_u64(out + 16, r.seq_at_off);
  put_u64(out + 24, r.lo);
  put_u64(out + 32, r.count);
}

Range decode_range(const char* p) {
  Range r;
  r.seg = get_u32(p);
  r.left_in_rec = get_u32(p + 4);
  r.off = get_u64(p + 8);
  r.seq_at_off = get_u64(p + 16);
  r.lo = get_u64(p + 24);
  r.count = get_u64(p + 32);
  return r;
}

}  // namespace ingestor::fc
