#pragma once
// StoreMetrics: the figures an operator of `ingestor store` watches (deploy/prometheus/):
// requests served, the notification outbox (rows waiting, age of the oldest, deliveries,
// failures), and the data directory's free space against the store's floor (--min-free-space).
// Served on the store's own port, unauthenticated and read-only, at paths no bucket can have
// (bucket names start with a letter or digit):
//   GET /_ingestor/metrics     JSON {"store":{...}}
//   GET /_ingestor/prometheus  Prometheus text, ingestor_store_*
// Thread-safety: any thread; each call reads the outbox through a reader connection.

#include <cstdint>
#include <optional>
#include <string>

namespace ingestor::store {

class ObjectStore;
class Notifier;
class S3Api;

struct StoreFigures {
  uint64_t requests = 0;
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

  StoreFigures figures() const;
  std::string json() const;
  std::string prometheus() const;

 private:
  ObjectStore& store_;
  const Notifier* notifier_;
  const S3Api& api_;
};

}  // namespace ingestor::store
