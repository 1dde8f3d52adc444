#pragma once
// LambdaRuntime: the relay as an AWS Lambda custom runtime (aws.md 4.1), the `bootstrap` of a
// provided.al2023 function. The loop:
//
//   GET  /2018-06-01/runtime/invocation/next         (no client timeout: Lambda freezes us here)
//   relay the event (Forwarder) until min(Lambda-Runtime-Deadline-Ms - deadline_margin,
//                                         now + relay.timeout)
//   POST /2018-06-01/runtime/invocation/{id}/response {"relayed":N,"skipped":M,"testEvent":b}
//     or /2018-06-01/runtime/invocation/{id}/error    {"errorMessage","errorType","stackTrace":[]}
//        with Lambda-Runtime-Function-Error-Type: errorType, so that Lambda retries the event
//        (async invocations: 2 more tries, then the on-failure destination).
//
// errorType: "Relay.InvalidEvent" (not an S3 notification), "Relay.Rejected" (the consumer
// answered 4xx), "Relay.DeliveryFailed" (unreachable / 5xx until the deadline).
// A configuration error (no or bad target URL, a secret that cannot be read from SSM) is POSTed
// to /runtime/init/error ("Runtime.ConfigError") before run() returns 1. A 500 from the Runtime
// API is a container error: run() returns 1 at once. The trace id header is exported as
// _X_AMZN_TRACE_ID.
// Thread-safety: run() on one thread; stop() from any thread ends the loop after the current
// invocation (a blocked GET /next is not interrupted: Lambda kills the process anyway).

#include <atomic>
#include <chrono>
#include <string>

#include "relay/forwarder.h"

namespace ingestor::relay {

struct LambdaOptions {
  std::string runtime_api;  // AWS_LAMBDA_RUNTIME_API: "127.0.0.1:9001"
  RelayOptions relay;
  std::chrono::milliseconds deadline_margin{300};  // answer before Lambda's own deadline
  int next_attempts = 3;                           // transport errors on /next before giving up
  // A configuration error found before run() (e.g. a bad INGESTOR_RELAY_TIMEOUT_MS): run()
  // reports it to /runtime/init/error and returns 1.
  std::string config_error;
};

class LambdaRuntime {
 public:
  explicit LambdaRuntime(LambdaOptions options);
  // Returns the process exit code: 0 after stop(), 1 on an init or container error.
  int run();
  void stop() { stopping_ = true; }

 private:
  [[nodiscard]] Status post_runtime(const std::string& path, const std::string& body,
                                    const std::string& error_type);
  void init_error(const std::string& message);

  LambdaOptions options_;
  std::string base_;  // "http://host:port/2018-06-01"
  net::HttpClient http_;
  std::atomic<bool> stopping_{false};
};

}  // namespace ingestor::relay
