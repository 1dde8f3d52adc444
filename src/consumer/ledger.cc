#include "consumer/ledger.h"

#include <sqlite3.h>

namespace ingestor::consumer {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS objects (
  id              INTEGER PRIMARY KEY,
  bucket          TEXT    NOT NULL,
  key             TEXT    NOT NULL,
  etag            TEXT    NOT NULL,
  size            INTEGER NOT NULL,
  event_time      TEXT    NOT NULL DEFAULT '',
  sequencer       TEXT    NOT NULL DEFAULT '',
  state           TEXT    NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT    NOT NULL DEFAULT '',
  path            TEXT    NOT NULL DEFAULT '',
  received_ms     INTEGER NOT NULL,
  done_ms         INTEGER NOT NULL DEFAULT 0,
  deliveries      INTEGER NOT NULL DEFAULT 1,
  UNIQUE (bucket, key, etag)
);
CREATE INDEX IF NOT EXISTS objects_due ON objects (state, next_attempt_ms, id);
)sql";

constexpr const char* kCols =
    "id, bucket, key, etag, size, event_time, sequencer, state, attempts, next_attempt_ms, "
    "last_error, path, received_ms, done_ms, deliveries";

Error db_error(sqlite3* db, const std::string& what) {
  return make_error(Errc::kIo, "consumer ledger: " + what + ": " + sqlite3_errmsg(db));
}

ItemState parse_state(std::string_view s) {
  if (s == "pending") return ItemState::kPending;
  if (s == "downloading") return ItemState::kDownloading;
  if (s == "done") return ItemState::kDone;
  if (s == "failed") return ItemState::kFailed;
  return ItemState::kSuperseded;
}

class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) {
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &s_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  void bind(int i, std::string_view t) {
    sqlite3_bind_text(s_, i, t.data(), static_cast<int>(t.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  int step() { return sqlite3_step(s_); }
  std::string text(int c) {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, c))) : std::string();
  }
  int64_t i64(int c) { return sqlite3_column_int64(s_, c); }
  Item item() {
    Item it;
    it.id = i64(0);
    it.notice.bucket = text(1);
    it.notice.key = text(2);
    it.notice.etag = text(3);
    it.notice.size = static_cast<uint64_t>(i64(4));
    it.notice.event_time = text(5);
    it.notice.sequencer = text(6);
    it.state = parse_state(text(7));
    it.attempts = static_cast<int>(i64(8));
    it.next_attempt_ms = i64(9);
    it.last_error = text(10);
    it.path = text(11);
    it.received_ms = i64(12);
    it.done_ms = i64(13);
    it.deliveries = i64(14);
    return it;
  }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back unless committed.
class Tx {
 public:
  explicit Tx(sqlite3* db) : db_(db) {
    ok_ = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~Tx() {
    if (ok_ && !done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  bool ok() const { return ok_; }
  // On failure the transaction is ended too: after a failed COMMIT (SQLITE_FULL, SQLITE_IOERR,
  // SQLITE_BUSY) SQLite may leave it open, and every later BEGIN would fail.
  Status commit() {
    done_ = true;
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK) return {};
    Status failed = db_error(db_, "commit");
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return failed;
  }

 private:
  sqlite3* db_;
  bool ok_ = false;
  bool done_ = false;
};

}  // namespace

const char* state_name(ItemState s) {
  switch (s) {
    case ItemState::kPending:
      return "pending";
    case ItemState::kDownloading:
      return "downloading";
    case ItemState::kDone:
      return "done";
    case ItemState::kFailed:
      return "failed";
    case ItemState::kSuperseded:
      return "superseded";
  }
  return "?";
}

Result<std::unique_ptr<Ledger>> Ledger::open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return make_error(Errc::kIo, "consumer ledger: open " + path + ": " + msg);
  }
  std::unique_ptr<Ledger> l(new Ledger(db));
  sqlite3_busy_timeout(db, 5000);
  if (auto st = l->exec("PRAGMA journal_mode=WAL"); !st) return st.error();
  if (auto st = l->exec("PRAGMA synchronous=FULL"); !st) return st.error();
  if (auto st = l->exec(kSchema); !st) return st.error();
  if (auto st = l->exec("UPDATE objects SET state='pending', next_attempt_ms=0 "
                        "WHERE state='downloading'");
      !st)
    return st.error();
  l->resumed_ = sqlite3_changes(db);
  return l;
}

