#include "agent/channels/checkpoint.h"

#include <cstring>

#include "base/hash.h"

namespace ingestor::fc {

namespace {
constexpr char kMagic[8] = {'I', 'N', 'G', 'C', 'K', 'P', 'T', '1'};
// magic, version, log_seg, log_off, next_seq, n_ranges, positions_len (format 1: reserved, 0)
constexpr size_t kFixed = 48;

// The positions section: u32 n_sources, then per source a position block (wal_format.h) whose
// entries are the source's map.
size_t positions_size(const SourcePositionMaps& m) {
  if (m.empty()) return 0;
  size_t n = 4;
  for (const auto& [source, map] : m) {
    n += 8 + source.size();
    for (const auto& [k, v] : map) n += 8 + k.size() + v.size();
  }
  return n;
}

void write_positions(char* p, const SourcePositionMaps& m) {
  put_u32(p, static_cast<uint32_t>(m.size()));
  p += 4;
  PositionUpdate entries;
  for (const auto& [source, map] : m) {
    entries.assign(map.begin(), map.end());
    write_position_block(p, source, entries);
    p += encoded_position_size(source, entries);
  }
}

Result<SourcePositionMaps> read_positions(std::string_view b) {
  SourcePositionMaps m;
  if (b.empty()) return m;
  if (b.size() < 4) return make_error(Errc::kCorrupt, "checkpoint positions truncated");
  const uint32_t n = get_u32(b.data());
  size_t at = 4;
  std::string source;
  PositionUpdate entries;
  for (uint32_t i = 0; i < n; ++i) {
    const size_t used = read_position_block(b.data() + at, b.size() - at, &source, &entries);
    if (used == 0) return make_error(Errc::kCorrupt, "checkpoint positions damaged");
    at += used;
    PositionMap& map = m[source];
    for (auto& [k, v] : entries)
      if (!v.empty()) map.insert_or_assign(std::move(k), std::move(v));
  }
  if (at != b.size())
    return make_error(Errc::kCorrupt, "checkpoint positions length does not match");
  return m;
}
}  // namespace

std::string encode_checkpoint(const Checkpoint& c) {
  const size_t pos_len = positions_size(c.positions);
  const size_t ranges_len = c.queue.size() * kRangeEncodedSize;
  std::string out(kFixed + ranges_len + pos_len + 4, '\0');
  char* p = out.data();
  std::memcpy(p, kMagic, 8);
  put_u32(p + 8, kCheckpointVersion);
  put_u32(p + 12, c.log_seg);
  put_u64(p + 16, c.log_off);
  put_u64(p + 24, c.next_seq);
  put_u64(p + 32, c.queue.size());
  put_u64(p + 40, pos_len);
  char* r = p + kFixed;
  for (const auto& range : c.queue) {
    encode_range(range, r);
    r += kRangeEncodedSize;
  }
  if (pos_len > 0) write_positions(r, c.positions);
  r += pos_len;
  put_u32(r, crc32c(std::string_view(out.data(), out.size() - 4)));
  return out;
}

Result<Checkpoint> decode_checkpoint(std::string_view b) {
  if (b.size() < kFixed + 4 || std::memcmp(b.data(), kMagic, 8) != 0)
    return make_error(Errc::kCorrupt, "not a checkpoint (bad magic or length)");
  const uint32_t version = get_u32(b.data() + 8);
  if (version < kOldestCheckpointVersion || version > kCheckpointVersion)
    return make_error(Errc::kCorrupt, "unsupported checkpoint version " + std::to_string(version));
  const uint64_t n = get_u64(b.data() + 32);
  const uint64_t pos_len = get_u64(b.data() + 40);  // format 1: reserved, 0
  const uint64_t body = b.size() - kFixed - 4;
  if (n > body / kRangeEncodedSize || pos_len > body - n * kRangeEncodedSize ||
      body != n * kRangeEncodedSize + pos_len)
    return make_error(Errc::kCorrupt, "checkpoint length does not match its range count");
  if (crc32c(b.substr(0, b.size() - 4)) != get_u32(b.data() + b.size() - 4))
    return make_error(Errc::kCorrupt, "checkpoint checksum mismatch");
  Checkpoint c;
  c.log_seg = get_u32(b.data() + 12);
  c.log_off = get_u64(b.data() + 16);
  c.next_seq = get_u64(b.data() + 24);
  c.queue.reserve(n);
  for (uint64_t i = 0; i < n; ++i)
    c.queue.push_back(decode_range(b.data() + kFixed + i * kRangeEncodedSize));
  auto positions = read_positions(b.substr(kFixed + n * kRangeEncodedSize, pos_len));
  if (!positions) return positions.error();
  c.positions = std::move(*positions);
  return c;
}

Status write_checkpoint(Fs& fs, const std::string& dir, const Checkpoint& c) {
  return write_file_atomic(fs, dir, kCheckpointName, encode_checkpoint(c));
}

Result<std::optional<Checkpoint>> read_checkpoint(Fs& fs, const std::string& dir) {
  const std::string path = dir + "/" + kCheckpointName;
  auto bytes = read_whole_file(fs, path);
  if (!bytes) {
    if (bytes.error().code == Errc::kNotFound) return std::optional<Checkpoint>();
    return bytes.error();
  }
  auto c = decode_checkpoint(*bytes);
  if (!c) return make_error(Errc::kCorrupt, path + ": " + c.error().message);
  return std::optional<Checkpoint>(std::move(*c));
}

}  // namespace ingestor::fc
