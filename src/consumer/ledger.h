#pragma once
// Ledger: the consumer's durable queue and idempotency ledger in one SQLite table, keyed by
// (bucket, key, etag). Schema and state machine: docs/formats/consumer.md.
//
//   pending --claim--> downloading --done--> done
//      ^                    |  \--412 (object replaced)--> superseded
//      +----retry (backoff)-+  \--attempts >= max--> failed (dead letter)
//
// Rules:
//  - enqueue() of a new (bucket, key, etag) inserts a pending row; of a known one it changes
//    nothing but the `deliveries` count (a notification delivered twice downloads once), except
//    that a `failed` or `superseded` row is revived to pending with attempts = 0 (a fresh
//    notification is a fresh chance, e.g. after the bucket was created; and a version found
//    missing, e.g. by a forged notification that came before the object, is looked for again);
//  - a row's size is the notification's until S3 says otherwise (set_size, mark_done): a
//    notification is only a hint;
//  - claim() takes the oldest due pending row whose (bucket, key) has no row downloading (so
//    versions of one key are written in arrival order) and marks it downloading, attempts + 1;
//  - open() turns every `downloading` row back into `pending` (a crash or kill mid-download:
//    the queue resumes where it was).
//
// Durability: WAL journal with synchronous=FULL: every committed statement is fsynced before it
// returns, so enqueue() returning means the notification survives a power cut (the 202 contract).
// Thread-safety: every method locks one mutex around the single connection.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "s3/object_notice.h"

struct sqlite3;

namespace ingestor::consumer {

enum class ItemState { kPending, kDownloading, kDone, kFailed, kSuperseded };
const char* state_name(ItemState s);

struct Item {
  int64_t id = 0;
  s3::ObjectNotice notice;
  ItemState state = ItemState::kPending;
  int attempts = 0;  // download attempts started
  int64_t next_attempt_ms = 0;
  std::string last_error;
  std::string path;  // final file, when done
  int64_t received_ms = 0;
  int64_t done_ms = 0;
  int64_t deliveries = 1;  // POSTs that named this (bucket, key, etag)
};

class Ledger {
 public:
  // Opens or creates the database file and resumes interrupted downloads.
  [[nodiscard]] static Result<std::unique_ptr<Ledger>> open(const std::string& path);
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  struct Enqueued {
    Item item;  // the row after the call
    bool inserted = false;
    bool revived = false;
  };
  [[nodiscard]] Result<Enqueued> enqueue(const s3::ObjectNotice& n, int64_t now_ms);
  [[nodiscard]] Result<std::optional<Item>> claim(int64_t now_ms);
  // The object's size as S3 says it (the notification's may be wrong).
  [[nodiscard]] Status set_size(int64_t id, uint64_t size);
  [[nodiscard]] Status mark_done(int64_t id, const std::string& path, uint64_t size,
                                 int64_t now_ms);
  [[nodiscard]] Status mark_retry(int64_t id, const std::string& error, int64_t next_attempt_ms);
  [[nodiscard]] Status mark_final(int64_t id, ItemState state, const std::string& error,
                                  int64_t now_ms);  // kFailed or kSuperseded
  // Every row of (bucket, key), newest first.
  [[nodiscard]] Result<std::vector<Item>> find(const std::string& bucket, const std::string& key);
  [[nodiscard]] Result<std::vector<Item>> list(ItemState state, int limit);
  [[nodiscard]] Result<std::map<ItemState, int64_t>> counts();
  // Earliest next_attempt_ms of a pending row; nullopt when none.
  [[nodiscard]] Result<std::optional<int64_t>> next_due_ms();
  // Rows moved from downloading back to pending by open().
  int64_t resumed() const { return resumed_; }

 private:
  explicit Ledger(sqlite3* db) : db_(db) {}
  [[nodiscard]] Status exec(const char* sql);
  [[nodiscard]] Result<std::vector<Item>> query_items(const std::string& sql,
                                                      const std::vector<std::string>& text_args,
                                                      int64_t int_arg);

  std::mutex mu_;
  sqlite3* db_;
  int64_t resumed_ = 0;
};

}  // namespace ingestor::consumer
