#pragma once
// Replay: rebuilds the file channel's queue at start from the last checkpoint and the log records
// written after it (docs/formats/file_channel.md, "Recovery").
//
// Work is bounded by the records after the checkpoint (all segments when there is none). Memory is
// O(segments + ranges + fragments of the taken-sequence set), not O(queued events): put records
// of one segment with consecutive sequence numbers merge into one range, and the sequence numbers
// taken after the checkpoint are kept as merged intervals. Positions: one map per source, bounded
// by what each source keeps in it (core/source_position.h).

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/channels/checkpoint.h"
#include "agent/channels/wal_format.h"
#include "base/fs.h"
#include "base/result.h"

namespace ingestor::fc {

// Appends `r` to the queue, merging it into the last range when it continues it (same segment,
// consecutive sequence numbers).
void append_range(std::deque<Range>& q, const Range& r);

// A set of sequence numbers kept as disjoint, merged half-open intervals.
class SeqSet {
 public:
  void add(uint64_t lo, uint64_t count);
  // Appends to `out` the parts of `r` whose events are not in the set.
  void subtract(const Range& r, std::deque<Range>& out) const;
  size_t intervals() const { return m_.size(); }

 private:
  std::map<uint64_t, uint64_t> m_;  // lo -> hi (exclusive)
};

struct ReplayResult {
  std::deque<Range> queue;
  uint64_t events = 0;
  uint64_t next_seq = 1;
  uint32_t last_segment = 0;   // highest segment id on disk (0: none)
  uint32_t first_segment = 0;  // lowest segment id on disk (0: none)
  uint64_t records = 0;        // records read
  uint64_t bytes = 0;          // log bytes read
  int64_t corrupt = 0;         // records or regions skipped as corrupt
  // The checkpoint's positions with the updates of the put records after it applied in log
  // order. A source present here committed at least one update (its map may be empty).
  SourcePositionMaps positions;
  std::vector<std::string> problems;
};

// Replays `dirs` starting from `ckpt` (or from the first segment). Truncates a torn tail of the
// last segment at its last valid record; skips corrupt records elsewhere and reports them.
[[nodiscard]] Result<ReplayResult> replay(Fs& fs, const std::vector<std::string>& dirs,
                                          const std::optional<Checkpoint>& ckpt);

}  // namespace ingestor::fc
