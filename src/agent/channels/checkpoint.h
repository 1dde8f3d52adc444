#pragma once
// The file channel's checkpoint (docs/formats/file_channel.md, "Checkpoint"): the queue as a list
// of ranges, the log position up to which the ranges reflect every record, the next sequence
// number, and every source's committed positions (core/source_position.h). Written atomically
// (tmp file, fsync, rename, fsync of the directory), so a crash leaves either the old or the new
// checkpoint. Its size is O(ranges) plus the sources' position maps, not O(queued events).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/channels/wal_format.h"
#include "base/fs.h"
#include "base/result.h"

namespace ingestor::fc {

inline constexpr char kCheckpointName[] = "checkpoint";
// Written in format 2 (with positions); format 1 (no positions) is still read.
inline constexpr uint32_t kCheckpointVersion = 2;
inline constexpr uint32_t kOldestCheckpointVersion = 1;

struct Checkpoint {
  uint32_t log_seg = 0;  // replay resumes at (log_seg, log_off)
  uint64_t log_off = 0;
  uint64_t next_seq = 1;
  std::vector<Range> queue;  // in queue order (head first)
  // The positions committed up to (log_seg, log_off), by source; maps never hold empty values.
  SourcePositionMaps positions;
  bool operator==(const Checkpoint&) const = default;
};

std::string encode_checkpoint(const Checkpoint& c);
// kCorrupt on a bad magic, version, length or checksum.
Result<Checkpoint> decode_checkpoint(std::string_view bytes);

// Writes `dir`/checkpoint atomically and durably.
[[nodiscard]] Status write_checkpoint(Fs& fs, const std::string& dir, const Checkpoint& c);
// Reads `dir`/checkpoint: nullopt when there is none, kCorrupt when it is damaged.
[[nodiscard]] Result<std::optional<Checkpoint>> read_checkpoint(Fs& fs, const std::string& dir);

}  // namespace ingestor::fc
