#pragma once
// Wal: the file channel's write-ahead log (docs/formats/file_channel.md). Segments `log-<id>` are
// spread over the data directories (segment id modulo their number); records are appended by one
// writer thread that does group commit: every record submitted while a write is in flight joins
// the next group, and a group is written with writev (one call per up to IOV_MAX records).
// With fsyncPerTransaction (the default) a second thread, the syncer, makes written groups durable:
// one fsync covers every group written before it began, and then each record's `done` runs, in log
// order, on the syncer thread. The two overlap: the next group is written while the previous ones
// are being synced, so the disk is never idle while the writer copies into the page cache, nor
// the other way round. Without it, `done` runs on the writer thread right after the write and the
// log is synced every fsyncInterval.
// A failed write fails the records of that group; a failed fsync fails the groups it covered and
// every later group in that segment (after a failed fsync the page cache no longer says what
// reached the disk). Either way the segment is truncated back to where the first failed group
// began (best effort) and the log moves on to a new segment.
//
// SegmentScanner reads one segment back record by record (replay), with a bounded buffer.
//
// Thread-safety: submit() and safe_read_end() from any thread; the methods marked "writer thread"
// only from inside the maintenance callback. `done` callbacks run on the syncer thread (or the
// writer thread without fsyncPerTransaction), one at a time, in log order. Memory: the records
// waiting for the next group (each bounded by one transaction) plus one iovec array.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/channels/wal_format.h"
#include "base/fs.h"
#include "base/result.h"

namespace ingestor::fc {

std::string segment_name(uint32_t id);
// Segment ids found in `dirs`, sorted, with their paths.
struct SegmentFile {
  uint32_t id;
  std::string path;
};
[[nodiscard]] Result<std::vector<SegmentFile>> list_segments(Fs& fs,
                                                             const std::vector<std::string>& dirs);

struct WalOptions {
  std::vector<std::string> dirs;
  uint64_t max_file_size = 2146435071;
  bool fsync_per_transaction = true;
  std::chrono::milliseconds fsync_interval{5000};
};

class Wal {
 public:
  // Where a record landed: segment id and the offset of its header.
  using Done = std::function<void(Status, uint32_t seg, uint64_t off)>;

  Wal(Fs& fs, WalOptions options);
  ~Wal();

  // Creates segment `first_id` and starts the writer thread. `maintenance` runs on the writer
  // thread after every group and at least every 100 ms.
  [[nodiscard]] Status start(uint32_t first_id, std::function<void()> maintenance);
  // Queues a sealed record. Records are written in submit order.
  void submit(std::string record, Done done);
  // Stops the writer. With `drain`, pending records are written first; otherwise they fail with
  // kChannelClosed (a simulated crash). Idempotent.
  void stop(bool drain);
  // Runs the maintenance callback soon (a checkpoint was asked for).
  void poke();

  // Bytes of segment `seg` that are completely written (safe to read and cache).
  uint64_t safe_read_end(uint32_t seg) const;
  std::string segment_path(uint32_t id) const;

  // ---- writer thread ----
  // Waits until every group written so far has been synced and its `done` callbacks have run:
  // then the caller's state reflects the log exactly up to current_end() (a checkpoint needs
  // that). Returns at once without fsyncPerTransaction.
  void wait_synced();
  // Makes everything written durable (fsync of the current segment).
  [[nodiscard]] Status sync_now();
  // Starts a new segment now (the current one is synced first), so the current one can be
  // deleted once nothing needs it.
  [[nodiscard]] Status roll_now() { return roll(); }
  // The end of the log: the current segment and its size.
  uint32_t current_segment() const { return cur_id_.load(); }
  uint64_t current_end() const { return cur_size_; }

  // Group commits and fsyncs so far (for tests and metrics).
  int64_t groups() const { return groups_.load(); }

 private:
  struct Request {
    std::string bytes;
    Done done;
  };
  struct Placed {
    uint32_t seg = 0;
    uint64_t off = 0;
  };
  // A written group on its way to the syncer. Records [0, durable) are already durable (a roll
  // synced their segment), [durable, ok) need an fsync of `file`, [ok, n) failed with `err`.
  struct Written {
    std::vector<Request> reqs;
    std::vector<Placed> placed;
    size_t durable = 0;
    size_t ok = 0;
    Status err;
    std::shared_ptr<FsFile> file;
    uint64_t start = 0;  // offset in `file` of record `durable`
    uint32_t seg = 0;    // `file`'s segment id and its size after this group
    uint64_t end = 0;
  };
  void run();
  void sync_loop();
  void write_group(std::vector<Request>& batch);
  void complete(Written& w, const Status& sync_status);
  // Writer thread: after a failed fsync of the current segment, truncates it back and rolls.
  void handle_sync_failure();
  // How much of the current segment is known durable; any thread may record a sync.
  uint64_t synced_end() const;
  void note_synced(uint32_t seg, uint64_t end);
  [[nodiscard]] Status open_segment(uint32_t id);
  [[nodiscard]] Status roll();
  [[nodiscard]] Status write_all(std::vector<struct iovec>& iov);

