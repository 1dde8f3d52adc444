#pragma once
// SpoolDirectorySource: Flume's `spooldir` source (flume-components.md 1.2; keys and their
// parsing in spooldir_source_options.h, which files in spool_file_picker.h, the LINE and BLOB
// deserializers in spool_deserializer.h, the on-disk records in docs/formats/spooldir.md).
//
// One thread reads one file at a time, in batches of `batchSize` events (at most the channel's
// transactionCapacity, and at most 32 MiB of bodies). Better than Flume:
//  - Positions commit with the events (DESIGN.md guarantee 8, core/source_position.h): each
//    batch carries the source's position ("current" = file, identity at pickup, byte offset after
//    the batch). With a channel that stores positions (the file channel) a restart resumes exactly
//    after the last committed event; otherwise the position file `<trackerDir>/positions` is
//    written after each commit, and a crash re-sends at most the one batch whose commit had not
//    been recorded yet. Flume's `.flumespool-main.meta` is neither written nor read.
//  - A file is marked done (renamed to `<name><fileSuffix>`, deleted, or given a tracker_dir
//    marker) only after its last event committed, and the position is cleared only after the
//    mark is durable (directory fsynced): a crash between the two finds the file fully read
//    (offset == size: marked without re-reading) or already marked (the position is cleared), and
//    the next file is only picked after that.
//  - A file that changes while it is read (size or mtime differs from pickup, checked after every
//    read), that changed while the agent was down, whose name reappears after it was completed,
//    or that cannot be decoded with decodeErrorPolicy FAIL, is renamed to `<name><errorSuffix>`
//    (`.ERROR`; `<name>.<n><errorSuffix>` when that exists) with one error line and
//    FilesMovedAsideCount + 1; the events already committed from it stay delivered, the rest is
//    not sent, and the source goes on with the next file. Flume's source stops for good instead.
//  - A full channel backs off from 250 ms doubling to `maxBackoff` and retries the same batch
//    (ChannelWriteFail + 1 per failed try), as Flume, and never stops the source.
// Memory: one batch of events (bounded by batchSize, maxLineLength / maxBlobLength and 32 MiB),
// the deserializer's read buffer, and one listing entry per waiting file.
// Thread-safety: start() and stop() from the agent's thread; everything else on the source's own.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "agent/sources/spool_file_picker.h"
#include "agent/sources/spool_state.h"
#include "agent/sources/spooldir_source_options.h"
#include "base/fs.h"
#include "base/log.h"
#include "core/source.h"
#include "core/source_position.h"

namespace ingestor {

class SpoolDirectorySource final : public Source {
 public:
  SpoolDirectorySource(std::string name, std::shared_ptr<ChannelProcessor> processor,
                       SpoolDirOptions options);
  ~SpoolDirectorySource() override;
  // Checks spoolDir, creates trackerDir, takes its lock, checks that files can be renamed
  // (rename policy: Flume's canary), loads the position, starts the thread.
  Status start() override;
  void stop() override;
  // Flume's source counters, plus FilesCompletedCount, FilesMovedAsideCount and
  // EventsTruncatedCount (not in Flume).
  void collect_metrics(MetricList& out) const override;

  int64_t files_completed() const { return files_completed_.get(); }
  int64_t files_moved_aside() const { return files_moved_aside_.get(); }

  static constexpr size_t kMaxBatchBytes = 32 * 1024 * 1024;
  static constexpr const char* kPositionKey = "current";

  struct Current;  // the file being read (defined in the .cc)

 private:
  void run();
  // Picks up where the last run stopped (the position's file).
  void resume(const std::string& value);
  [[nodiscard]] bool open_file(const std::string& path, const std::string& rel,
                               std::optional<SpoolPosition> resume_at);
  // Reads and commits one batch of the current file, or completes it at its end.
  void step();
  void complete();
  // Renames `path` aside; closes and forgets the current file when it is that one.
  void move_aside(const std::string& path, const std::string& why);
  // Commits `batch` with `update` (an empty batch commits the update alone), retrying while the
  // channel refuses it. False when the source stopped first (nothing committed).
  [[nodiscard]] bool commit(Batch& batch, const PositionUpdate& update);
  [[nodiscard]] bool clear_position();
  // Waits `d` or until stop(); false when stopping.
  bool pause(std::chrono::milliseconds d);

  SpoolDirOptions o_;
  SpoolFilePicker picker_;
  std::unique_ptr<SpoolDeserializer> deser_;
  std::unique_ptr<SourcePositions> pos_;
  std::optional<std::string> resume_value_;
  std::unique_ptr<Current> cur_;
  std::unique_ptr<FsLock> lock_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> running_{false};
  Counter files_completed_, files_moved_aside_, events_truncated_;
  log::Throttle channel_log_, list_log_, truncate_log_, pos_log_;
};

}  // namespace ingestor
