#pragma once
// MetadataDb: the store's SQLite database (WAL mode, synchronous=FULL) with group commit.
// Schema and on-disk layout: docs/formats/store.md.
//
// Writes: write(op) queues `op`; one writer thread runs every queued op inside one transaction
// (each op under its own SAVEPOINT, so a failing op rolls back alone), commits (one fsync of the
// WAL for the whole batch), then unlinks the files the ops released (through pins(): a file a
// reader still streams from goes when that reader is done) and wakes the callers. Content
// an op references is either inserted by the op itself (inline_content, durable with the COMMIT)
// or a file that must already be durable (StagedFile::commit_file() syncs file and directory on
// the request's thread, so that those fsyncs run in parallel rather than in this serial loop).
// Ops run one after another on the writer thread, so an op's read-check-write (If-None-Match: *,
// part lists) is atomic against every other write.
// Reads: reader() leases a connection from a pool (WAL readers never block the writer).
// Thread-safety: write() and reader() may be called from any thread; write() blocks its caller
// until the batch holding the op has committed. Memory: the queue holds at most the ops of the
// callers blocked in write() (one per calling thread).

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/file_pins.h"
#include "store/sqlite_db.h"
#include "store/store_error.h"

namespace ingestor::store {

// What a write op sees: the writer connection, and lists it fills for the commit.
struct WriteTx {
  SqliteDb& db;
  std::vector<std::string> unlink_after_commit;  // removed after COMMIT (released content)
  bool outbox_changed = false;                   // wakes the outbox listener after COMMIT
};

class MetadataDb {
 public:
  using WriteOp = std::function<ApiStatus(WriteTx&)>;

  [[nodiscard]] static Result<std::unique_ptr<MetadataDb>> open(const std::string& path);
  ~MetadataDb();  // stops the writer thread after the queued ops ran

  [[nodiscard]] ApiStatus write(WriteOp op);

  class Lease {
   public:
    Lease(MetadataDb* owner, std::unique_ptr<SqliteDb> db) : owner_(owner), db_(std::move(db)) {}
    Lease(Lease&&) = default;
    ~Lease();
    SqliteDb& db() { return *db_; }

   private:
    MetadataDb* owner_;
    std::unique_ptr<SqliteDb> db_;
  };
  // A reader connection (opened on demand, returned to the pool by ~Lease).
  [[nodiscard]] Result<Lease> reader();

  // Released files are unlinked through these after their commit; readers pin what they stream.
  FilePins& pins() { return pins_; }

  // Called on the writer thread after each commit in which an op set outbox_changed.
  void set_outbox_listener(std::function<void()> f) { outbox_listener_ = std::move(f); }

  // Batches committed and ops run so far (for tests and metrics).
  uint64_t batches() const { return batches_; }

 private:
  struct Pending {
    WriteOp op;
    ApiStatus result;
    bool done = false;
  };
  explicit MetadataDb(std::string path, std::unique_ptr<SqliteDb> writer);
  void writer_loop();
  void run_batch(std::vector<Pending*>& batch);

  const std::string path_;
  FilePins pins_;                     // outlives the writer thread (declared before it)
  std::unique_ptr<SqliteDb> writer_;  // writer thread only
  std::function<void()> outbox_listener_;
  std::mutex mu_;
  std::condition_variable cv_;                      // queue non-empty or stopping
  std::condition_variable done_cv_;                 // some op done
  std::deque<Pending*> queue_;                      // guarded by mu_
  bool stopping_ = false;                           // guarded by mu_
  std::vector<std::unique_ptr<SqliteDb>> readers_;  // idle readers, guarded by mu_
  uint64_t batches_ = 0;
  std::thread thread_;
};

}  // namespace ingestor::store
