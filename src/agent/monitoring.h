#pragma once
// MonitoringServer: Flume's HTTP monitoring (-Dflume.monitoring.type=http
// -Dflume.monitoring.port=N) and the live status page:
//   GET /metrics     (path matched ignoring case) Flume's JSON
//   GET /prometheus  the same counters as Prometheus text
//   GET /topology    how the agent is wired (agent/topology.h)
//   GET /roles       under `ingestor up`: the store's, relay's and consumer's metrics as one JSON
//                    object {"store":{...},"relay":{...},"consumer":{...}}; 404 otherwise
//   GET /            the status page (index.html), and its other files by name
//                    (agent/status_page.h; embedded at build time)
// TRACE and OPTIONS 403; anything else 404.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "net/http_server.h"

namespace ingestor {

class MonitoringServer {
 public:
  // Other roles in the same process: their names (listed in /topology's "roles") and the JSON of
  // GET /roles. Empty: no /roles.
  struct Roles {
    std::vector<std::string> names;
    std::function<std::string()> json;
  };
  // `agent` must outlive the server.
  MonitoringServer(net::IoPool& pool, std::string bind, uint16_t port, const Agent& agent,
                   Roles roles = {});
  [[nodiscard]] Status start();
  void stop();
  uint16_t port() const { return server_.port(); }

 private:
  void handle(const net::HttpRequest& req, const net::Respond& respond);

  const Agent& agent_;
  Roles roles_;
  AgentTopology topology_;  // the agent's, with roles_.names
  net::HttpServer server_;
};

}  // namespace ingestor
