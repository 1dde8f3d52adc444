#pragma once
// S3Staging: the S3 sink's local durability (docs/formats/s3_staging.md).
//
// Every object the sink writes is first staged in a directory of its own:
//   <id>.meta   the object's bucket and final key, fixed when the object is opened (and, once
//               sealed, its size and MD5), written with write-temp + fsync + rename;
//   <id>.data   the object's bytes as they will be uploaded (serialized, compressed);
//   commits.log append-only records (id, committed length, CRC32C): after each batch the sink
//               fsyncs the data files it touched, appends one record per file and fsyncs the log,
//               and only then commits its channel take.
// After a crash, recover() truncates each data file to its last committed length (dropping a torn
// batch), seals the objects that were open, and returns every sealed object for upload under the
// key fixed in its manifest; objects with nothing committed are deleted. So what the channel
// released is never lost, and a key never changes.
// Thread-safety: all methods are called under the owner's lock (the sink thread and the uploader
// share one S3Staging through S3Sink's mutex); the directory is locked against other processes.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/file.h"
#include "base/result.h"

namespace ingestor {

struct StagedObject {
  uint64_t id = 0;
  std::string bucket;
  std::string key;
  bool sealed = false;
  uint64_t size = 0;    // committed bytes (sealed: final size)
  std::string md5_hex;  // sealed only
  std::string data_path;
};

class S3Staging {
 public:
  // Creates the directory, takes its lock (fails with a clear message when another process holds
  // it), and recovers what a previous run left. `recovered` receives the sealed objects to upload.
  [[nodiscard]] static Result<std::unique_ptr<S3Staging>> open(
      const std::string& dir, std::vector<StagedObject>* recovered);
  ~S3Staging();

  // Fixes a new object's bucket and key (manifest fsynced) and creates its empty data file.
  [[nodiscard]] Result<StagedObject> create(const std::string& bucket, const std::string& key);
  // Appends bytes to an object's data file (not yet durable).
  [[nodiscard]] Status append(uint64_t id, std::string_view bytes);
  // Makes everything appended so far durable: fsyncs the touched data files, then appends a
  // commit record per file to the log, and the channel position `high_water` (the highest event
  // position staged, 0 for none) as a record of id 0, and fsyncs the log. The data and the
  // position become durable together.
  [[nodiscard]] Status commit(uint64_t high_water = 0);
  // commit() in three steps, so that its fsyncs can run without the owner's lock, beside the
  // serialization of the next batch: prepare_commit() (under the lock) fixes what the commit
  // covers; sync_commit() (any thread, no lock) writes and fsyncs; finish_commit() (under the
  // lock) records the outcome. Between prepare and finish nothing may be appended, sealed,
  // aborted or committed; upload-side calls (object, remove, rekey) are fine.
  struct PendingCommit {
    std::vector<std::pair<uint64_t, uint64_t>> lengths;  // data file id -> length covered
    std::vector<File*> files;                            // their data files, to fsync
    std::string records;                                 // for commits.log
    uint64_t high_water = 0;
    File* log = nullptr;
    bool log_touched = false;  // sync_commit() began writing the records
    bool empty() const { return records.empty(); }
  };
  PendingCommit prepare_commit(uint64_t high_water);
  [[nodiscard]] static Status sync_commit(PendingCommit& c);
  [[nodiscard]] Status finish_commit(const PendingCommit& c, Status synced);
  // Drops everything appended since the last successful commit(): a failed batch is taken again,
  // so its bytes must not ride along with the next commit. After a failed commit the log may hold
  // records nobody acknowledged; it is rewritten from the committed state.
  [[nodiscard]] Status abort();
  // The highest channel position ever committed (survives restarts).
  uint64_t high_water() const { return high_water_; }
  // Seals an object: its size and (`with_md5`) MD5 go into its manifest. Returns the sealed
  // description. An object uploaded in parts needs no MD5 of the whole (its ETag is made of the
  // parts'), and computing one would read the whole object again on the sink's thread.
  [[nodiscard]] Result<StagedObject> seal(uint64_t id, bool with_md5 = true);
  // Renames an object's key (a 412 with a different ETag: somebody else has that key).
  [[nodiscard]] Status rekey(uint64_t id, const std::string& key);
  // An object as it stands (open: its committed size). Fails for an unknown id.
  [[nodiscard]] Result<StagedObject> object(uint64_t id) const;
  // Deletes an uploaded object's files.
  void remove(uint64_t id);

  // Committed bytes of every staged object (open or sealed): what the sink may not exceed.
  uint64_t staged_bytes() const { return staged_bytes_; }
  size_t objects() const { return objects_.size(); }
  const std::string& dir() const { return dir_; }

 private:
  struct Entry {
    StagedObject obj;
    File data;  // open while the object is open
    uint64_t written = 0;
    bool dirty = false;
  };
  explicit S3Staging(std::string dir) : dir_(std::move(dir)) {}
  Status write_manifest(const StagedObject& o);
  Status compact_log();
  std::string path(uint64_t id, const char* ext) const;

  std::string dir_;
  int lock_fd_ = -1;
  File log_;
  uint64_t log_bytes_ = 0;
  uint64_t next_id_ = 1;
  uint64_t staged_bytes_ = 0;
  uint64_t high_water_ = 0;
  bool log_unsure_ = false;     // a commit failed after writing its records
  bool abort_pending_ = false;  // an abort() failed half way; append() retries it
  std::map<uint64_t, Entry> objects_;
};

// Decodes commits.log: the last valid committed length per id (id 0: the high-water position);
// stops at the first torn or corrupt record (its offset in `valid_bytes`).
std::map<uint64_t, uint64_t> parse_commit_log(std::string_view log, uint64_t* valid_bytes);
std::string encode_commit_record(uint64_t id, uint64_t length);
// Manifest text (<id>.meta): "bucket=<b>\nkey=<hex of key>\n[sealed=<size> <md5>\n]". The key is
// hex-encoded so any byte is safe.
std::string manifest_text(const StagedObject& o);
// Reads a manifest into `o` (bucket, key and, when sealed, size and MD5); false when it is torn
// (no final newline) or malformed.
bool parse_manifest(const std::string& text, StagedObject& o);
// Hex MD5 of the first `size` bytes of a file.
Result<std::string> md5_of_file(const std::string& path, uint64_t size);

}  // namespace ingestor
