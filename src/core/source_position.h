#pragma once
// Source positions that commit with the events (DESIGN.md guarantee 8; issue 19).
//
// A source that can resume (taildir, spooldir, later Kafka) describes where it is as a map of
// opaque strings: key -> value, both understood by that source alone (taildir: inode -> offset and
// path; spooldir: the current file; Kafka: topic-partition -> offset). With each batch it hands
// the channel an update of that map (PositionUpdate: new values for some keys, an empty value
// erases a key), and the update commits with the events:
//
//  - In the channel. When the source puts to exactly one required channel (replicating selector)
//    and that channel stores positions (Channel::stores_positions(): the file channel), the update
//    is written in the same commit record as the events. At start, the channel's committed map
//    for the source (Channel::committed_positions) says where to resume: after a kill -9 at any
//    moment, exactly after the last committed event, nothing lost and nothing twice.
//  - In the source's own position file otherwise (memory or spillable channel, several required
//    channels, a multiplexing selector): replaced whole (tmp, rename) after each commit, so a
//    process killed at any moment re-reads at most the batch whose rename it did not reach:
//    at-least-once, at most one batch duplicated per kill. The fsyncs (file and directory) come
//    every `write_interval` and at stop, not per commit (they cost ~3 ms a batch and were most of
//    taildir's time): an OS crash may take the file back to an older position, which re-reads
//    more (never skips), while the memory channel loses its events to an OS crash anyway.
//
// In the channel case the file is still written, every `write_interval` and at stop, so tools
// (and an agent moved back to Flume) can read it; it is then informational only.
//
// SourcePositions hides the choice. Typical use, on the source's thread:
//   SourcePositions pos(name(), processor(), "/var/lib/x/taildir_position.json", fmt);
//   auto start = pos.load();                     // map to resume from (nullopt: first start)
//   PutProgress progress; pos.attach(progress, update);
//   processor().process(batch, progress) ...     // retried as usual on kChannelFull
//   pos.committed(update);                       // after the batch reported success
// Thread-safety: one SourcePositions is used by one thread at a time.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/fs.h"
#include "base/result.h"

namespace ingestor {

class ChannelProcessor;
struct PutProgress;

using PositionMap = std::map<std::string, std::string, std::less<>>;
// (key, value) pairs applied in order; an empty value erases the key.
using PositionUpdate = std::vector<std::pair<std::string, std::string>>;

// Applies `update` to `map`.
void apply_position_update(PositionMap& map, const PositionUpdate& update);

// How a position file is written and read. The default is Ingestor's own format (a header line
// "ingestor-positions 1", then per entry "<key length> <value length>\n<key><value>\n"); taildir
// passes Flume's JSON format so a file Flume wrote is read and a file we write is Flume's.
struct PositionFileFormat {
  std::function<std::string(const PositionMap&)> write;
  std::function<Result<PositionMap>(std::string_view text)> read;
};
PositionFileFormat default_position_format();

class SourcePositions {
 public:
  // `file` is the source's position file (its directory is created when missing). `fs` is the
  // filesystem seam (tests inject faults).
  SourcePositions(std::string source, const ChannelProcessor& processor, std::string file,
                  PositionFileFormat format = default_position_format(), Fs& fs = Fs::posix());

  // True when the channel commits the positions with the events (see above).
  bool in_channel() const { return channel_ != nullptr; }

  // At start: the map to resume from: the channel's committed map when the channel holds one for
  // this source, else the position file's, else nullopt (first start). A file that cannot be
  // parsed is an error naming it (the caller stops: resuming from nothing would re-read or skip).
  [[nodiscard]] Result<std::optional<PositionMap>> load();

  // Attaches `update` to the next batch put through `progress` (before process()/process_async).
  void attach(PutProgress& progress, PositionUpdate update) const;

  // After the batch carrying `update` committed: applies it to current(); when !in_channel()
  // replaces the file at once (fsynced when write_interval passed since the last fsync), else
  // writes it, fsynced, when write_interval passed. A failed write is returned (the caller logs
  // and counts it; the next commit tries again).
  [[nodiscard]] Status committed(const PositionUpdate& update);

  // Writes the file now, fsynced (at stop; in_channel() or not).
  [[nodiscard]] Status flush() { return write(true); }

  const PositionMap& current() const { return current_; }
  const std::string& file() const { return file_; }
  void set_write_interval(std::chrono::milliseconds d) { write_interval_ = d; }

 private:
  Status write(bool durable);
  std::string source_;
  class Channel* channel_ = nullptr;  // the single required channel that stores positions
  std::string file_;
  PositionFileFormat format_;
  Fs& fs_;
  PositionMap current_;
  bool dirty_ = false;
  std::chrono::milliseconds write_interval_{3000};     // Flume's writePosInterval default
  std::chrono::steady_clock::time_point last_sync_{};  // the last fsynced write
};

}  // namespace ingestor
