#pragma once
// StoreMetrics: the figures an operator of `ingestor store` watches (deploy/prometheus/):
// requests served, connections (open, refused, timed out, accept failures), the notification outbox
// (rows waiting, age of the oldest, deliveries, failures), and the data directory's free space
// against the store's floor (--min-free-space). Served on the store's own port, unauthenticated and
// read-only, at paths no bucket can have (bucket names start with a letter or digit):
//   GET /_ingestor/metrics     JSON {"store":{...}}
//   GET /_ingestor/prometheus  Prometheus text, ingestor_store_*
// Thread-safety: any thread; each call reads the outbox through a reader connection.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

namespace ingestor::store {

class ObjectStore;
class Notifier;
class S3Api;

// What StoreServer counts of its connections (issue 16: limits on idle and slow clients, and an
// accept loop that backs off when the process runs out of file descriptors).
struct ConnectionCounters {
  std::atomic<uint64_t> open{0};             // connections being served now
  std::atomic<uint64_t> refused{0};          // closed at once: --max-connections reached
  std::atomic<uint64_t> header_timeouts{0};  // dropped: no whole request header in --header-timeout
  std::atomic<uint64_t> accept_failures{0};  // accept(2) errors (EMFILE, ENFILE, ...)
  std::atomic<uint64_t> unsafe_headers{0};  // responses refused for a control character in a header
};

struct StoreFigures {
  uint64_t requests = 0;
  uint64_t connections_open = 0, connections_refused = 0, header_timeouts = 0, accept_failures = 0,
           unsafe_response_headers = 0;
  int64_t outbox_rows = 0;
  double outbox_oldest_age_s = 0;  // 0 when the outbox is empty
  uint64_t notifications_delivered = 0, notification_failures = 0, outbox_write_failures = 0;
  std::optional<uint64_t> disk_free_bytes;  // unset when statvfs fails
  uint64_t disk_free_floor_bytes = 0;       // 0: no floor
};

class StoreMetrics {
 public:
  // `notifier` may be null (no webhooks configured: its counters stay 0).
  StoreMetrics(ObjectStore& store, const Notifier* notifier, const S3Api& api)
      : store_(store), notifier_(notifier), api_(api) {}

  // The server's connection counters (null: all 0). Set before the server starts.
  void set_connections(const ConnectionCounters* c) { connections_ = c; }

  StoreFigures figures() const;
  std::string json() const;
  std::string prometheus() const;

 private:
  ObjectStore& store_;
  const Notifier* notifier_;
  const S3Api& api_;
  const ConnectionCounters* connections_ = nullptr;
};

}  // namespace ingestor::store
