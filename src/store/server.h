#pragma once
// StoreServer: the HTTP(S)/1.1 front end of `ingestor store` on Boost.Beast, one coroutine per
// connection on net::IoPool's contexts. Request bodies are streamed (256 KiB buffer per
// connection) into the operation's BodyPipeline, never held whole; one of known length that the
// pipeline takes in place (BodyPipeline::takes_in_place) is read from the socket straight into
// the pipeline's blocks instead; `Expect: 100-continue` is
// answered once the request header is authenticated and routed (an error is answered instead of
// 100 and the connection closed); keep-alive; HTTPS when a certificate and key are given.
// Operations that touch the disk or SQLite run on a separate blocking thread pool so that fsync
// and group-commit waits never stall an io thread.
// GetObject bodies from files go to a plain HTTP socket by sendfile(2), with no copy in this
// process; over HTTPS they are read and written in 256 KiB pieces.
// Memory per connection (issue 16): nothing but the socket, the coroutine and the parser while it
// waits for a request; the header is read into a buffer that grows as it arrives (<= 64 KiB); a
// request with a body read through the parser gets a 64 KiB socket read buffer and a body buffer of
// up to 256 KiB, a GET response streamed over HTTPS a 256 KiB read buffer, each released when its
// request is done (an idle keep-alive connection holds none of them).
// Limits: at most `max_connections` open connections (more are closed at once and counted); a
// request header must arrive whole within `header_timeout` of its first byte (of the connection's
// start for the first request); between requests a connection may idle for `idle_timeout`. When
// accept(2) fails for want of file descriptors (EMFILE, ENFILE) or memory, the accept loop waits
// 100 ms, doubling up to 1 s, instead of spinning; failures are counted and logged at most once a
// second. A response header with a control character is never written: the response becomes a
// 500 (last line of defence against response splitting; S3Api refuses such inputs with 400).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "store/s3_api.h"
#include "store/store_metrics.h"

namespace ingestor::store {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;              // 0: any free port
  std::string tls_cert, tls_key;  // PEM files; both empty for plain HTTP
  size_t io_threads = 0;          // 0: one per core
  size_t blocking_threads = 32;   // concurrent disk/SQLite operations
  std::chrono::seconds idle_timeout{120};
  std::chrono::seconds header_timeout{30};
  size_t max_connections = 4096;
};

class StoreServer {
 public:
  StoreServer(S3Api& api, ServerOptions options);
  ~StoreServer();
  StoreServer(const StoreServer&) = delete;
  StoreServer& operator=(const StoreServer&) = delete;

  // Binds, listens and starts serving. Error names the address ("cannot listen on ...").
  [[nodiscard]] Status start();
  // Stops accepting, abandons open connections, waits for running operations. Idempotent.
  void stop();
  uint16_t port() const;
  // Live counters, for StoreMetrics::set_connections.
  const ConnectionCounters& connection_counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ingestor::store