  Fs& fs_;
  const WalOptions opts_;
  std::function<void()> maintenance_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Request> pending_;
  bool stopping_ = false;
  bool drain_ = true;
  bool poked_ = false;

  std::thread thread_;
  std::shared_ptr<FsFile> cur_;
  std::atomic<uint32_t> cur_id_{0};
  std::atomic<uint64_t> written_end_{0};  // of cur_id_
  uint64_t cur_size_ = 0;
  bool need_roll_ = false;
  std::chrono::steady_clock::time_point last_sync_;
  std::atomic<int64_t> groups_{0};

  // Syncer (fsyncPerTransaction only).
  std::thread syncer_;
  mutable std::mutex sync_mu_;
  std::condition_variable sync_cv_;      // work for the syncer
  std::condition_variable synced_cv_;    // progress, for wait_synced()
  std::vector<Written> to_sync_;         // guarded by sync_mu_
  uint64_t handed_ = 0, completed_ = 0;  // groups given to / completed by the syncer; sync_mu_
  bool sync_stop_ = false;               // sync_mu_
  // A segment whose fsync failed, and where its first failed group began (sync_mu_): its later
  // groups fail too; the writer truncates and rolls.
  std::shared_ptr<FsFile> failed_file_;
  uint64_t failed_from_ = 0;
  std::atomic<bool> sync_failed_{false};
  uint32_t synced_seg_ = 0;  // the last segment synced, and up to where (sync_mu_)
  uint64_t synced_end_ = 0;
  // Records covered by the last fsyncs (syncer thread only), to predict how many committers are
  // active.
  size_t recent_sync_max() const;
  size_t waiting() const;  // records in to_sync_ (sync_mu_ held)
  std::array<size_t, 8> recent_syncs_{};
  size_t recent_idx_ = 0;
};

// Reads the records of one segment in order, checking each record's length and checksum.
class SegmentScanner {
 public:
  enum class Outcome {
    kRecord,   // a valid record: header(), offset(), for take records take_ranges(), for put
               // records with header().position_len > 0 position()
    kEnd,      // clean end of the segment
    kCorrupt,  // bytes at offset() are not a valid record (torn tail or corruption)
  };
  // Opens `path`; kCorrupt when its header is not that of segment `id`.
  [[nodiscard]] static Result<std::unique_ptr<SegmentScanner>> open(Fs& fs, const std::string& path,
                                                                    uint32_t id);
  // Moves to `offset` (a record boundary known from a checkpoint).
  void seek(uint64_t offset) { next_ = offset; }
  [[nodiscard]] Result<Outcome> next();
  // Skips the record at offset() using its length field (after kCorrupt, when the header was
  // sane); false when the length is not usable.
  bool skip_corrupt();
  const RecordHeader& header() const { return h_; }
  uint64_t offset() const { return off_; }
  uint64_t file_size() const { return size_; }
  const std::vector<SeqRange>& take_ranges() const { return takes_; }
  // The position update of the put record just read (when header().position_len > 0).
  const PositionRecord& position() const { return position_; }

 private:
  SegmentScanner(std::unique_ptr<FsFile> f, uint64_t size) : f_(std::move(f)), size_(size) {}
  // Makes [off, off + n) available in the buffer (n <= capacity); nullptr at EOF or on error.
  const char* get(uint64_t off, size_t n);
  std::unique_ptr<FsFile> f_;
  uint64_t size_;
  uint64_t off_ = 0;
  uint64_t next_ = kSegmentHeaderSize;
  bool header_sane_ = false;
  RecordHeader h_;
  std::vector<SeqRange> takes_;
  std::string pos_block_;  // the position block's bytes, gathered while checksumming
  PositionRecord position_;
  std::vector<char> buf_;
  uint64_t buf_off_ = 0;
  size_t buf_len_ = 0;
};

}  // namespace ingestor::fc
