#pragma once
// S3Sink: Flume's hdfs sink on s3a:// paths (and `type = s3`), rewritten for S3 (flume.md 3.7, 6):
//  - objects are named as Flume names files, `<path>/<prefix>.<N><suffix>`, and rolled by
//    interval, size (encoded bytes), count and idle timeout; nothing in-use, no `.tmp`, no COPY;
//  - each batch is serialized (and compressed: one gzip member / zstd frame per batch and object,
//    so a committed prefix is always decodable) into local staging files that are fsynced, with a
//    commit record, before the channel take commits (S3Staging). The fsyncs and the take commit
//    of one group of batches run on the sink's syncer thread while process() takes and
//    serializes the next group; the next group's bytes are appended only after they are done;
//  - a sealed object is uploaded by the uploader thread with one PutObject, or one multipart
//    upload above `s3.partSize`, under its final key with `If-None-Match: *`; each body carries
//    `s3.checksum` (CRC32C by default: the CPU-cheap one) for S3 to verify; a 412 whose ETag
//    matches the staged data's MD5 (computed only then) counts as done (a replay after a crash),
//    another ETag means somebody else owns the key and the object is renamed;
//  - at start, staged objects from a previous run are uploaded under their manifested keys and
//    orphaned multipart uploads of those keys are aborted;
//  - when S3 is slow or down, uploads back off and the staged bytes grow up to
//    `s3.maxStagedBytes`; then process() fails (the runner backs off), the channel fills and the
//    sources push back: memory never grows;
//  - an event that cannot be placed (a time escape and no timestamp) goes to a dead-letter file
//    in `s3.deadLetterDir` with its reason, and is counted, instead of blocking the sink.
// Memory: one serialization buffer per open object for the batch in progress (bounded by
// maxOpenFiles), one compressor reused for every member/frame, and the uploader's 1 MiB read
// buffer.
// Threads: process() on the runner thread; staging fsyncs + take commits on the syncer thread;
// uploads on the uploader thread.

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <vector>

#include "agent/sinks/dead_letter.h"
#include "agent/sinks/s3_sink_options.h"
#include "agent/sinks/s3_staging.h"
#include "core/sink.h"
#include "core/take_group.h"
#include "s3/xml.h"

namespace ingestor {

namespace s3 {
class S3Client;
}

class S3Sink final : public Sink {
 public:
  // Fails on a bad escape in the path or prefix.
  [[nodiscard]] static Result<std::unique_ptr<S3Sink>> create(std::string name, std::string type,
                                                              S3SinkOptions options);
  ~S3Sink() override;
  Status start() override;
  void stop() override;
  size_t batch_size() const override { return opts_.batch_size; }
  Result<SinkStatus> process() override;
  std::chrono::steady_clock::time_point next_timer() const override;
  void set_sole_taker(bool sole) override { sole_taker_ = sole; }
  void collect_metrics(MetricList& out) const override;

  // The key an object gets: "<path>/<prefix>.<n><suffix>" (no leading '/').
  static std::string object_key(const std::string& path, const std::string& prefix, uint64_t n,
                                const std::string& suffix);

 private:
  struct Writer {
    std::string bucket_path;  // identity: expanded path + "/" + expanded prefix
    std::string path, prefix;
    uint64_t id = 0;
    int64_t count = 0;
    int64_t bytes = 0;                                 // encoded
    int64_t committed_count = 0, committed_bytes = 0;  // as of the last staging commit
    int64_t parts_queued = 0;  // bytes handed to the uploader as parts while the object fills
    std::chrono::steady_clock::time_point opened, last_event;
    std::string pending;        // serialized, not yet compressed (this batch)
    EventSerializer::File ser;  // avro_event: the open block and the header's state
    bool roll = false;
  };
  struct Upload {
    StagedObject obj;  // a sealed object; or an open one (`parts_only`) with its committed size
    int attempts = 0;
    std::chrono::steady_clock::time_point not_before;
    bool parts_only = false;  // upload the full parts committed so far; the object stays open
  };
  // A multipart upload begun while its object was still filling (uploader thread only).
  struct Multipart {
    std::string upload_id;
    std::vector<s3::CompletedPart> parts;
    std::string part_md5s;  // raw MD5 of each part, for the expected multipart ETag
    uint64_t uploaded = 0;  // bytes covered by `parts`
  };

