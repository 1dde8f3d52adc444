#include "agent/channels/checkpoint.h"

#include <cstring>

#include "base/hash.h"

namespace ingestor::fc {

namespace {
constexpr char kMagic[8] = {'I', 'N', 'G', 'C', 'K', 'P', 'T', '1'};
constexpr size_t kFixed = 48;  // magic, version, log_seg, log_off, next_seq, n_ranges, reserved
}  // namespace

std::string encode_checkpoint(const Checkpoint& c) {
  std::string out(kFixed + c.queue.size() * kRangeEncodedSize + 4, '\0');
  char* p = out.data();
  std::memcpy(p, kMagic, 8);
  put_u32(p + 8, kFormatVersion);
  put_u32(p + 12, c.log_seg);
  put_u64(p + 16, c.log_off);
  put_u64(p + 24, c.next_seq);
  put_u64(p + 32, c.queue.size());
  // 40..48 reserved
  char* r = p + kFixed;
  for (const auto& range : c.queue) {
    encode_range(range, r);
    r += kRangeEncodedSize;
  }
  put_u32(r, crc32c(std::string_view(out.data(), out.size() - 4)));
  return out;
}

Result<Checkpoint> decode_checkpoint(std::string_view b) {
  if (b.size() < kFixed + 4 || std::memcmp(b.data(), kMagic, 8) != 0)
    return make_error(Errc::kCorrupt, "not a checkpoint (bad magic or length)");
  if (get_u32(b.data() + 8) != kFormatVersion)
    return make_error(Errc::kCorrupt, "unsupported checkpoint version");
  uint64_t n = get_u64(b.data() + 32);
  if (n > (b.size() - kFixed - 4) / kRangeEncodedSize ||
      b.size() != kFixed + n * kRangeEncodedSize + 4)
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
