#pragma once
// HdfsLocalSink: Flume's hdfs sink on a local path (`hdfs.path = file:///dir`, or `/dir` when
// fs.defaultFS is file:///, Hadoop's default; flume.md 3.7). Files are named and rolled as
// Flume's BucketWriter names and rolls them, with the S3 sink's options (FlumeFileOptions):
//  - one writer per bucket (expanded path + "/" + expanded prefix); a file being written is
//    `<dir>/<inUsePrefix><prefix>.<N><suffix><inUseSuffix>` and is renamed to
//    `<dir>/<prefix>.<N><suffix>` when it is closed, after an fsync (then the directory is
//    fsynced); N starts at the writer's creation time in ms + 1 and grows by one per file;
//  - rolls by interval, idle timeout (both end the writer: a new N next time), count and encoded
//    size (the writer goes on with N + 1), and the eldest writer closes beyond maxOpenFiles;
//  - with a codec, each write is one gzip member / bzip2 stream / zstd frame, so a file cut short
//    by a crash is still readable up to its last complete write;
//  - the channel takes commit once their events reached the OS (write(2)), as Flume's hflush:
//    a crashed process (kill -9) loses nothing committed; a closed file is also durable against
//    power loss. While the channel holds full batches, several takes (up to 256 KiB serialized)
//    share one commit, and a file's buffer is written each time it reaches 128 KiB (and at the
//    commit), so writes are large whatever the batch size, yet small enough that the bytes are
//    still in the CPU's cache when the kernel copies them;
//  - a failed write truncates the files back to what the committed takes wrote, and the takes
//    roll back;
//  - at start, in-use files a previous run left in the path (when it has no escapes) are
//    fsynced and renamed to their final names;
//  - events that cannot be placed (a time escape and no timestamp) go to a dead-letter file
//    (`deadLetterDir`) instead of blocking the sink as in Flume.
// Better than Flume: the in-use prefix applies to the file name, never to a directory part of
// filePrefix. Thread-safety: used by its runner thread only.

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "agent/sinks/bucket_path.h"
#include "agent/sinks/dead_letter.h"
#include "agent/sinks/flume_file_options.h"
#include "base/file.h"
#include "core/sink.h"

namespace ingestor {

struct HdfsLocalOptions : FlumeFileOptions {
  std::string directory;  // absolute; escapes allowed
  std::string dead_letter_dir;
};

// Reads `hdfs.*` for a local `directory` (resolved by resolve_hdfs_path()).
[[nodiscard]] Result<HdfsLocalOptions> hdfs_local_options(const std::string& name,
                                                          const Settings& s,
                                                          const std::string& directory);

class HdfsLocalSink final : public Sink {
 public:
  // Fails on a bad escape in the path or prefix.
  [[nodiscard]] static Result<std::unique_ptr<HdfsLocalSink>> create(std::string name,
                                                                     HdfsLocalOptions options);
  ~HdfsLocalSink() override;
  Status start() override;
  void stop() override;
  size_t batch_size() const override { return opts_.batch_size; }
  Result<SinkStatus> process() override;
  std::chrono::steady_clock::time_point next_timer() const override;
  void collect_metrics(MetricList& out) const override;

  // "<dir>/<prefix>.<n><suffix>" with `in_use_prefix` before the file name and `in_use_suffix`
  // after it.
  static std::string file_path(const std::string& dir, const std::string& prefix, uint64_t n,
                               const std::string& suffix, const std::string& in_use_prefix = "",
                               const std::string& in_use_suffix = "");

  // Limits of one group of takes sharing a commit, and the size at which a file's buffer is
  // written (bench/bench_local_write.py).
  static constexpr size_t kGroupTakes = 64;
  static constexpr size_t kGroupBytes = 256u << 10;
  static constexpr size_t kWriteBytes = 128u << 10;

 private:
  struct Writer {
    std::string in_use_path, final_path;
    File file;
    int64_t count = 0, bytes = 0;                      // bytes: encoded, in the file
    int64_t committed_count = 0, committed_bytes = 0;  // as of the last take commit
    std::chrono::steady_clock::time_point opened, last_event;
    std::string pending;        // serialized, not yet written
    EventSerializer::File ser;  // avro_event: the open block and the header's state
    bool roll = false;
    bool torn = false;  // a write failed: the file may hold part of it beyond `bytes`
  };

  HdfsLocalSink(std::string name, HdfsLocalOptions options, BucketPath path, BucketPath prefix);
  Status open_writer(const std::string& bucket, const std::string& dir, const std::string& prefix,
                     Writer& w);
  Status write_pending(Writer& w);
  Status flush_writers();
  Status close_writer(const std::string& bucket);  // writes what is pending, fsync, rename
  Status stage(const Batch& events);
  void discard_uncommitted();
  void recover_in_use();

  HdfsLocalOptions opts_;
  BucketPath path_pattern_, prefix_pattern_;
  DeadLetterFile dead_letters_file_;
  std::map<std::string, Writer> writers_;
  std::map<std::string, uint64_t> next_n_;  // bucket -> next N (Flume's counter)
  std::unique_ptr<Compressor> compressor_;
  EventSerializer ser_;
  std::string buf_;
  size_t group_bytes_ = 0;
  Counter dead_letters_, files_closed_;
};

}  // namespace ingestor
