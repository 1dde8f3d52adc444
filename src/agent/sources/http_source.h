#pragma once
// HttpSource: Flume's `http` source (flume.md 3.3; org.apache.flume.source.http.HTTPSource).
//
// Wire behaviour, as Flume's:
//  - any path; GET (and HEAD) handled exactly like POST; TRACE and OPTIONS -> 403; PUT and
//    DELETE -> 405; other methods -> 501;
//  - one request = one batch = one transaction per required channel; 200 with an empty body only
//    after the commit (durable for a durable channel);
//  - the handler turns the request into events:
//      JSONHandler (default): `[{"headers":{"k":"v"},"body":"text"}, ...]`; the request charset
//        comes from the Content-Type `charset` (default UTF-8; only UTF-8, UTF-16 and UTF-32 are
//        accepted, as Flume); each body is the string encoded in that charset (Java's getBytes:
//        UTF-16 gives a BOM and big-endian), headers are UTF-8;
//      BLOBHandler: the whole request body is one event; query parameters are headers (first
//        value of each); `handler.mandatoryParameters` (comma list) must all be present;
//  - bad JSON or a top level that is not an array -> 400 "Bad request from client. ..."; an
//    unsupported charset, an empty body or a missing mandatory parameter -> 500 (EventReadFail+1);
//  - a full channel (or a batch larger than the channel's transactionCapacity) -> 503 with
//    `Retry-After: 1` (ChannelWriteFail+1); other failures while putting -> 500
//    (GenericProcessingFail+1).
// Better than Flume: requests are served by the IoPool's event loops; a full channel is retried on
// a timer for up to `keep_alive` (the channel's keep-alive, as Flume's blocking put waits) without
// holding a thread; a body over `maxRequestSize` gets 413 before it is read.
//
// Memory: at most `maxRequestSize` bytes of body per open connection, plus the decoded text and
// the events of the requests in flight (one per connection: no pipelining).
// Thread-safety: start()/stop() from one control thread (not an io thread of the pool); requests
// are handled on the pool's threads. Stop the source before the IoPool.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "core/config/spec.h"
#include "core/event.h"
#include "core/source.h"
#include "net/io_pool.h"

namespace ingestor {

// Keys: bind, port, handler, handler.*, maxRequestSize (new), ssl/keystore/... (accepted, ssl=true
// is a configuration error until HTTPS is supported), Jetty's QueuedThreadPool.*,
// HttpConfiguration.* (sendServerVersion honoured), SslContextFactory.*, ServerConnector.*
// (idleTimeout honoured).
const ComponentSpec& http_source_spec();

inline constexpr std::string_view kJsonHandlerClass = "org.apache.flume.source.http.JSONHandler";
inline constexpr std::string_view kBlobHandlerClass = "org.apache.flume.source.http.BLOBHandler";

enum class HttpSourceHandler { kJson, kBlob };

struct HttpSourceOptions {
  std::string bind = "0.0.0.0";
  uint16_t port = 0;  // 0: any free port (see bound_port())
  HttpSourceHandler handler = HttpSourceHandler::kJson;
  std::vector<std::string> mandatory_parameters;  // BLOBHandler: handler.mandatoryParameters
  size_t max_request_size = 16 * 1024 * 1024;     // maxRequestSize: larger bodies get 413
  // How long a full channel is retried before 503 (the channel's keep-alive; Flume's default 3 s).
  std::chrono::milliseconds keep_alive{3000};
  // Jetty's ServerConnector idleTimeout (default 30 s).
  std::chrono::milliseconds idle_timeout{30000};
  bool send_server_version = true;  // HttpConfiguration.sendServerVersion
};

// The handlers as pure functions (no sockets). An Errc::kInvalidArgument error means 400 (Flume's
// HTTPBadRequestException), any other error 500; the message is the detail after Flume's prefix.
//  - `content_type`: the Content-Type header, or empty when absent.
[[nodiscard]] Result<Batch> json_handler_events(std::string_view content_type,
                                                std::string_view body);
[[nodiscard]] Result<Batch> blob_handler_events(std::string_view query, std::string_view body,
                                                const std::vector<std::string>& mandatory);

class HttpSource final : public Source {
 public:
  HttpSource(std::string name, std::shared_ptr<ChannelProcessor> processor, net::IoPool& pool,
             HttpSourceOptions options);
  ~HttpSource() override;  // stops

  // Reads validated settings (see http_source_spec()). Errors: unsupported handler, ssl=true.
  [[nodiscard]] static Result<HttpSourceOptions> options_from(const Settings& s);

  // Binds and listens. Error: "cannot listen on 0.0.0.0:8080: Address already in use".
  Status start() override;
  // Closes the listener and every connection, then waits (up to keep_alive + 5 s) for the
  // requests whose commit is in flight. Idempotent.
  void stop() override;
  int bound_port() const override;

  struct Impl;  // defined in the .cc

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace ingestor