  // A group of takes whose staging commit (fsyncs) and take commit run on the syncer thread
  // while process() serializes the next group.
  struct InFlight {
    std::unique_ptr<TakeGroup> group;
    S3Staging::PendingCommit commit;
    // Writers as the commit covers them: bucket path, event count, encoded bytes.
    std::vector<std::tuple<std::string, int64_t, int64_t>> writers;
    int64_t taken = 0, skipped = 0;
    uint64_t bytes = 0;             // serialized: counted as staged while in flight
    Status synced, take_committed;  // set by the syncer
    bool done = false;              // guarded by sync_mu_
    std::optional<Error> failed;    // the outcome, once finish_inflight() has recorded a failure
  };

  Status open_writer(Writer& w);
  Status close_writer(const std::string& bucket_path);  // seal + queue the upload
  Status flush_writers();                               // compress pending, append
  Status commit_staged();                // dead letters, then staged data + high water, durable
  Error discard_uncommitted(Error why);  // after a failed batch; returns `why`
  // Hands the group and everything appended to the syncer (after flush_writers()).
  Status start_commit(std::unique_ptr<TakeGroup> group, int64_t taken, int64_t skipped);
  // Waits for the group in flight, if any, and records its outcome; on error it stays in flight
  // for fail_groups() to roll back. Called before anything else is appended, sealed or committed.
  Status finish_inflight();
  // A failed process(): rolls back `current` and the group in flight (newest first, so the
  // channel keeps its order) and discards what they staged; returns `why`.
  Error fail_groups(Error why, TakeGroup* current);
  void syncer_loop();
  // Serializes taken events into their writers (rolling and opening writers as needed); events
  // at or below `staged_high` were staged before a restart and are counted in `skipped`.
  Status stage(const Batch& events, uint64_t staged_high, int64_t* skipped);

  // Limits of one group of takes sharing a staging commit (see process()).
  static constexpr size_t kGroupTakes = 64;
  static constexpr size_t kGroupBytes = 4u << 20;
  static constexpr size_t kParallelParts = 3;  // parts of one object uploaded at once
  Status dead_letter(const Event& e, const std::string& reason);
  void uploader_loop();
  Status upload_one(Upload& u);
  // Uploads parts of `o` from where `mp` ends: every full part below `o.size`, and with `last`
  // the remainder too. Begins the multipart upload if needed.
  Status upload_parts(const StagedObject& o, Multipart& mp, bool last);
  void queue_filled_parts();  // after a staging commit: full parts of open objects
  void abort_orphans(const std::vector<StagedObject>& objs);

  S3Sink(std::string name, std::string type, S3SinkOptions options, BucketPath path,
         BucketPath prefix);

  S3SinkOptions opts_;
  DeadLetterFile dead_letters_file_;
  BucketPath path_pattern_, prefix_pattern_;
  std::unique_ptr<s3::S3Client> client_;
  std::unique_ptr<S3Staging> staging_;  // guarded by mu_

  std::map<std::string, Writer> writers_;   // runner thread only
  std::map<std::string, uint64_t> next_n_;  // bucket_path -> next N (Flume's counter)
  std::string batch_buf_;
  std::unique_ptr<Compressor> compressor_;  // runner thread only; reset per member/frame
  EventSerializer ser_;                     // runner thread only

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Upload> uploads_;  // guarded by mu_
  bool stopping_ = false;       // guarded by mu_
  std::thread uploader_;
  std::string last_upload_error_;       // guarded by mu_
  std::unique_ptr<InFlight> inflight_;  // runner thread; the syncer's until `done`
  std::thread syncer_;
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  InFlight* sync_job_ = nullptr;             // guarded by sync_mu_
  bool sync_stopping_ = false;               // guarded by sync_mu_
  std::map<uint64_t, Multipart> multipart_;  // staged object id -> upload; uploader thread only

  Counter objects_uploaded_, upload_failures_, dead_letters_, duplicates_avoided_;
  Counter last_upload_ms_;          // epoch ms of the last object uploaded; 0 before the first
  Counter upload_errors_in_a_row_;  // failed upload attempts since the last success
  Counter replays_skipped_;
  // Exactly-once across crashes with a durable channel: events whose position is at or below the
  // staged high water were staged before a crash and are skipped when redelivered. Only sound
  // when this sink is its channel's only taker.
  bool sole_taker_ = false;
  // The highest channel position serialized into a writer in the current batch. Every staging
  // commit carries it, including the ones a roll inside a batch makes before the batch's take
  // commits: otherwise a crash right after such a roll would stage the rolled events again.
  uint64_t serialized_high_ = 0;
  size_t group_bytes_ = 0;  // serialized in the current group of takes
};

}  // namespace ingestor
