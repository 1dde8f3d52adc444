#pragma once
// The file channel's on-disk record format (docs/formats/file_channel.md): segment headers, put
// and take records, the event encoding inside put records, the position block a put record may
// carry (a source's position update, committed with the events: core/source_position.h), and the
// in-memory Range that names a run of queued events by their place in a segment.
//
// All integers are little-endian. Pure functions; thread-safe.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/source_position.h"

namespace ingestor::fc {

inline constexpr char kSegmentMagic[8] = {'I', 'N', 'G', 'W', 'A', 'L', '0', '1'};
inline constexpr size_t kSegmentHeaderSize = 32;
// Segments are written in format 2; format 1 (before position blocks) is still read: its put
// records have 0 in the bytes that now hold the position block's length.
inline constexpr uint32_t kFormatVersion = 2;
inline constexpr uint32_t kOldestFormatVersion = 1;
inline constexpr size_t kRecordHeaderSize = 24;
inline constexpr size_t kEventPrefixSize = 12;
// Largest record payload accepted (writer and reader): 1 GiB.
inline constexpr uint32_t kMaxRecordPayload = 1u << 30;
// Largest position block of a put record (its length is a 24-bit field of the record header).
inline constexpr uint32_t kMaxPositionBlock = (1u << 24) - 1;

enum class RecordType : uint8_t { kPut = 1, kTake = 2 };

struct RecordHeader {
  uint32_t crc = 0;
  uint32_t payload_len = 0;
  RecordType type = RecordType::kPut;
  uint32_t position_len = 0;  // put: bytes of the position block opening the payload (0: none)
  uint32_t count = 0;         // put: events; take: seq ranges
  uint64_t first_seq = 0;     // put: sequence number of the first event; take: 0
};

// A source's position update carried by a put record: (source name, update).
using PositionRecord = std::pair<std::string, PositionUpdate>;
// The committed positions of every source, by source name.
using SourcePositionMaps = std::map<std::string, PositionMap, std::less<>>;

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
// `version` is kFormatVersion except in tests that write an old segment.
std::string encode_segment_header(uint32_t segment_id, uint32_t version = kFormatVersion);
// True when `p` (kSegmentHeaderSize bytes) is a valid header of segment `segment_id`, in a format
// this code reads (kOldestFormatVersion..kFormatVersion).
bool check_segment_header(const char* p, uint32_t segment_id);

// ---- records ----
// Bytes one event takes inside a put record.
inline size_t encoded_event_size(const Event& e) {
  size_t n = kEventPrefixSize + e.body.size();
  for (const auto& [k, v] : e.headers) n += 8 + k.size() + v.size();
  return n;
}
// Bytes the position block of `pos` takes.
size_t encoded_position_size(std::string_view source, const PositionUpdate& update);
// Encodes a put record of `events` into `out` (replacing its contents), opening its payload with
// the position block of `pos` when given (`events` may then be empty: the update alone). The
// record is not sealed: seal_put() sets its first sequence number and checksum. Fails (false)
// when the payload would exceed kMaxRecordPayload or the position block kMaxPositionBlock.
// Without `pos` the record is byte for byte a format-1 put record.
bool encode_put(const Batch& events, std::string& out, const PositionRecord* pos = nullptr);
void seal_put(std::string& record, uint64_t first_seq);
// Encodes a sealed take record naming the taken sequence ranges.
void encode_take(const std::vector<SeqRange>& ranges, std::string& out);

// Parses the fixed header fields (no checksum check). False when the type or reserved bytes are
// invalid, or the counts and lengths cannot fit the payload.
bool parse_record_header(const char* p, RecordHeader* h);
// The record checksum: CRC32C over the payload followed by header bytes 4..24.
uint32_t record_crc(uint32_t payload_crc, const char* header);

// One event inside a put record, parsed from `p` (at least `avail` bytes). Returns the encoded
// size, or 0 when the prefix is malformed or does not fit in `avail`.
size_t event_size_at(const char* p, size_t avail);
// Checks the event's CRC and builds the Event (body as a slice of `chunk`). False on a mismatch.
bool decode_event(const char* p, size_t size, const ChunkRef& chunk, Event* out);

// ---- position blocks ----
// A position block: u32 source_len, source, u32 n, then n times (u32 key_len, key, u32 value_len,
// value); an empty value erases the key. Also the per-source entries of a checkpoint.
// Writes the block of (source, update) at `p` (encoded_position_size bytes).
void write_position_block(char* p, std::string_view source, const PositionUpdate& update);
// Parses one block from [p, p + avail): returns its size, or 0 when it is malformed or does not
// fit. Allocates no more than the bytes it reads.
size_t read_position_block(const char* p, size_t avail, std::string* source,
                           PositionUpdate* update);

// ---- ranges ----
void encode_range(const Range& r, char* out);  // kRangeEncodedSize bytes
Range decode_range(const char* p);

}  // namespace ingestor::fc
