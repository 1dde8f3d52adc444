#include "agent/channels/log_reader.h"

#include <algorithm>

namespace ingestor::fc {

namespace {
constexpr size_t kReadChunk = 1 << 20;
}

void LogReader::forget(uint32_t seg) {
  files_.erase(seg);
  if (cache_.chunk && cache_.seg == seg) cache_ = {};
}

Result<const char*> LogReader::get(uint32_t seg, uint64_t off, size_t n) {
  if (cache_.chunk && cache_.seg == seg && off >= cache_.off && off + n <= cache_.off + cache_.len)
    return cache_.chunk->data() + (off - cache_.off);
  auto it = files_.find(seg);
  if (it == files_.end()) {
    auto f = fs_.open(path_of_(seg), OpenMode::kRead);
    if (!f) return f.error();
    it = files_.emplace(seg, std::move(*f)).first;
  }
  const uint64_t safe = safe_end_(seg);
  size_t want = std::max(n, kReadChunk);
  // Cache no further than what is completely written (at least the n bytes asked for, which
  // belong to a committed range).
  if (safe != UINT64_MAX && safe > off + n) want = std::min<uint64_t>(want, safe - off);
  if (safe != UINT64_MAX && safe <= off + n) want = n;
  ChunkRef chunk = ChunkRef::adopt(Chunk::make(want));
  auto got = it->second->pread(chunk->data(), want, off);
  if (!got) return got.error();
  if (*got < n) return static_cast<const char*>(nullptr);
  cache_ = {seg, off, *got, std::move(chunk)};
  return cache_.chunk->data();
}

Result<LogReader::Outcome> LogReader::read(Range& r, size_t max, Batch& out) {
  Outcome o;
  Range w = r;  // work on a copy: an I/O error leaves r unchanged
  const size_t base = out.size();
  auto give_up = [&](std::string why) {
    o.corrupt += static_cast<size_t>(w.count);
    o.consumed += static_cast<size_t>(w.count);
    w.lo += w.count;
    w.count = 0;
    if (o.problem.empty()) o.problem = std::move(why);
  };
  while (w.count > 0 && o.consumed < max) {
    if (w.left_in_rec == 0) {
      auto p = get(w.seg, w.off, kRecordHeaderSize);
      if (!p) {
        out.resize(base);
        return p.error();
      }
      RecordHeader h;
      if (!*p || !parse_record_header(*p, &h)) {
        give_up("unreadable record header at offset " + std::to_string(w.off));
        break;
      }
      // Take records and position-only put records hold no event: read through them.
      if (h.type == RecordType::kTake || h.count == 0) {
        w.off += kRecordHeaderSize + h.payload_len;
        continue;
      }
      if (h.first_seq != w.seq_at_off) {
        give_up("unexpected put record at offset " + std::to_string(w.off));
        break;
      }
      w.left_in_rec = h.count;
      w.off += kRecordHeaderSize + h.position_len;  // the events follow the position block
      continue;
    }
    auto p = get(w.seg, w.off, kEventPrefixSize);
    if (!p) {
      out.resize(base);
      return p.error();
    }
    size_t size = *p ? event_size_at(*p, kEventPrefixSize + kMaxRecordPayload) : 0;
    if (size == 0) {
      give_up("unreadable event at offset " + std::to_string(w.off));
      break;
    }
    auto q = get(w.seg, w.off, size);
    if (!q) {
      out.resize(base);
      return q.error();
    }
    if (!*q) {
      give_up("event past the end of the segment at offset " + std::to_string(w.off));
      break;
    }
    const bool wanted = w.seq_at_off >= w.lo;
    if (wanted) {
      Event e;
      if (decode_event(*q, size, cache_.chunk, &e)) {
        e.seq = w.seq_at_off;
        out.push_back(std::move(e));
      } else {
        ++o.corrupt;
        if (o.problem.empty())
          o.problem = "checksum mismatch in event " + std::to_string(w.seq_at_off) + " at offset " +
                      std::to_string(w.off);
      }
      ++o.consumed;
      ++w.lo;
      --w.count;
    }
    w.off += size;
    ++w.seq_at_off;
    --w.left_in_rec;
  }
  r = w;
  return o;
}

}  // namespace ingestor::fc
