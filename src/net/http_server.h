#pragma once
// HttpServer: a small HTTP/1.1 server on Boost.Beast for the agent's HTTP source, the monitoring
// endpoint, the relay's webhook and the consumer. Handlers see plain structs, never Beast types,
// so only this module's .cc files include Beast.
//
// Behaviour:
//  - keep-alive connections (HTTP/1.1 default, HTTP/1.0 with `Connection: keep-alive`);
//  - `Expect: 100-continue` answered with `100 Continue` before the body is read;
//  - a body larger than `body_limit` is answered `413 Payload Too Large` and the connection closed;
//  - a malformed request is answered `400 Bad Request` and the connection closed;
//  - an idle connection is closed after `idle_timeout`;
//  - the handler may respond later, from any thread (e.g. after an asynchronous channel commit);
//    the connection reads nothing more until it has responded (no pipelining).
// Connections are spread over the IoPool's contexts.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "net/io_pool.h"

namespace ingestor::net {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // raw request-target ("/a/b?x=1")
  std::string path;    // target before '?', not decoded
  std::string query;   // after '?', not decoded
  HeaderList headers;  // as received, in order
  std::string body;
  std::string remote_address;  // peer IP
  unsigned version = 11;       // 10 or 11

  // Case-insensitive lookup of the first header with this name.
  const std::string* header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  HeaderList headers;  // Content-Length is set by the server
  std::string body;

  static HttpResponse text(int status, std::string body,
                           std::string content_type = "text/plain; charset=utf-8");
};

using Respond = std::function<void(HttpResponse)>;  // call exactly once, from any thread
using HttpHandler = std::function<void(HttpRequest&&, Respond)>;

struct HttpServerOptions {
  std::string bind = "0.0.0.0";
  uint16_t port = 0;  // 0: any free port (see HttpServer::port())
  size_t body_limit = 16 * 1024 * 1024;
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // Sent as the `Server` header when not empty.
  std::string server_name = "ingestor";
};

class HttpServer {
 public:
  HttpServer(IoPool& pool, HttpServerOptions options, HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting. Error: "cannot listen on 0.0.0.0:8080: Address already in use".
  [[nodiscard]] Status start();
  // Stops accepting and closes every connection. Idempotent; safe from any thread but the pool's.
  void stop();
  // The bound port (after start()).
  uint16_t port() const;
  // Connections open now.
  size_t open_connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ingestor::net
