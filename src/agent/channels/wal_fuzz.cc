// Fuzz target `wal` (fuzz/README.md): the file channel's log as recovery reads it back after a
// crash or from a damaged disk (docs/formats/file_channel.md): segment files scanned by replay()
// (with its torn-tail truncation), the position blocks of put records (format 2) and the
// positions replay rebuilds from them, the queued events read by LogReader, and checkpoints
// (with their positions).
//
// Input: byte 0 = flags, byte 1 = a position, the rest = the bytes of the log.
//   flags & 1: recompute every record's checksum before writing the segment (so the fuzzer gets
//              past the CRC into the record structure, position blocks included); flags & 2:
//              also every event's checksum (the events after a put's position block);
//   flags & 4: two segments, log-1 and log-2, split at the position;
//   flags & 8: the segment header comes from the input (otherwise a valid one is written);
//   flags & 16: the bytes are a checkpoint file instead (its CRC recomputed if flags & 1);
//   flags >> 5: the batch size LogReader is asked for (1..8).
// The segments live in an in-memory Fs (no disk I/O).
//
// Invariants:
//  - replay() succeeds (damage is skipped or truncated, never an error without an I/O error);
//    its event count is the sum of its ranges; its positions hold no empty value (an empty value
//    in an update erases the key);
//  - recovering a second time from what the first recovery left gives the same queue and the
//    same positions (the truncation is idempotent);
//  - recovering from a checkpoint of that state, with the segments, gives the same positions
//    (records before the checkpoint are not applied twice, its maps are kept);
//  - reading every range with LogReader consumes exactly its events, at most a batch at a time
//    (or all the rest when it gives up on a damaged range), each event once, in order of
//    sequence number, with bodies within the segment's size;
//  - a checkpoint decode_checkpoint() accepts encodes back to a checkpoint that decodes equal.

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "agent/channels/checkpoint.h"
#include "agent/channels/log_reader.h"
#include "agent/channels/replay.h"
#include "agent/channels/wal.h"
#include "agent/channels/wal_format.h"
#include "base/fs.h"
#include "base/fuzz_check.h"
#include "base/hash.h"

namespace {

using namespace ingestor;
using namespace ingestor::fc;

// Files in memory: path -> bytes. Directories exist implicitly.
class MemFs final : public Fs {
 public:
  std::map<std::string, std::shared_ptr<std::string>> files;

  Result<std::unique_ptr<FsFile>> open(const std::string& path, OpenMode mode) override {
    auto it = files.find(path);
    if (it == files.end()) {
      if (mode == OpenMode::kRead) return make_error(Errc::kNotFound, "open " + path);
      it = files.emplace(path, std::make_shared<std::string>()).first;
    }
    if (mode == OpenMode::kCreateTrunc) it->second->clear();
    return std::unique_ptr<FsFile>(new File(path, it->second));
  }
  Status remove(const std::string& path) override {
    if (files.erase(path) == 0) return make_error(Errc::kNotFound, "remove " + path);
    return {};
  }
  Status rename(const std::string& from, const std::string& to) override {
    auto it = files.find(from);
    if (it == files.end()) return make_error(Errc::kNotFound, "rename " + from);
    files[to] = it->second;
    files.erase(from);
    return {};
  }
  Status sync_dir(const std::string&) override { return {}; }
  Result<std::vector<std::string>> list_dir(const std::string& dir) override {
    std::vector<std::string> names;
    const std::string prefix = dir + "/";
    for (const auto& [path, data] : files) {
      if (path.starts_with(prefix) && path.find('/', prefix.size()) == std::string::npos) {
        names.push_back(path.substr(prefix.size()));
      }
    }
    return names;
  }
  Status make_dirs(const std::string&) override { return {}; }
  bool exists(const std::string& path) override { return files.contains(path); }
  Result<uint64_t> free_space(const std::string&) override { return uint64_t{1} << 40; }
  Result<std::unique_ptr<FsLock>> lock(const std::string&) override {
    return std::make_unique<FsLock>();
  }

 private:
  class File final : public FsFile {
   public:
    File(std::string path, std::shared_ptr<std::string> data)
        : path_(std::move(path)), data_(std::move(data)) {}
    Result<size_t> writev(const struct iovec* iov, int iovcnt) override {
      size_t n = 0;
      for (int i = 0; i < iovcnt; ++i) {
        data_->append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
        n += iov[i].iov_len;
      }
      return n;
    }
    Result<size_t> pread(char* buf, size_t n, uint64_t offset) override {
      if (offset >= data_->size()) return size_t{0};
      const size_t got = std::min<uint64_t>(n, data_->size() - offset);
      std::memcpy(buf, data_->data() + offset, got);
      return got;
    }
    Status sync() override { return {}; }
    Status truncate(uint64_t size) override {
      if (size < data_->size()) data_->resize(size);
      return {};
    }
    Result<uint64_t> size() override { return uint64_t{data_->size()}; }
    const std::string& path() const override { return path_; }

