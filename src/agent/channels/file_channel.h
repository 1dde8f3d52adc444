#pragma once
// FileChannel: Flume's durable `file` channel (flume.md 3.6), as a write-ahead log with group
// commit. On-disk format and recovery: docs/formats/file_channel.md.
//
// Promise: a committed put survives a process crash and, with fsyncPerTransaction (the default),
// an OS crash; a take that was not committed is redelivered after a restart; a committed take is
// not. A put transaction is written as one record at commit; a take transaction's commit writes one
// record naming the sequence numbers it took. Commits are group-committed by the log (fc::Wal):
// its writer thread writes groups while its syncer thread fsyncs the ones written before, records
// written during an fsync share the next one, and each commit's `done` runs on the syncer thread
// once its own record is durable (commit_async never blocks the caller; commit() waits for it; do
// not call commit() from a commit_async callback).
//
// Positions (core/source_position.h, DESIGN.md guarantee 8): a put transaction given a source's
// position update (set_position) writes it in its own put record, before the events, so the
// update and the events commit together or not at all; an update with no event is a put record
// with no event. committed_positions(source) is the source's map after every committed update, in
// log order: rebuilt at start() from the checkpoint and the records after it (before any source
// starts: the agent starts channels first), kept in every checkpoint (so deleting segments loses
// none), nullopt for a source that never committed an update. A rolled-back, failed or torn
// transaction moves no position, exactly as it adds no event.
//
// What bounds memory: the queue is kept as ranges of (segment, offset, sequence numbers), merged
// while consecutive, so it is O(segments + rollback holes), not O(events); event bodies are read
// back from the segments when taken (one cached 1 MiB read chunk). Put transactions hold at most
// transactionCapacity events (slices of the source's buffers) plus their encoded record until the
// commit is durable; take transactions hold the events they took. The position maps: one per
// source that ever committed an update, each as large as its source keeps it (a source's map must
// stay small: taildir bounds it by the files it tails, spooldir by one file, Kafka by its
// partitions); one update is at most 16 MiB encoded (kMaxPositionBlock), else its commit fails
// with kTooLarge.
//
// Degraded modes (each with a warning log line and a counter): a corrupt record or event is
// skipped (CorruptRecordCount, Unhealthy = 1); a failed log write or fsync fails the commits of
// that group (EventPutErrorCount / EventTakeErrorCount) and the log moves on to a new segment; a
// failed checkpoint write is retried at the next interval (CheckpointWriteErrorCount); free space
// below minimumRequiredSpace fails puts with kChannelFull until space returns (a warning when it
// starts; between two readings of the free space, each put's bytes are taken off the last
// reading, so a burst cannot write past the reserve). Takes are allowed while space is low, since
// draining the channel frees space; a drained current segment is then rolled so that the next
// checkpoint can delete it.
//
// Thread-safety: every method may be called from any thread. Puts take the channel lock once per
// commit; takes are serialized by a take lock (they read the log), and take the channel lock once
// per range.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>

#include "agent/channels/file_channel_options.h"
#include "agent/channels/log_reader.h"
#include "agent/channels/wal.h"
#include "agent/channels/wal_format.h"
#include "base/fs.h"
#include "core/channel.h"

namespace ingestor {

class FileChannel final : public Channel {
 public:
  FileChannel(std::string name, FileChannelOptions options, Fs& fs = Fs::posix());
  ~FileChannel() override;

  // Locks the directories, replays the log and starts the writer. Fails with kConflict naming the
  // directory when another channel or process holds it.
  Status start() override;
  // Drains pending commits, writes a checkpoint (checkpointOnClose) and unlocks. Idempotent.
  void stop() override;

  Tx begin() override;
  bool wait_for_events(std::chrono::milliseconds timeout) override;
  void wake() override;
  size_t size() const override;
  size_t capacity() const override { return static_cast<size_t>(opts_.capacity); }
  size_t transaction_capacity() const override {
    return static_cast<size_t>(opts_.transaction_capacity);
  }
  std::chrono::milliseconds keep_alive() const override { return opts_.keep_alive; }
  bool stores_positions() const override { return true; }
  // A copy of the source's committed map; nullopt before start() or when none was committed.
  std::optional<PositionMap> committed_positions(std::string_view source) const override;
  void collect_metrics(MetricList& out) const override;

  // ---- for tests ----
  // Stops as a killed process would: pending commits fail, no checkpoint, locks released.
  void crash_for_test();
  // Asks the writer for a checkpoint now and waits for it.
  Status checkpoint_for_test();
  size_t queue_ranges_for_test() const;
  bool unhealthy() const { return unhealthy_.load(); }
  int64_t corrupt_count() const { return corrupt_.get(); }
  int64_t put_errors() const { return put_errors_.get(); }
  int64_t checkpoint_errors() const { return ckpt_errors_.get(); }
  const fc::Wal* wal_for_test() const { return wal_.get(); }

 private:
  class FileTransaction;
  friend class FileTransaction;

  Status lock_dirs();
  // Refuses a put of `bytes` (kChannelFull) when usable space is below minimumRequiredSpace.
  Status check_space(uint64_t bytes);
  Status refresh_space_locked(bool force);  // space_mu_ held
  void note_space_locked();                 // space_mu_ held: logs low/back transitions
  void roll_if_low_on_space();              // writer thread
  void maintenance();
  Status do_checkpoint();
  void report_corruption(const std::string& what, int64_t n);
  void notify_takers();

  const FileChannelOptions opts_;
  Fs& fs_;
  std::vector<std::unique_ptr<FsLock>> locks_;
  std::unique_ptr<fc::Wal> wal_;

  // Guards the queue, counts, in-flight take registry and the sequence counter.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<fc::Range> queue_;
  uint64_t queued_ = 0;        // events in queue_
  uint64_t pending_puts_ = 0;  // events of put commits submitted and not yet durable
  uint64_t next_seq_ = 1;
  uint64_t next_tx_id_ = 1;
  std::map<uint64_t, const std::vector<fc::Range>*> inflight_;  // open takes, by take order
  fc::SourcePositionMaps positions_;  // committed positions, by source (log order)
  int waiters_ = 0;
  uint64_t wake_gen_ = 0;
  bool open_ = false;

  // Serializes takes and take rollbacks (they read the log and change the queue's head).
  std::mutex take_mu_;
  std::unique_ptr<fc::LogReader> reader_;

  // Writer thread only (maintenance).
  std::chrono::steady_clock::time_point last_checkpoint_;
  uint32_t oldest_segment_ = 0;
  std::mutex ckpt_mu_;
  std::condition_variable ckpt_cv_;
  uint64_t ckpt_requested_ = 0;
  uint64_t ckpt_done_ = 0;
  Status ckpt_status_;

  std::mutex space_mu_;
  std::chrono::steady_clock::time_point space_checked_{};
  uint64_t space_free_ = UINT64_MAX;  // last reading, minus what puts wrote since
  bool space_low_ = false;
  std::string space_dir_;

  std::atomic<bool> unhealthy_{false};
  std::atomic<bool> stopped_{false};
  Counter put_errors_, take_errors_, ckpt_errors_, ckpt_backup_errors_, corrupt_;
};

}  // namespace ingestor
