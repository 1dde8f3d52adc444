#include "agent/channels/replay.h"

#include <algorithm>

#include "agent/channels/wal.h"

namespace ingestor::fc {

void append_range(std::deque<Range>& q, const Range& r) {
  if (r.count == 0) return;
  if (!q.empty()) {
    Range& b = q.back();
    if (b.seg == r.seg && b.lo + b.count == r.lo && r.seq_at_off == r.lo && b.count > 0) {
      b.count += r.count;
      return;
    }
  }
  q.push_back(r);
}

void SeqSet::add(uint64_t lo, uint64_t count) {
  if (count == 0) return;
  uint64_t hi = lo + count;
  auto it = m_.upper_bound(lo);
  if (it != m_.begin()) {
    auto p = std::prev(it);
    if (p->second >= lo) {
      lo = p->first;
      hi = std::max(hi, p->second);
      m_.erase(p);
    }
  }
  while (it != m_.end() && it->first <= hi) {
    hi = std::max(hi, it->second);
    it = m_.erase(it);
  }
  m_.emplace(lo, hi);
}

void SeqSet::subtract(const Range& r, std::deque<Range>& out) const {
  uint64_t cur = r.lo;
  const uint64_t end = r.lo + r.count;
  auto it = m_.upper_bound(cur);
  if (it != m_.begin()) --it;
  for (; it != m_.end() && cur < end; ++it) {
    if (it->second <= cur) continue;
    if (it->first >= end) break;
    if (it->first > cur) {
      Range piece = r;
      piece.lo = cur;
      piece.count = it->first - cur;
      out.push_back(piece);
    }
    cur = std::max(cur, it->second);
  }
  if (cur < end) {
    Range piece = r;
    piece.lo = cur;
    piece.count = end - cur;
    out.push_back(piece);
  }
}

Result<ReplayResult> replay(Fs& fs, const std::vector<std::string>& dirs,
                            const std::optional<Checkpoint>& ckpt) {
  ReplayResult res;
  auto segs = list_segments(fs, dirs);
  if (!segs) return segs.error();
  std::deque<Range> queue;
  uint64_t max_seq = 0;
  if (ckpt) {
    for (const auto& r : ckpt->queue) queue.push_back(r);
    res.next_seq = std::max<uint64_t>(ckpt->next_seq, 1);
    res.last_segment = ckpt->log_seg;
    res.positions = ckpt->positions;
  }
  SeqSet taken;
  if (!segs->empty()) {
    res.first_segment = segs->front().id;
    res.last_segment = std::max(res.last_segment, segs->back().id);
  }
  for (size_t si = 0; si < segs->size(); ++si) {
    const SegmentFile& sf = (*segs)[si];
    const bool last = si + 1 == segs->size();
    if (ckpt && sf.id < ckpt->log_seg) continue;
    auto sc = SegmentScanner::open(fs, sf.path, sf.id);
    if (!sc) {
      if (sc.error().code != Errc::kCorrupt) return sc.error();
      if (last) {
        // A segment created just before a crash, with no complete header: it holds nothing.
        if (auto s = fs.remove(sf.path); !s) return s.error();
        res.problems.push_back(sf.path + ": incomplete segment header; removed");
        continue;
      }
      ++res.corrupt;
      res.problems.push_back(sc.error().message + "; segment skipped");
      continue;
    }
    SegmentScanner& s = **sc;
    if (ckpt && sf.id == ckpt->log_seg)
      s.seek(std::max<uint64_t>(ckpt->log_off, kSegmentHeaderSize));
    for (;;) {
      auto o = s.next();
      if (!o) return o.error();
      if (*o == SegmentScanner::Outcome::kEnd) break;
      if (*o == SegmentScanner::Outcome::kCorrupt) {
        const uint64_t bad = s.offset();
        bool resumed = false;
        if (s.skip_corrupt()) {
          auto o2 = s.next();
          if (!o2) return o2.error();
          resumed = *o2 == SegmentScanner::Outcome::kRecord;
        }
        if (!resumed) {
          if (last) {
            // A torn tail: cut the segment at the last good record.
            auto f = fs.open(sf.path, OpenMode::kAppend);
            if (!f) return f.error();
            if (auto t = (*f)->truncate(bad); !t) return t.error();
            if (auto t = (*f)->sync(); !t) return t.error();
            res.problems.push_back(sf.path + ": torn tail truncated at offset " +
                                   std::to_string(bad) + " (" +
                                   std::to_string(s.file_size() - bad) + " bytes)");
          } else {
            ++res.corrupt;
            res.problems.push_back(sf.path + ": corrupt data from offset " + std::to_string(bad) +
                                   " to the end of the segment (" +
                                   std::to_string(s.file_size() - bad) + " bytes) skipped");
          }
          break;
        }
        ++res.corrupt;
        res.problems.push_back(sf.path + ": corrupt record at offset " + std::to_string(bad) +
                               " skipped");
      }
      // A valid record at s.offset().
      const RecordHeader& h = s.header();
      ++res.records;
      res.bytes += kRecordHeaderSize + h.payload_len;
      if (h.type == RecordType::kPut) {
        // Committed with the events, applied in log order: only a record whose checksum holds
        // (a committed transaction) moves a position.
        if (h.position_len > 0) {
          const PositionRecord& p = s.position();
          apply_position_update(res.positions[p.first], p.second);
        }
        append_range(queue, Range{sf.id, 0, s.offset(), h.first_seq, h.first_seq, h.count});
        max_seq = std::max(max_seq, h.first_seq + h.count);
      } else {
        for (const auto& t : s.take_ranges()) taken.add(t.lo, t.count);
      }
    }
  }
  for (const auto& r : queue) taken.subtract(r, res.queue);
  for (const auto& r : res.queue) res.events += r.count;
  res.next_seq = std::max(res.next_seq, max_seq);
  if (res.next_seq == 0) res.next_seq = 1;
  return res;
}

}  // namespace ingestor::fc
