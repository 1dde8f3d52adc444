#include "store/metadata_db.h"

#include "base/log.h"

namespace ingestor::store {

namespace {

// Version 4 of the schema (docs/formats/store.md), without its user_version (set apart, only
// when it changes). Every statement is idempotent and writes nothing where its table or index
// exists, so running it on a version 1 database (which lacks inline_content and object_parts) or a
// version 2 one (lacking object_parts) creates the missing tables: rows already there keep their
// meaning, so a multipart object completed by an older version stays one content file. The
// columns version 4 added to existing tables come from kAddColumns. Keys are TEXT compared with
// SQLite's BINARY collation (memcmp), which is S3's UTF-8 byte order.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS buckets(
  name TEXT PRIMARY KEY,
  created_ms INTEGER NOT NULL,
  notification_xml TEXT NOT NULL DEFAULT '',
  owner TEXT NOT NULL DEFAULT 'ingestor',
  acl TEXT NOT NULL DEFAULT '',
  cors_xml TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects(
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  content_id TEXT NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  mtime_ms INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  headers TEXT NOT NULL,
  user_meta TEXT NOT NULL,
  checksums TEXT NOT NULL,
  parts_count INTEGER NOT NULL DEFAULT 0,
  owner TEXT NOT NULL DEFAULT 'ingestor',
  acl TEXT NOT NULL DEFAULT '',
  upload_id TEXT NOT NULL DEFAULT '',
  checksum_type TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads(
  upload_id TEXT PRIMARY KEY,
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  initiated_ms INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  headers TEXT NOT NULL,
  user_meta TEXT NOT NULL,
  checksum_algorithm TEXT NOT NULL,
  owner TEXT NOT NULL DEFAULT 'ingestor',
  acl TEXT NOT NULL DEFAULT '',
  checksum_type TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads(bucket, key, upload_id);
CREATE TABLE IF NOT EXISTS parts(
  upload_id TEXT NOT NULL,
  part_number INTEGER NOT NULL,
  content_id TEXT NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  mtime_ms INTEGER NOT NULL,
  checksums TEXT NOT NULL,
  PRIMARY KEY(upload_id, part_number)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  url TEXT NOT NULL,
  body TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  last_error TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS inline_content(
  content_id TEXT PRIMARY KEY,
  data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS object_parts(
  content_id TEXT NOT NULL,
  part_number INTEGER NOT NULL,
  start INTEGER NOT NULL,
  size INTEGER NOT NULL,
  part_content_id TEXT NOT NULL,
  etag TEXT NOT NULL,
  checksums TEXT NOT NULL DEFAULT '[]',
  PRIMARY KEY(content_id, part_number)
) WITHOUT ROWID;
)sql";
constexpr int64_t kSchemaVersion = 4;

// Version 4 (owners and ACLs, CORS, the upload an object was completed from, the checksum type of
// a multipart object): columns added to tables of versions 1-3, run once when such a database is
// opened. ADD COLUMN with a constant default rewrites no row: a row written before reads as owned
// by the main account ("ingestor") with the default ACL, no CORS and no upload.
constexpr const char* kAddColumns = R"sql(
ALTER TABLE buckets ADD COLUMN owner TEXT NOT NULL DEFAULT 'ingestor';
ALTER TABLE buckets ADD COLUMN acl TEXT NOT NULL DEFAULT '';
ALTER TABLE buckets ADD COLUMN cors_xml TEXT NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN owner TEXT NOT NULL DEFAULT 'ingestor';
ALTER TABLE objects ADD COLUMN acl TEXT NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN upload_id TEXT NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN checksum_type TEXT NOT NULL DEFAULT '';
ALTER TABLE uploads ADD COLUMN owner TEXT NOT NULL DEFAULT 'ingestor';
ALTER TABLE uploads ADD COLUMN acl TEXT NOT NULL DEFAULT '';
ALTER TABLE uploads ADD COLUMN checksum_type TEXT NOT NULL DEFAULT '';
)sql";
// ... and to object_parts, which version 3 added.
constexpr const char* kAddColumnsV3 = R"sql(
ALTER TABLE object_parts ADD COLUMN checksums TEXT NOT NULL DEFAULT '[]';
)sql";

constexpr size_t kMaxBatch = 512;

Status configure(SqliteDb& db) {
  if (auto s = db.exec("PRAGMA journal_mode=WAL"); !s) return s;
  if (auto s = db.exec("PRAGMA synchronous=FULL"); !s) return s;
  return db.exec("PRAGMA foreign_keys=OFF");
}

}  // namespace

Result<std::unique_ptr<MetadataDb>> MetadataDb::open(const std::string& path) {
  auto w = SqliteDb::open(path);
  if (!w) return w.error();
  if (auto s = configure(**w); !s) return s.error();
  // 0: a new database; 1 to 3: written by an older version (migrated here, atomically).
  if (auto s = (*w)->exec("BEGIN IMMEDIATE"); !s) return s.error();
  auto v = (*w)->prepare("PRAGMA user_version");
  if (!v) return v.error();
  if (auto r = (*v)->step(); !r) return r.error();
  const int64_t version = (*v)->col_int(0);
  (*w)->reset_all();
  if (version > kSchemaVersion) {
    (void)(*w)->exec("ROLLBACK");
    return make_error(Errc::kConfig, path + ": metadata schema version " + std::to_string(version) +
                                         " is newer than this ingestor (" +
                                         std::to_string(kSchemaVersion) + ")");
  }
  // Tables of versions 1-3 get the columns of version 4 first (kSchema then leaves them be).
  if (version != 0 && version < 4) {
    if (auto s = (*w)->exec(kAddColumns); !s) {
      (void)(*w)->exec("ROLLBACK");
      return s.error();
    }
    if (version == 3) {
      if (auto s = (*w)->exec(kAddColumnsV3); !s) {
        (void)(*w)->exec("ROLLBACK");
        return s.error();
      }
    }
  }
  if (auto s = (*w)->exec(kSchema); !s) {
    (void)(*w)->exec("ROLLBACK");
    return s.error();
  }
  // A database already at this version is opened without a write, so that a store starts on a
  // full disk: setting user_version rewrites page 1 even to the same value, a WAL frame that a
  // full disk refuses (SQLITE_FULL), and the sweep below never ran to free what it could.
  if (version != kSchemaVersion) {
    if (auto s = (*w)->exec("PRAGMA user_version = " + std::to_string(kSchemaVersion)); !s) {
      (void)(*w)->exec("ROLLBACK");
      return s.error();
    }
  }
  if (auto s = (*w)->exec("COMMIT"); !s) return s.error();
  if (version != 0 && version < kSchemaVersion)
    log::info("store: metadata schema upgraded from version {} to {}", version, kSchemaVersion);
  return std::unique_ptr<MetadataDb>(new MetadataDb(path, std::move(*w)));
}

MetadataDb::MetadataDb(std::string path, std::unique_ptr<SqliteDb> writer)
    : path_(std::move(path)), writer_(std::move(writer)) {
  thread_ = std::thread([this] { writer_loop(); });
}

MetadataDb::~MetadataDb() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

MetadataDb::Lease::~Lease() {
  if (db_ && owner_) {
    db_->reset_all();
    std::lock_guard lock(owner_->mu_);
    owner_->readers_.push_back(std::move(db_));
  }
}

Result<MetadataDb::Lease> MetadataDb::reader() {
  {
    std::lock_guard lock(mu_);
    if (!readers_.empty()) {
      auto db = std::move(readers_.back());
      readers_.pop_back();
      return Lease(this, std::move(db));
    }
  }
  auto db = SqliteDb::open(path_);
  if (!db) return db.error();
  if (auto s = (*db)->exec("PRAGMA query_only=ON"); !s) return s.error();
  return Lease(this, std::move(*db));
}

ApiStatus MetadataDb::write(WriteOp op) {
  Pending p{std::move(op), {}, false};
  std::unique_lock lock(mu_);
  if (stopping_) return err::internal("store is stopping");
  queue_.push_back(&p);
  cv_.notify_one();
  done_cv_.wait(lock, [&] { return p.done; });
  return std::move(p.result);
}

void MetadataDb::writer_loop() {
  std::vector<Pending*> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    run_batch(batch);
    {
      std::lock_guard lock(mu_);
      for (Pending* p : batch) p->done = true;
    }
    done_cv_.notify_all();
    batch.clear();
  }
}

void MetadataDb::run_batch(std::vector<Pending*>& batch) {
  SqliteDb& db = *writer_;
  if (auto s = db.exec("BEGIN IMMEDIATE"); !s) {
    for (Pending* p : batch) p->result = err::internal(s.error().message);
    return;
  }
  std::vector<std::string> unlinks;
  bool outbox = false;
  std::vector<bool> ok(batch.size(), false);
  for (size_t i = 0; i < batch.size(); ++i) {
    Pending* p = batch[i];
    if (auto s = db.exec("SAVEPOINT op"); !s) {
      p->result = err::internal(s.error().message);
      continue;
    }
    WriteTx tx{db, {}, false};
    ApiStatus st = p->op(tx);
    db.reset_all();
    if (!st) {
      (void)db.exec("ROLLBACK TO op");
      (void)db.exec("RELEASE op");
      p->result = std::move(st);
      continue;
    }
    (void)db.exec("RELEASE op");
    ok[i] = true;
    unlinks.insert(unlinks.end(), tx.unlink_after_commit.begin(), tx.unlink_after_commit.end());
    outbox = outbox || tx.outbox_changed;
  }
  Status commit = db.exec("COMMIT");
  if (!commit) {
    (void)db.exec("ROLLBACK");
    log::error("store metadata commit failed: {}", commit.error().message);
    for (size_t i = 0; i < batch.size(); ++i)
      if (ok[i]) batch[i]->result = err::internal(commit.error().message);
    return;
  }
  ++batches_;
  for (size_t i = 0; i < batch.size(); ++i)
    if (ok[i]) batch[i]->result = {};
  for (const auto& f : unlinks) pins_.unlink(f);
  if (outbox && outbox_listener_) outbox_listener_();
}

}  // namespace ingestor::store
