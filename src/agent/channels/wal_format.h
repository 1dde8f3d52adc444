#pragma once
// The file channel's on-disk record format (docs/formats/file_channel.md): segment headers, put
// and take records, the event encoding inside put records, and the in-memory Range that names a
// run of queued events by their place in a segment.
//
// All integers are little-endian. Pure functions; thread-safe.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"

namespace ingestor::fc {

inline constexpr char kSegmentMagic[8] = {'I', 'N', 'G', 'W', 'A', 'L', '0', '1'};
inline constexpr size_t kSegmentHeaderSize = 32;
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kRecordHeaderSize = 24;
inline constexpr size_t kEventPrefixSize = 12;
// Largest record payload accepted (writer and reader): 1 GiB.
inline constexpr uint32_t kMaxRecordPayload = 1u << 30;

enum class RecordType : uint8_t { kPut = 1, kTake = 2 };

struct RecordHeader {
  uint32_t crc = 0;
  uint32_t payload_len = 0;
  RecordType type = RecordType::kPut;
  uint32_t count = 0;      // put: events; take: seq ranges
  uint64_t first_seq = 0;  // put: sequence number of the first event; take: 0
};

// A run of event sequence numbers [lo, lo + count).
struct SeqRange {
  uint64_t lo = 0;
  uint64_t count = 0;
};

// A run of queued events in one segment: the events with sequence numbers [lo, lo + count),
// read by resuming at byte `off` of segment `seg`, where the event numbered `seq_at_off` (or the
// header of the record that starts with it, when `left_in_rec` is 0) lies. Events between
// seq_at_off and lo are parsed and skipped (ranges cut by replay). Put records of one segment hold
// increasing sequence numbers, so a range may span several put records and the take records
// between them.
struct Range {
  uint32_t seg = 0;
  uint32_t left_in_rec = 0;  // events of the current put record left at `off`; 0: a header is next
  uint64_t off = 0;
  uint64_t seq_at_off = 0;
  uint64_t lo = 0;
  uint64_t count = 0;
  bool operator==(const Range&) const = default;
};
inline constexpr size_t kRangeEncodedSize = 40;

// ---- little-endian helpers ----
inline void put_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline void put_u64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
inline uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// ---- segments ----
std::string encode_segment_header(uint32_t segment_id);
// True when `p` (kSegmentHeaderSize bytes) is a valid header of segment `segment_id`.
bool check_segment_header(const char* p, uint32_t segment_id);

// ---- records ----
// Bytes one event takes inside a put record.
inline size_t encoded_event_size(const Event& e) {
  size_t n = kEventPrefixSize + e.body.size();
  for (const auto& [k, v] : e.headers) n += 8 + k.size() + v.size();
  return n;
}
// Encodes a put record of `events` into `out` (replacing its contents). The record is not sealed:
// seal_put() sets its first sequence number and checksum. Fails (false) when the payload would
// exceed kMaxRecordPayload.
bool encode_put(const Batch& events, std::string& out);
void seal_put(std::string& record, uint64_t first_seq);
// Encodes a sealed take record naming the taken sequence ranges.
void encode_take(const std::vector<SeqRange>& ranges, std::string& out);

// Parses the fixed header fields (no checksum check). False when the type or reserved bytes are
// invalid.
bool parse_record_header(const char* p, RecordHeader* h);
// The record checksum: CRC32C over the payload followed by header bytes 4..24.
uint32_t record_crc(uint32_t payload_crc, const char* header);

// One event inside a put record, parsed from `p` (at least `avail` bytes). Returns the encoded
// size, or 0 when the prefix is malformed or does not fit in `avail`.
size_t event_size_at(const char* p, size_t avail);
// Checks the event's CRC and builds the Event (body as a slice of `chunk`). False on a mismatch.
bool decode_event(const char* p, size_t size, const ChunkRef& chunk, Event* out);

// ---- ranges ----
void encode_range(const Range& r, char* out);  // kRangeEncodedSize bytes
Range decode_range(const char* p);

}  // namespace ingestor::fc
