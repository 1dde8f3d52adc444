#pragma once
// WebhookRelay: `ingestor relay --listen`: an HTTP endpoint for S3-style webhook notifications
// (the `ingestor store` outbox, MinIO, SNS HTTP subscriptions) that relays each ObjectCreated
// record to the consumer through a Forwarder.
//
//   POST <any path>  notification body (event_parse.h shapes), with `Authorization: Bearer
//                    <token>` when options.webhook_token is set (always, unless
//                    insecure_no_webhook_token: start() refuses otherwise)
//       401 no token or the wrong one (WWW-Authenticate: Bearer; counted, one log line a second)
//       200 {"relayed":N,"skipped":M,"testEvent":bool}  only after the consumer accepted every
//                                                       record (a test event: at once, N = 0)
//       400 malformed JSON / not a notification (nothing relayed; redelivery would not help)
//       413 body over body_limit
//       502 the consumer rejected a record (4xx); 503 consumer unreachable or 5xx until the
//           deadline, or too many notifications waiting (Retry-After: 1). The sender redelivers.
//   GET /healthz     200 "ok"
//   GET /metrics     JSON counters; GET /prometheus the same as Prometheus text
//
// Relaying blocks (HTTP client, backoff), so it runs on `workers` threads of its own, never on
// the IoPool; at most `queue_limit` notifications wait for them (memory bound: queue_limit x
// body_limit). Thread-safety: start()/stop() from the owner thread; port() after start().

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "net/http_server.h"
#include "net/io_pool.h"
#include "relay/forwarder.h"

namespace ingestor::relay {

class WebhookRelay {
 public:
  WebhookRelay(net::IoPool& pool, RelayOptions options);
  ~WebhookRelay();
  WebhookRelay(const WebhookRelay&) = delete;
  WebhookRelay& operator=(const WebhookRelay&) = delete;

  // Validates the options (kConfig), starts the workers and listens.
  [[nodiscard]] Status start();
  // Stops listening, cancels retries in flight (their senders get 503) and joins the workers.
  void stop();
  uint16_t port() const;

  std::string metrics_json() const;
  std::string metrics_prometheus() const;

 private:
  struct Job {
    s3::ParsedNotification notification;
    net::Respond respond;
    Clock::time_point deadline;
  };
  void handle(net::HttpRequest&& req, net::Respond respond);
  void worker();

  net::IoPool& pool_;
  RelayOptions options_;
  std::unique_ptr<Forwarder> forwarder_;
  std::unique_ptr<net::HttpServer> server_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;                                      // guarded by mu_
  bool stopping_ = false;                                      // guarded by mu_
  log::Throttle unauthorized_log_, invalid_log_, failed_log_;  // one line a second each
};

}  // namespace ingestor::relay
