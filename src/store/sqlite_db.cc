#include "store/sqlite_db.h"

#include <sqlite3.h>

namespace ingestor::store {

Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    if (s_) sqlite3_finalize(s_);
    db_ = o.db_;
    s_ = o.s_;
    o.s_ = nullptr;
  }
  return *this;
}

Stmt::~Stmt() {
  if (s_) sqlite3_finalize(s_);
}

Stmt& Stmt::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
  return *this;
}

Stmt& Stmt::bind(int i, int64_t v) {
  sqlite3_bind_int64(s_, i, v);
  return *this;
}

Stmt& Stmt::bind(int i, std::string_view text) {
  sqlite3_bind_text(s_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::bind_blob(int i, std::string_view bytes) {
  // A null pointer would bind NULL: an empty body is a zero-length blob.
  if (bytes.empty()) {
    sqlite3_bind_zeroblob(s_, i, 0);
  } else {
    sqlite3_bind_blob64(s_, i, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  }
  return *this;
}

Stmt& Stmt::bind_null(int i) {
  sqlite3_bind_null(s_, i);
  return *this;
}

Result<bool> Stmt::step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return make_error(Errc::kIo, std::string("sqlite: ") + sqlite3_errmsg(db_));
}

Status Stmt::run() {
  for (;;) {
    auto r = step();
    if (!r) return r.error();
    if (!*r) return {};
  }
}

int64_t Stmt::col_int(int i) const { return sqlite3_column_int64(s_, i); }

std::string Stmt::col_text(int i) const {
  const auto* p = sqlite3_column_text(s_, i);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(s_, i)));
}

std::string Stmt::col_blob(int i) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, i));
  if (!p) return {};
  return std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, i)));
}

bool Stmt::col_null(int i) const { return sqlite3_column_type(s_, i) == SQLITE_NULL; }

Result<std::unique_ptr<SqliteDb>> SqliteDb::open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    if (db) sqlite3_close(db);
    return make_error(Errc::kIo, "sqlite open " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 10000);
  return std::unique_ptr<SqliteDb>(new SqliteDb(db));
}

SqliteDb::~SqliteDb() {
  cache_.clear();
  sqlite3_close(db_);
}

Status SqliteDb::exec(const std::string& sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : sqlite3_errmsg(db_);
    sqlite3_free(msg);
    return make_error(Errc::kIo, "sqlite: " + m + " (in: " + sql.substr(0, 60) + ")");
  }
  return {};
}

Result<Stmt*> SqliteDb::prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return &it->second.reset();
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &s, nullptr) != SQLITE_OK) {
    return make_error(Errc::kInternal,
                      std::string("sqlite prepare: ") + sqlite3_errmsg(db_) + " in: " + sql);
  }
  auto [pos, _] = cache_.emplace(sql, Stmt(db_, s));
  return &pos->second;
}

void SqliteDb::reset_all() {
  for (auto& [_, st] : cache_) st.reset();
}

int64_t SqliteDb::changes() const { return sqlite3_changes64(db_); }

}  // namespace ingestor::store
