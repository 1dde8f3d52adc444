#pragma once
// Tests only: a net::HttpServer on 127.0.0.1 (port 0) whose every request is answered by a
// handler, called under `mu` (tests take `mu` to read what the handler recorded). Stops in its
// destructor: declare it after the members its handler uses.

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "net/http_server.h"
#include "net/io_pool.h"

namespace ingestor::net {

struct LoopbackServer {
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  explicit LoopbackServer(Handler h) : pool(1), handler(std::move(h)) {
    pool.start();
    HttpServerOptions o;
    o.bind = "127.0.0.1";
    server = std::make_unique<HttpServer>(pool, o, [this](HttpRequest&& req, Respond respond) {
      std::lock_guard lock(mu);
      respond(handler(req));
    });
    EXPECT_TRUE(server->start());
  }
  ~LoopbackServer() {
    server->stop();
    pool.stop();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }

  IoPool pool;
  std::mutex mu;
  Handler handler;
  std::unique_ptr<HttpServer> server;
};

}  // namespace ingestor::net
