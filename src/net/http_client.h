#pragma once
// HttpClient: a synchronous HTTP/1.1 client on Boost.Beast for HTTP and HTTPS, used by the S3
// client (src/s3), the relay and the consumer (plain JSON POSTs). Callers see plain structs, never
// Beast or Asio types, so only src/net/*.cc include them.
//
// Behaviour:
//  - HTTPS through OpenSSL (asio::ssl): peers are verified by default against the system trust
//    store plus an optional CA file, with RFC 6125 host name checks and SNI;
//  - a keep-alive connection pool per (scheme, host, port): a request borrows an idle connection or
//    opens a new one and returns it when the response allowed keep-alive. A reused connection that
//    fails before any response byte arrived (the server closed it while idle) is retried once on a
//    fresh connection; request bodies are always replayable (memory or file range);
//  - per-request deadlines: `connect_timeout` for resolve + connect + TLS handshake, `timeout` for
//    the whole exchange; both end the call with Errc::kTimeout;
//  - request bodies from memory (the caller's bytes, not copied) or streamed from a file range with
//    pread in `io_chunk` pieces: a whole object is never loaded in memory;
//  - response bodies of 2xx responses go to memory (bounded by `max_body`, else Errc::kTooLarge) or
//    to a caller's sink (streamed, e.g. to a file); bodies of other statuses always go to memory,
//    bounded by `max_error_body`, so callers can parse error documents.
//
// Errors: transport failures are Errc::kIo ("connect 127.0.0.1:9: Connection refused"), deadlines
// Errc::kTimeout, TLS verification failures Errc::kAuth, a bad URL Errc::kInvalidArgument. Any HTTP
// status is a successful Result: classifying statuses is the caller's business.
//
// Thread-safety: HttpClient is safe to call from many threads at once; each call runs its I/O on
// the calling thread (each connection owns a private io_context), so there is no background
// thread. Memory: per call one I/O buffer of `io_chunk` bytes plus the bounded response body; the
// pool holds at most `max_idle_per_host` idle connections per host.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace ingestor::net {

// The same alias as in http_server.h (not included here, so that this header stays free of Asio).
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Where a request goes: scheme, host and port. Comparable, used as the pool key.
struct Endpoint {
  bool tls = false;
  std::string host;  // name or IP literal, without brackets for IPv6
  uint16_t port = 80;

  // "host" or "host:port" when the port is not the scheme's default (the Host header value).
  std::string host_header() const;
  // "http://host:port".
  std::string origin() const;
  bool operator==(const Endpoint&) const = default;
};

struct ParsedUrl {
  Endpoint endpoint;
  std::string target;  // path and query exactly as in the URL ("/" when empty)
};

// Parses "http://host[:port]/path?query" or "https://...". No user info, no fragment.
[[nodiscard]] Result<ParsedUrl> parse_url(std::string_view url);

// A byte range of a file, read with pread when the request is written (and again if it is retried).
struct FileRange {
  std::string path;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// Called with consecutive pieces of a 2xx response body. A non-ok Status aborts the exchange and
// is returned by request(); the connection is then closed.
using BodySink = std::function<Status(std::string_view)>;
struct ClientResponse;
// Called once with the status and headers of a 2xx response that goes to a sink, before the
// first piece of its body; a non-ok Status aborts the exchange as a sink's does.
using HeadersHook = std::function<Status(const ClientResponse&)>;

struct ClientRequest {
  std::string method = "GET";
  Endpoint endpoint;
  std::string target = "/";  // origin-form, already percent-encoded
  // Sent as given, in order. Host is added (endpoint.host_header()) unless present; User-Agent and
  // Content-Length are added unless present. Do not set Transfer-Encoding.
  HeaderList headers;
  // The body: memory (not owned: must outlive the call) or a file range; at most one of them.
  std::string_view body;
  std::optional<FileRange> body_file;
  // Where a 2xx body goes: nullptr means ClientResponse::body.
  BodySink sink;
  HeadersHook on_headers;  // only with a sink
  // Overrides of the client's defaults for this call.
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<size_t> max_body;
};

struct ClientResponse {
  int status = 0;
  HeaderList headers;
  std::string body;         // empty when a sink took the body
  uint64_t body_bytes = 0;  // bytes received (given to the sink or stored)
  bool reused_connection = false;

  // Case-insensitive lookup of the first header with this name.
  const std::string* header(std::string_view name) const;
};

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};  // whole exchange, per call
  size_t max_body = 64 * 1024 * 1024;                            // 2xx bodies kept in memory
  size_t max_error_body = 1024 * 1024;                           // non-2xx bodies
  size_t max_idle_per_host = 16;
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(30)};  // older idle ones are dropped
  size_t io_chunk = 256 * 1024;  // file read and socket read granularity
  // TLS: verify the server certificate and host name (never turn off outside tests).
  bool verify_peer = true;
  // Extra trusted CA certificates (PEM file), in addition to the system store.
  std::string ca_file;
  std::string user_agent = "ingestor/0.1";
};

// The CA bundle to load besides OpenSSL's defaults: a distribution's bundle when OpenSSL's built-in
// certificate file and directory do not exist on this system (the static binary on Amazon Linux)
// and neither SSL_CERT_FILE nor SSL_CERT_DIR is set; nullptr otherwise.
const char* fallback_ca_bundle();

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Creates the TLS context (loads the trust store and ca_file). Fails with Errc::kConfig when
  // the CA file cannot be loaded. Called by request() on first use if not called before.
  [[nodiscard]] Status init();

  // Performs one exchange. Blocks the calling thread until the response is complete, an error or
  // the deadline. Safe to call concurrently.
  [[nodiscard]] Result<ClientResponse> request(const ClientRequest& req);

  // Convenience: a request to an absolute URL with a memory body.
  [[nodiscard]] Result<ClientResponse> request(std::string method, std::string_view url,
                                               HeaderList headers = {}, std::string_view body = {});

  // Idle connections in the pool now (all hosts).
  size_t idle_connections() const;
  // Connections opened since construction (for tests of the pool).
  uint64_t connections_opened() const;
  // Closes every idle connection.
  void clear_idle();

  const HttpClientOptions& options() const { return options_; }

 private:
  struct Impl;
  HttpClientOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ingestor::net
