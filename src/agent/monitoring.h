#pragma once
// MonitoringServer: Flume's HTTP monitoring (-Dflume.monitoring.type=http
// -Dflume.monitoring.port=N): GET /metrics (path matched ignoring case) gives Flume's JSON,
// GET /prometheus the same counters as Prometheus text, GET / a link; TRACE and OPTIONS 403;
// anything else 404.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/component.h"
#include "net/http_server.h"

namespace ingestor {

class MonitoringServer {
 public:
  using ComponentList = std::function<std::vector<const Component*>()>;
  MonitoringServer(net::IoPool& pool, std::string bind, uint16_t port, ComponentList list);
  [[nodiscard]] Status start();
  void stop();
  uint16_t port() const { return server_.port(); }

 private:
  ComponentList list_;
  net::HttpServer server_;
};

}  // namespace ingestor