   private:
    std::string path_;
    std::shared_ptr<std::string> data_;
  };
};

constexpr char kDir[] = "/wal";

// Recomputes the checksums of the records (and of the events in put records) found by walking
// the record lengths from `from`.
void fix_checksums(std::string& seg, size_t from, bool events) {
  size_t off = from;
  while (off + kRecordHeaderSize <= seg.size()) {
    char* h = seg.data() + off;
    const uint64_t len = get_u32(h + 4);
    if (off + kRecordHeaderSize + len > seg.size()) break;
    char* payload = h + kRecordHeaderSize;
    if (events && h[8] == static_cast<char>(RecordType::kPut)) {
      // The events follow the position block (its 24-bit length in header bytes 9..11).
      size_t at = static_cast<unsigned char>(h[9]) |
                  (size_t{static_cast<unsigned char>(h[10])} << 8) |
                  (size_t{static_cast<unsigned char>(h[11])} << 16);
      while (at < len) {
        const size_t n = event_size_at(payload + at, len - at);
        if (n == 0) break;
        put_u32(payload + at, crc32c(std::string_view(payload + at + 4, n - 4)));
        at += n;
      }
    }
    put_u32(h, record_crc(crc32c(std::string_view(payload, len)), h));
    off += kRecordHeaderSize + len;
  }
}

void check_checkpoint(std::string bytes, bool fix) {
  if (fix && bytes.size() >= 4) {
    put_u32(bytes.data() + bytes.size() - 4,
            crc32c(std::string_view(bytes.data(), bytes.size() - 4)));
  }
  auto c = decode_checkpoint(bytes);
  if (!c) {
    INGESTOR_FUZZ_CHECK(c.error().code == Errc::kCorrupt, c.error().message);
    return;
  }
  auto again = decode_checkpoint(encode_checkpoint(*c));
  INGESTOR_FUZZ_CHECK(again.has_value() && *again == *c);
}

uint64_t queued(const std::deque<Range>& q) {
  uint64_t n = 0;
  for (const auto& r : q) n += r.count;
  return n;
}

// Reads every range of `queue` with a LogReader, `batch` events at a time.
void read_all(MemFs& fs, const std::deque<Range>& queue, size_t batch) {
  auto path_of = [](uint32_t seg) { return std::string(kDir) + "/" + segment_name(seg); };
  LogReader reader(fs, path_of, [&fs, path_of](uint32_t seg) -> uint64_t {
    auto it = fs.files.find(path_of(seg));
    return it == fs.files.end() ? 0 : it->second->size();
  });
  for (Range r : queue) {
    const uint64_t end = r.lo + r.count;
    auto it = fs.files.find(path_of(r.seg));
    const uint64_t seg_size = it == fs.files.end() ? 0 : it->second->size();
    uint64_t next_seq = r.lo;
    while (r.count > 0) {
      Batch out;
      const uint64_t before = r.count;
      auto o = reader.read(r, batch, out);
      INGESTOR_FUZZ_CHECK(o.has_value(), o.error().message);  // the segment is in memory
      // At most `batch` events, unless the reader gave up on the rest of the range as corrupt.
      INGESTOR_FUZZ_CHECK(o->consumed > 0 &&
                          (o->consumed <= batch || (r.count == 0 && o->corrupt > 0)));
      INGESTOR_FUZZ_CHECK(before - r.count == o->consumed);
      INGESTOR_FUZZ_CHECK(out.size() + o->corrupt == o->consumed);
      for (const Event& e : out) {
        INGESTOR_FUZZ_CHECK(e.seq >= next_seq && e.seq < end, std::to_string(e.seq));
        INGESTOR_FUZZ_CHECK(e.body.size() <= seg_size);
        next_seq = e.seq + 1;
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t flags = data[0];
  const std::string bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
  if (flags & 16) {
    check_checkpoint(bytes, flags & 1);
    return 0;
  }

  std::string first = bytes, second;
  if (flags & 4) {
    const size_t cut = bytes.size() * data[1] / 256;
    first = bytes.substr(0, cut);
    second = encode_segment_header(2) + bytes.substr(cut);
  }
  if (!(flags & 8)) first = encode_segment_header(1) + first;
  if (flags & 1) {
    fix_checksums(first, kSegmentHeaderSize, flags & 2);
    if (!second.empty()) fix_checksums(second, kSegmentHeaderSize, flags & 2);
  }
  MemFs fs;
  fs.files[std::string(kDir) + "/" + segment_name(1)] = std::make_shared<std::string>(first);
  if (!second.empty()) {
    fs.files[std::string(kDir) + "/" + segment_name(2)] = std::make_shared<std::string>(second);
  }

  auto res = replay(fs, {kDir}, std::nullopt);
  INGESTOR_FUZZ_CHECK(res.has_value(), res.error().message);
  INGESTOR_FUZZ_CHECK(res->events == queued(res->queue));
  INGESTOR_FUZZ_CHECK(res->next_seq >= 1);
  for (const auto& [source, map] : res->positions)
    for (const auto& [k, v] : map) INGESTOR_FUZZ_CHECK(!v.empty(), source + ": " + k);

  auto again = replay(fs, {kDir}, std::nullopt);
  INGESTOR_FUZZ_CHECK(again.has_value(), again.error().message);
  INGESTOR_FUZZ_CHECK(again->queue == res->queue);
  INGESTOR_FUZZ_CHECK(again->next_seq == res->next_seq);
  INGESTOR_FUZZ_CHECK(again->positions == res->positions);

  read_all(fs, res->queue, 1 + (flags >> 5));

  // The checkpoint of this state, at the end of the log: it round-trips, and a recovery from it
  // keeps its positions (no record after it).
  Checkpoint c;
  c.log_seg = res->last_segment;
  auto last = fs.files.find(std::string(kDir) + "/" + segment_name(res->last_segment));
  c.log_off = last == fs.files.end() ? 0 : last->second->size();
  c.next_seq = res->next_seq;
  c.queue.assign(res->queue.begin(), res->queue.end());
  c.positions = res->positions;
  check_checkpoint(encode_checkpoint(c), false);
  auto from_ckpt = replay(fs, {kDir}, c);
  INGESTOR_FUZZ_CHECK(from_ckpt.has_value(), from_ckpt.error().message);
  INGESTOR_FUZZ_CHECK(from_ckpt->positions == res->positions);
  INGESTOR_FUZZ_CHECK(from_ckpt->queue == res->queue);
  return 0;
}
