#pragma once
// Forwarder: POSTs each ObjectCreated record of a notification to the consumer
// (s3/object_notice.h: JSON body, Idempotency-Key, X-Ingestor-Signature when a secret is set),
// retrying each POST with jittered exponential backoff until it is accepted or the caller's
// deadline passes.
//
// Classification of the consumer's answers: 2xx accepted; transport errors, timeouts, 5xx, 408
// and 429 are retried; any other status (400, 401, 413, 422, ...) is a rejection that retrying
// cannot cure, so relay() returns at once with Errc::kAuth (401/403) or kInvalidArgument.
// Either way a failed relay() is reported upstream (webhook 502/503, Lambda /error) so the
// notification is redelivered: nothing is acknowledged that the consumer did not accept.
//
// Thread-safety: relay() may be called from many threads at once (the HttpClient is shared and
// thread-safe). cancel() wakes every backoff wait; later calls fail fast with kUnavailable.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/result.h"
#include "net/http_client.h"
#include "s3/event_parse.h"
#include "s3/object_notice.h"

namespace ingestor::relay {

using Clock = std::chrono::steady_clock;

struct RelayOptions {
  std::string target_url;  // "http://consumer:9200/objects" (required)
  std::string secret;      // empty: unsigned requests
  // INGESTOR_SECRET_SSM_PARAMETER: a SecureString read by load_relay_secret() when `secret` is
  // empty (--secret and INGESTOR_SECRET win).
  std::string secret_ssm_parameter;
  // Whole notification (every record, every retry). Kept below the store's 5 s per-step webhook
  // timeout so the store sees our answer rather than its own timeout.
  std::chrono::milliseconds timeout{4000};
  std::chrono::milliseconds attempt_timeout{2000};  // one POST
  std::chrono::milliseconds retry_base{100};
  std::chrono::milliseconds retry_max{1000};
  // Webhook mode only.
  // The token every POST must carry as `Authorization: Bearer <token>` (--webhook-token-file,
  // INGESTOR_RELAY_WEBHOOK_TOKEN; the store's --notify-token-file). Empty: WebhookRelay::start()
  // refuses to start unless `insecure_no_webhook_token` (--insecure-no-webhook-token) says that
  // anybody who can reach the port may have notifications signed and relayed.
  std::string webhook_token;
  bool insecure_no_webhook_token = false;
  std::string bind = "127.0.0.1";
  uint16_t port = 0;
  size_t body_limit = 1024 * 1024;  // S3 notifications are at most 64 KiB; SNS adds a little
  size_t workers = 4;               // notifications relayed concurrently
  size_t queue_limit = 256;         // notifications waiting beyond the workers: more get 503
};

// The range of `timeout` and `attempt_timeout` in milliseconds, as flags (--timeout-ms,
// --attempt-timeout-ms) or in the environment: 1 ms to a day.
inline constexpr int64_t kMaxTimeoutMs = 86'400'000;

// Reads INGESTOR_TARGET_URL, INGESTOR_SECRET, INGESTOR_SECRET_SSM_PARAMETER,
// INGESTOR_RELAY_TIMEOUT_MS, INGESTOR_RELAY_ATTEMPT_TIMEOUT_MS into `o` for the fields that no
// flag set: empty strings, and timeouts set to zero by the caller (a zero timeout without its
// variable becomes the default). Flags win, also when they equal the default. kConfig, naming
// the variable, the value and the range, on a number that is not a whole number of milliseconds
// from 1 to kMaxTimeoutMs, and on an INGESTOR_SECRET that is set but empty (a secret that was
// meant to be given is never silently absent; leave the variable unset to relay unsigned). No I/O.
[[nodiscard]] Status apply_relay_env(RelayOptions& o);

// The error for a secret given empty (`--secret ''`, `INGESTOR_SECRET=`), naming `where`.
std::string empty_secret_message(std::string_view where);

// When `o.secret` is empty and `o.secret_ssm_parameter` is set, reads the secret from SSM
// Parameter Store (s3/ssm_client.h: endpoint, region and credentials from the AWS environment,
// bounded retries). Errors name the parameter and the cause; the relay must not start unsigned
// when the secret it was told to use cannot be read.
[[nodiscard]] Status load_relay_secret(RelayOptions& o);

struct RelayReport {
  size_t posted = 0;   // records the consumer accepted
  size_t skipped = 0;  // non-ObjectCreated records
  bool test_event = false;
};

struct RelayCounters {
  std::atomic<uint64_t> notifications{0};  // relay() calls
  std::atomic<uint64_t> posted{0};         // records accepted by the consumer
  std::atomic<uint64_t> retries{0};        // POST attempts after the first
  std::atomic<uint64_t> failed{0};         // relay() calls that failed
  std::atomic<uint64_t> invalid{0};        // bodies that could not be parsed (counted by callers)
  std::atomic<uint64_t> unauthorized{0};   // webhook POSTs without the right token (401)
  std::atomic<uint64_t> test_events{0};
};

class Forwarder {
 public:
  // Validates target_url (kConfig when empty or not an http(s) URL).
  [[nodiscard]] static Result<std::unique_ptr<Forwarder>> create(RelayOptions options);

  // POSTs every object of `n` in order; stops at the first that cannot be delivered by `deadline`.
  [[nodiscard]] Result<RelayReport> relay(const s3::ParsedNotification& n,
                                          Clock::time_point deadline);
  // One record, with retries until `deadline`.
  [[nodiscard]] Status post(const s3::ObjectNotice& notice, Clock::time_point deadline);

  void cancel();
  const RelayOptions& options() const { return options_; }
  RelayCounters& counters() { return counters_; }

 private:
  Forwarder(RelayOptions options, net::ParsedUrl url);
  // Waits `d` or until cancel(); false when cancelled.
  bool backoff_wait(std::chrono::milliseconds d);

  RelayOptions options_;
  net::ParsedUrl url_;
  net::HttpClient http_;
  RelayCounters counters_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;  // guarded by mu_
};

// "ObjectCreated" record -> wire notice.
s3::ObjectNotice to_notice(const s3::S3EventRecord& c);

}  // namespace ingestor::relay