Ledger::~Ledger() { sqlite3_close(db_); }

Status Ledger::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "error";
    sqlite3_free(err);
    return make_error(Errc::kIo, "consumer ledger: " + m);
  }
  return {};
}

Result<Ledger::Enqueued> Ledger::enqueue(const s3::ObjectNotice& n, int64_t now_ms) {
  std::lock_guard lk(mu_);
  Tx tx(db_);
  if (!tx.ok()) return db_error(db_, "begin");
  Enqueued out;
  std::string sel =
      std::string("SELECT ") + kCols + " FROM objects WHERE bucket=?1 AND key=?2 AND etag=?3";
  std::optional<Item> existing;
  {
    Stmt s(db_, sel);
    if (!s.ok()) return db_error(db_, "prepare");
    s.bind(1, n.bucket);
    s.bind(2, n.key);
    s.bind(3, n.etag);
    if (s.step() == SQLITE_ROW) existing = s.item();
  }
  if (!existing) {
    Stmt s(db_,
           "INSERT INTO objects (bucket, key, etag, size, event_time, sequencer, state, "
           "received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7)");
    s.bind(1, n.bucket);
    s.bind(2, n.key);
    s.bind(3, n.etag);
    s.bind(4, static_cast<int64_t>(n.size));
    s.bind(5, n.event_time);
    s.bind(6, n.sequencer);
    s.bind(7, now_ms);
    if (s.step() != SQLITE_DONE) return db_error(db_, "insert");
    out.inserted = true;
  } else {
    out.revived =
        existing->state == ItemState::kFailed || existing->state == ItemState::kSuperseded;
    const char* sql = out.revived
                          ? "UPDATE objects SET state='pending', attempts=0, next_attempt_ms=0, "
                            "deliveries=deliveries+1 WHERE id=?1"
                          : "UPDATE objects SET deliveries=deliveries+1 WHERE id=?1";
    Stmt s(db_, sql);
    s.bind(1, existing->id);
    if (s.step() != SQLITE_DONE) return db_error(db_, "update");
  }
  {
    Stmt s(db_, sel);
    s.bind(1, n.bucket);
    s.bind(2, n.key);
    s.bind(3, n.etag);
    if (s.step() != SQLITE_ROW) return db_error(db_, "reread");
    out.item = s.item();
  }
  if (auto c = tx.commit(); !c) return c.error();
  return out;
}

Result<std::optional<Item>> Ledger::claim(int64_t now_ms) {
  std::lock_guard lk(mu_);
  Tx tx(db_);
  if (!tx.ok()) return db_error(db_, "begin");
  std::optional<Item> item;
  {
    Stmt s(db_, std::string("SELECT ") + kCols +
                    " FROM objects o WHERE state='pending' AND next_attempt_ms<=?1 AND NOT EXISTS "
                    "(SELECT 1 FROM objects d WHERE d.bucket=o.bucket AND d.key=o.key AND "
                    "d.state='downloading') ORDER BY id LIMIT 1");
    if (!s.ok()) return db_error(db_, "prepare claim");
    s.bind(1, now_ms);
    int rc = s.step();
    if (rc == SQLITE_ROW) {
      item = s.item();
    } else if (rc != SQLITE_DONE) {
      return db_error(db_, "claim");
    }
  }
  if (!item) return std::optional<Item>();
  {
    Stmt s(db_, "UPDATE objects SET state='downloading', attempts=attempts+1 WHERE id=?1");
    s.bind(1, item->id);
    if (s.step() != SQLITE_DONE) return db_error(db_, "claim update");
  }
  if (auto c = tx.commit(); !c) return c.error();
  item->state = ItemState::kDownloading;
  item->attempts++;
  return item;
}

