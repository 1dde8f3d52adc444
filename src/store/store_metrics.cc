#include "store/store_metrics.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "core/metrics.h"
#include "store/notifier.h"
#include "store/object_store.h"
#include "store/s3_api.h"

namespace ingestor::store {

StoreFigures StoreMetrics::figures() const {
  StoreFigures f;
  f.requests = api_.requests();
  if (connections_) {
    f.connections_open = connections_->open.load();
    f.connections_refused = connections_->refused.load();
    f.header_timeouts = connections_->header_timeouts.load();
    f.accept_failures = connections_->accept_failures.load();
    f.unsafe_response_headers = connections_->unsafe_headers.load();
  }
  if (notifier_) {
    f.notifications_delivered = notifier_->delivered();
    f.notification_failures = notifier_->failures();
    f.outbox_write_failures = notifier_->outbox_write_failures();
  }
  if (auto lease = store_.db().reader()) {
    if (auto st = lease->db().prepare("SELECT COUNT(*), MIN(created_ms) FROM outbox")) {
      if (auto r = (*st)->step(); r && *r) {
        f.outbox_rows = (*st)->col_int(0);
        if (f.outbox_rows > 0)
          f.outbox_oldest_age_s = std::max<int64_t>(0, now_epoch_ms() - (*st)->col_int(1)) / 1000.0;
      }
    }
  }
  if (auto free = store_.free_space()) f.disk_free_bytes = *free;
  f.disk_free_floor_bytes = store_.options().min_free_space;
  return f;
}

std::string StoreMetrics::json() const {
  const StoreFigures f = figures();
  boost::json::object s{{"requests", f.requests},
                        {"connectionsOpen", f.connections_open},
                        {"connectionsRefused", f.connections_refused},
                        {"headerTimeouts", f.header_timeouts},
                        {"acceptFailures", f.accept_failures},
                        {"unsafeResponseHeaders", f.unsafe_response_headers},
                        {"outboxRows", f.outbox_rows},
                        {"outboxOldestAgeSeconds", f.outbox_oldest_age_s},
                        {"notificationsDelivered", f.notifications_delivered},
                        {"notificationFailures", f.notification_failures},
                        {"outboxWriteFailures", f.outbox_write_failures},
                        {"diskFreeFloorBytes", f.disk_free_floor_bytes}};
  if (f.disk_free_bytes) s["diskFreeBytes"] = *f.disk_free_bytes;
  return boost::json::serialize(boost::json::object{{"store", std::move(s)}});
}

std::string StoreMetrics::prometheus() const {
  const StoreFigures f = figures();
  std::string out;
  auto metric = [&](const char* name, const char* type, auto v, const char* help) {
    out += fmt::format(
        "# HELP ingestor_store_{0} {3}\n# TYPE ingestor_store_{0} {1}\ningestor_store_{0} {2}\n",
        name, type, v, help);
  };
  metric("requests_total", "counter", f.requests, "S3 API requests received");
  metric("connections_open", "gauge", f.connections_open, "Connections being served");
  metric("connections_refused_total", "counter", f.connections_refused,
         "Connections closed at once because --max-connections were open");
  metric("header_timeouts_total", "counter", f.header_timeouts,
         "Connections dropped for not sending a request header within --header-timeout");
  metric("accept_failures_total", "counter", f.accept_failures,
         "accept(2) failures (EMFILE, ENFILE: the accept loop backs off)");
  metric("unsafe_response_headers_total", "counter", f.unsafe_response_headers,
         "Responses replaced by 500 because a header held a control character");
  metric("outbox_rows", "gauge", f.outbox_rows, "Notifications waiting in the outbox");
  metric("outbox_oldest_age_seconds", "gauge", f.outbox_oldest_age_s,
         "Age of the oldest notification waiting (0: none)");
  metric("notifications_delivered_total", "counter", f.notifications_delivered,
         "Notifications POSTed and answered 2xx");
  metric("notification_failures_total", "counter", f.notification_failures,
         "Notification POSTs that failed (retried later)");
  metric("outbox_write_failures_total", "counter", f.outbox_write_failures,
         "Notifier passes whose outbox update failed");
  if (f.disk_free_bytes)
    metric("disk_free_bytes", "gauge", *f.disk_free_bytes, "Free bytes of the data directory");
  metric("disk_free_floor_bytes", "gauge", f.disk_free_floor_bytes,
         "Free bytes the store keeps: new data is refused (507) below this (0: no floor)");
  return out;
}

}  // namespace ingestor::store
