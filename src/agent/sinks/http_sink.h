#pragma once
// HttpSink: Flume's `http` sink (flume-components.md 6.3): one event per take transaction, its
// body POSTed to `endpoint` with `Content-Type: contentTypeHeader` and `Accept: acceptHeader`
// (headers are not sent), on net::HttpClient (keep-alive connections, connectTimeout for the
// connection, requestTimeout for the exchange).
// What a response status does follows Flume's rules: `backoff.<code>`, `rollback.<code>` and
// `incrementMetrics.<code>` with `<code>` an exact status (`503`) or a class with upper-case XX
// (`5XX`); exact beats class beats `defaultBackoff` / `defaultRollback` /
// `defaultIncrementMetrics` (true / true / false). With those defaults every response, 200
// included, rolls the event back and backs off, so it is sent again for ever: kept for
// compatibility, with a warning at start. A transport failure (refused, timeout) rolls back,
// counts EventWriteFail and backs off. An empty channel or an empty body commits and backs off.
// Better than Flume: lower-case classes (`2xx`, which never match in Flume) draw a warning, and
// the empty-event warning is not logged on every poll.
// Thread-safety: used by its runner thread only.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/log.h"
#include "core/config/spec.h"
#include "core/sink.h"
#include "net/http_client.h"

namespace ingestor {

const ComponentSpec& http_sink_spec();

// One of backoff / rollback / incrementMetrics: a default and the per-code and per-class rules.
struct StatusRule {
  bool default_value = false;
  std::map<int, bool> exact;    // 503 -> true
  std::map<int, bool> classes;  // 5 (for 5XX) -> true
  bool applies(int status) const;
};

struct HttpSinkOptions {
  std::string endpoint;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{5000};
  std::string content_type = "text/plain";
  std::string accept = "text/plain";
  StatusRule backoff{true, {}, {}}, rollback{true, {}, {}}, increment_metrics{false, {}, {}};
};

// Errors as Flume's (with the key): an invalid endpoint, non-positive timeouts. Warnings (keys
// that can never match, the resend-for-ever defaults) go to `warnings`.
[[nodiscard]] Result<HttpSinkOptions> http_sink_options(const Settings& s,
                                                        std::vector<std::string>* warnings);

class HttpSink final : public Sink {
 public:
  HttpSink(std::string name, HttpSinkOptions options);
  ~HttpSink() override;
  Status start() override;
  void stop() override;
  size_t batch_size() const override { return 1; }
  Result<SinkStatus> process() override;

 private:
  HttpSinkOptions opts_;
  net::ParsedUrl url_;
  std::unique_ptr<net::HttpClient> client_;
  log::Throttle empty_log_, status_log_;
};

}  // namespace ingestor
