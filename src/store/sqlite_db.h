#pragma once
// A thin RAII layer over SQLite 3: one connection (SqliteDb) with a cache of prepared statements
// and a statement wrapper (Stmt) whose errors come back as Result. A connection is used by one
// thread at a time (callers lease it; see MetadataDb).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace ingestor::store {

class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(o.s_) { o.s_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept;
  ~Stmt();

  // Resets the statement and clears its bindings, ready for new binds (1-based indexes).
  Stmt& reset();
  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, std::string_view text);        // bound as TEXT, copied
  Stmt& bind_blob(int i, std::string_view bytes);  // bound as BLOB, copied
  Stmt& bind_null(int i);
  // true: a row is available; false: done. Error with the SQLite message otherwise.
  [[nodiscard]] Result<bool> step();
  // Runs to completion (for statements without rows).
  [[nodiscard]] Status run();

  int64_t col_int(int i) const;
  std::string col_text(int i) const;  // "" for NULL
  std::string col_blob(int i) const;  // "" for NULL
  bool col_null(int i) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* s_ = nullptr;
};

class SqliteDb {
 public:
  // Opens (creating) the database at `path` with a busy timeout; WAL mode and the pragmas are the
  // caller's business.
  [[nodiscard]] static Result<std::unique_ptr<SqliteDb>> open(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  [[nodiscard]] Status exec(const std::string& sql);
  // A cached prepared statement for `sql`, reset and unbound. Valid until this connection closes.
  [[nodiscard]] Result<Stmt*> prepare(const std::string& sql);
  // Resets every cached statement, ending the read transaction a half-stepped SELECT holds
  // (a leased connection must not keep an old WAL snapshot).
  void reset_all();
  int64_t changes() const;
  sqlite3* handle() { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, Stmt> cache_;
};

}  // namespace ingestor::store
