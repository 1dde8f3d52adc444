#pragma once
// LogReader: reads queued events back from the segment files when a sink takes them (the queue
// in memory holds only ranges; see wal_format.h). Events are returned as slices of a read chunk,
// so a take makes one allocation per chunk, not per event.
//
// Memory: one cached read chunk of max(1 MiB, largest event) bytes, plus the chunks still
// referenced by events that transactions hold. Open read handles: one per segment read so far,
// closed by forget() when the segment is deleted.
//
// Thread-safety: not thread-safe; the channel serializes takes (its take lock).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "agent/channels/wal_format.h"
#include "base/fs.h"
#include "base/result.h"
#include "core/event.h"

namespace ingestor::fc {

class LogReader {
 public:
  // `path_of(seg)` names a segment's file; `safe_end(seg)` is how many of its bytes are completely
  // written (Wal::safe_read_end), which bounds what may be cached beyond what a range needs.
  LogReader(Fs& fs, std::function<std::string(uint32_t)> path_of,
            std::function<uint64_t(uint32_t)> safe_end)
      : fs_(fs), path_of_(std::move(path_of)), safe_end_(std::move(safe_end)) {}

  struct Outcome {
    size_t consumed = 0;  // events removed from the range (delivered + corrupt)
    size_t corrupt = 0;   // events that failed their checksum or could not be parsed (skipped)
    std::string problem;  // what was wrong, when corrupt > 0
  };
  // Reads up to `max` events from the head of `r` into `out`, advancing `r` past them. Corrupt
  // events are skipped and counted; when the log cannot be parsed any more the rest of the range
  // is counted as corrupt and `r.count` becomes 0. An I/O error (the file cannot be opened or
  // read) leaves `r` as it was.
  [[nodiscard]] Result<Outcome> read(Range& r, size_t max, Batch& out);
  void forget(uint32_t seg);
  // Drops the cached chunk (tests).
  void drop_cache() { cache_ = {}; }

 private:
  struct Cache {
    uint32_t seg = 0;
    uint64_t off = 0;
    size_t len = 0;
    ChunkRef chunk;
  };
  // Bytes [off, off + n) of `seg`: a pointer into cache_.chunk, or nullptr when the file is
  // shorter; an Error on I/O failure.
  Result<const char*> get(uint32_t seg, uint64_t off, size_t n);
  Fs& fs_;
  std::function<std::string(uint32_t)> path_of_;
  std::function<uint64_t(uint32_t)> safe_end_;
  std::map<uint32_t, std::unique_ptr<FsFile>> files_;
  Cache cache_;
};

}  // namespace ingestor::fc