Status Ledger::set_size(int64_t id, uint64_t size) {
  std::lock_guard lk(mu_);
  Stmt s(db_, "UPDATE objects SET size=?2 WHERE id=?1");
  s.bind(1, id);
  s.bind(2, static_cast<int64_t>(size));
  if (s.step() != SQLITE_DONE) return db_error(db_, "set size");
  return {};
}

Status Ledger::mark_done(int64_t id, const std::string& path, uint64_t size, int64_t now_ms) {
  std::lock_guard lk(mu_);
  Stmt s(db_,
         "UPDATE objects SET state='done', path=?2, size=?4, done_ms=?3, last_error='' WHERE "
         "id=?1");
  s.bind(1, id);
  s.bind(2, path);
  s.bind(3, now_ms);
  s.bind(4, static_cast<int64_t>(size));
  if (s.step() != SQLITE_DONE) return db_error(db_, "mark done");
  return {};
}

Status Ledger::mark_retry(int64_t id, const std::string& error, int64_t next_attempt_ms) {
  std::lock_guard lk(mu_);
  Stmt s(db_, "UPDATE objects SET state='pending', last_error=?2, next_attempt_ms=?3 WHERE id=?1");
  s.bind(1, id);
  s.bind(2, error);
  s.bind(3, next_attempt_ms);
  if (s.step() != SQLITE_DONE) return db_error(db_, "mark retry");
  return {};
}

Status Ledger::mark_final(int64_t id, ItemState state, const std::string& error, int64_t now_ms) {
  std::lock_guard lk(mu_);
  Stmt s(db_, "UPDATE objects SET state=?2, last_error=?3, done_ms=?4 WHERE id=?1");
  s.bind(1, id);
  s.bind(2, std::string_view(state_name(state)));
  s.bind(3, error);
  s.bind(4, now_ms);
  if (s.step() != SQLITE_DONE) return db_error(db_, "mark final");
  return {};
}

Result<std::vector<Item>> Ledger::query_items(const std::string& sql,
                                              const std::vector<std::string>& text_args,
                                              int64_t int_arg) {
  std::lock_guard lk(mu_);
  Stmt s(db_, sql);
  if (!s.ok()) return db_error(db_, "prepare");
  int i = 1;
  for (const auto& a : text_args) s.bind(i++, a);
  s.bind(i, int_arg);
  std::vector<Item> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(s.item());
  if (rc != SQLITE_DONE) return db_error(db_, "query");
  return out;
}

Result<std::vector<Item>> Ledger::find(const std::string& bucket, const std::string& key) {
  return query_items(std::string("SELECT ") + kCols +
                         " FROM objects WHERE bucket=?1 AND key=?2 ORDER BY id DESC LIMIT ?3",
                     {bucket, key}, 100);
}

Result<std::vector<Item>> Ledger::list(ItemState state, int limit) {
  return query_items(
      std::string("SELECT ") + kCols + " FROM objects WHERE state=?1 ORDER BY id LIMIT ?2",
      {state_name(state)}, limit);
}

Result<std::map<ItemState, int64_t>> Ledger::counts() {
  std::lock_guard lk(mu_);
  Stmt s(db_, "SELECT state, count(*) FROM objects GROUP BY state");
  std::map<ItemState, int64_t> out;
  for (auto st : {ItemState::kPending, ItemState::kDownloading, ItemState::kDone,
                  ItemState::kFailed, ItemState::kSuperseded})
    out[st] = 0;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out[parse_state(s.text(0))] = s.i64(1);
  if (rc != SQLITE_DONE) return db_error(db_, "counts");
  return out;
}

Result<std::optional<int64_t>> Ledger::next_due_ms() {
  std::lock_guard lk(mu_);
  Stmt s(db_, "SELECT min(next_attempt_ms) FROM objects WHERE state='pending'");
  int rc = s.step();
  if (rc != SQLITE_ROW) return db_error(db_, "next due");
  std::string v = s.text(0);
  if (v.empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(s.i64(0));
}

}  // namespace ingestor::consumer
