#pragma once
// Consumer: `ingestor consumer`: takes the relay's POST /objects, queues each object durably in
// the Ledger (SQLite), and downloads it with a bounded pool of workers into
// <download_dir>/<bucket>/<key>, exactly once per (bucket, key, etag). Endpoints, states and
// files: src/consumer/README.md and docs/formats/consumer.md.
//
//   POST /objects               relay JSON (s3/object_notice.h)
//       202 {"state":"pending","id":N,...}   queued (committed and fsynced)
//       200 {"state":...,"duplicate":true}  already known: nothing new is queued
//       400 malformed JSON / missing fields; 401 bad or missing signature (when a secret is set);
//       413 body over body_limit; 422 unsafe bucket or key (path_safety.h); 503 ledger error
//   GET /objects/{bucket}/{key} the newest row of that key (404 if none); {key} percent-decoded
//   GET /objects?state=failed   dead letters (or any state), oldest first, at most 1000
//       both with a secret: 401 unless `Authorization: Bearer <secret>`
//   GET /healthz, GET /metrics (JSON), GET /prometheus: open (counters only)
//
// A download (fetch.h): a notification is a hint, S3 says whether the version exists and its
// size (HeadObject); GetObject (If-Match the ETag, S3's size, x-amz-checksum-mode) streamed to
// <download_dir>/.ingestor-tmp/<id>.<attempt>.part, checked against the object's checksum or
// its exact ETag (single-part or multipart), fsynced, renamed over the final path, directory
// fsynced, then the row is marked done. Nothing else makes it done. A crash anywhere before the
// mark leaves the row downloading, which the next start turns into pending (the rename is
// idempotent: the same bytes land on the same path). Failures are retried with jittered
// exponential backoff; after max_attempts the row is failed (dead letter, last error kept). A 412
// (the key now holds another ETag) makes the row superseded: that version no longer exists.
// The outcome of an attempt (done, retry, failed, superseded) is written to the ledger before the
// worker moves on: a failed write (e.g. SQLITE_FULL: the default data_dir shares the download
// disk) is retried (retry_base doubling up to 1 s) until it succeeds or stop() (counter
// ledgerWriteFailures), since a row left `downloading` would never be claimed again in this run.
//
// Threads: HTTP on the IoPool (the ledger insert, with its fsync, runs on the I/O thread);
// `workers` download threads. Memory: bounded by body_limit per request and one 1 MiB hashing
// buffer per worker; files stream to disk. start()/stop() from the owner thread.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "consumer/ledger.h"
#include "net/http_server.h"
#include "net/io_pool.h"
#include "s3/credentials.h"

namespace ingestor::s3 {
class S3Client;
}

namespace ingestor::consumer {

struct ConsumerOptions {
  std::string bind = "127.0.0.1";
  uint16_t port = 0;
  std::string download_dir;  // required
  // Ledger directory; empty: <download_dir>/.ingestor-consumer. Another directory equal to or
  // inside download_dir is refused by start() (a download could overwrite the ledger).
  std::string data_dir;
  std::string s3_endpoint;  // empty: AWS
  std::string region = "us-east-1";
  std::shared_ptr<s3::CredentialsSource> credentials;  // null: the default chain
  // Empty: signatures not required and GET /objects open. Else POST /objects needs
  // X-Ingestor-Signature and GET /objects... `Authorization: Bearer <secret>`.
  std::string secret;
  size_t workers = 4;
  int max_attempts = 5;
  std::chrono::milliseconds retry_base{500};
  std::chrono::milliseconds retry_max{std::chrono::seconds(60)};
  std::chrono::milliseconds s3_timeout{std::chrono::minutes(5)};  // one GetObject
  size_t body_limit = 64 * 1024;
  std::vector<std::string> exec;  // argv run per downloaded file (+ its path); empty: none
};

class Consumer {
 public:
  Consumer(net::IoPool& pool, ConsumerOptions options);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Opens the ledger (resuming interrupted downloads), creates the S3 client, starts the
  // workers and listens. kConfig / kIo errors name the flag or path.
  [[nodiscard]] Status start();
  // Stops listening and joins the workers (a download in progress finishes or times out; an
  // interrupted one resumes at the next start). Idempotent.
  void stop();
  uint16_t port() const;

  std::string metrics_json();
  std::string metrics_prometheus();

 private:
  void handle(net::HttpRequest&& req, net::Respond respond);
  net::HttpResponse post_object(const net::HttpRequest& req);
  // GET /objects...: true without a secret, else with `Authorization: Bearer <secret>`.
  bool status_authorized(const net::HttpRequest& req) const;
  net::HttpResponse get_object(const std::string& rest);
  net::HttpResponse list_objects(const std::string& query);
  void worker();
  void process(Item item);
  void fail(const Item& item, const std::string& error);
  // Writes the outcome of `item`'s attempt with `write` (a Ledger::mark_* call), retrying a failed
  // write with backoff until it succeeds (true) or stop() (false: the row stays downloading and
  // the next start turns it back to pending). `outcome` names it in log lines.
  bool record(const Item& item, const char* outcome, const std::function<Status()>& write);
  void record_lag(int64_t ms);

  net::IoPool& pool_;
  ConsumerOptions options_;
  std::string tmp_dir_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<s3::S3Client> s3_;
  std::unique_ptr<net::HttpServer> server_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  uint64_t wake_gen_ = 0;  // guarded by mu_; bumped by every POST that queued something

  struct Counters {
    std::atomic<uint64_t> received{0}, queued{0}, duplicates{0}, rejected{0}, unauthorized{0};
    std::atomic<uint64_t> downloads{0}, bytes{0}, attempt_failures{0}, dead_letters{0};
    std::atomic<uint64_t> superseded{0}, exec_runs{0}, exec_failures{0}, ledger_write_failures{0};
    std::array<std::atomic<uint64_t>, 4> verified{};  // downloads by how they were verified
  } counters_;
  std::mutex lag_mu_;
  std::vector<int64_t> lags_;  // last kLagWindow end-to-end lags (eventTime -> done), ms
  size_t lag_next_ = 0;
  // Every lag since start as a histogram (ingestor_consumer_lag_seconds): counts per upper bound
  // of kLagBucketsMs (cumulative when rendered), plus +Inf, sum and count. Guarded by lag_mu_.
  std::array<uint64_t, 12> lag_buckets_{};
  uint64_t lag_count_ = 0;
  int64_t lag_sum_ms_ = 0;
};

}  // namespace ingestor::consumer
