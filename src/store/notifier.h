#pragma once
// Notifier: delivers the notification outbox (table `outbox`, docs/formats/store.md) at least
// once. A thread takes due rows in id order, POSTs each body (application/json) to its URL and
// deletes the row on a 2xx answer; otherwise the row's attempts grow and its next attempt is
// pushed back exponentially (min_backoff * 2^attempts, capped at max_backoff, +-20% jitter).
// Rows survive restarts, so a target that is down, or a store that crashed, only delays delivery.
// When the outbox cannot be updated after a pass (a full disk: SQLite cannot commit), the rows it
// POSTed stay due; the next pass waits as after a failed delivery (min_backoff * 2^(n-1) after
// the n-th such failure in a row, capped at max_backoff; a commit that wakes the notifier still
// starts one at once), with a warning on the first and every tenth failure in a row.
// Thread-safety: wake() from any thread; start()/stop() from the owner.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "store/metadata_db.h"

namespace ingestor::store {

struct NotifierOptions {
  std::chrono::milliseconds min_backoff{250};
  std::chrono::milliseconds max_backoff{30000};
  std::chrono::milliseconds timeout{5000};  // per connect / write / read
  size_t batch = 64;
  // Bearer token per webhook URL (--notify-token-file, --notify-target-token-file): each POST to
  // that URL carries `Authorization: Bearer <token>`. Looked up at delivery, so the outbox holds
  // no secret and a row queued before a restart is sent with the token configured now; a URL
  // without a token here is POSTed without one.
  std::map<std::string, std::string> tokens;
};

// The delay before attempt number `attempts` + 1 (without jitter).
std::chrono::milliseconds notify_backoff(const NotifierOptions& o, int64_t attempts);

class Notifier {
 public:
  Notifier(MetadataDb& db, NotifierOptions options) : db_(db), options_(options) {}
  ~Notifier() { stop(); }
  void start();
  void stop();
  // New rows were committed: look at the outbox now.
  void wake();

  uint64_t delivered() const { return delivered_; }
  uint64_t failures() const { return failures_; }
  // Passes whose outbox update failed (their rows are POSTed again later).
  uint64_t outbox_write_failures() const { return outbox_write_failures_; }

 private:
  void loop();
  // One pass over the due rows; returns the time of the next due row (or nullopt if none).
  std::optional<int64_t> pass();

  MetadataDb& db_;
  const NotifierOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool woken_ = false;     // guarded by mu_
  std::thread thread_;
  int64_t write_failures_in_a_row_ = 0;  // notifier thread only
  std::atomic<uint64_t> delivered_{0}, failures_{0}, outbox_write_failures_{0};
};

}  // namespace ingestor::store
