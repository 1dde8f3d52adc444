#include "agent/monitoring.h"

#include <algorithm>
#include <cctype>

#include "agent/status_page.h"
#include "core/metrics_render.h"

namespace ingestor {

namespace {
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

net::HttpResponse json_response(std::string body) {
  auto r = net::HttpResponse::text(200, std::move(body), "application/json;charset=utf-8");
  r.headers.push_back({"Cache-Control", "no-store"});
  return r;
}
}  // namespace

MonitoringServer::MonitoringServer(net::IoPool& pool, std::string bind, uint16_t port,
                                   const Agent& agent, Roles roles)
    : agent_(agent),
      roles_(std::move(roles)),
      topology_(agent.topology()),
      server_(
          pool,
          net::HttpServerOptions{.bind = std::move(bind), .port = port, .body_limit = 64 * 1024},
          [this](net::HttpRequest&& req, net::Respond respond) { handle(req, respond); }) {
  topology_.roles = roles_.names;
}

void MonitoringServer::handle(const net::HttpRequest& req, const net::Respond& respond) {
  if (req.method == "TRACE" || req.method == "OPTIONS")
    return respond(net::HttpResponse::text(403, "Forbidden\n"));
  const std::string path = lower(req.path);
  if (path == "/metrics") return respond(json_response(render_flume_json(agent_.components())));
  if (path == "/prometheus") {
    return respond(net::HttpResponse::text(200, render_prometheus(agent_.components()),
                                           "text/plain; version=0.0.4"));
  }
  if (path == "/topology") return respond(json_response(render_topology_json(topology_)));
  if (path == "/roles" && roles_.json) return respond(json_response(roles_.json()));
  if (req.method == "GET" || req.method == "HEAD") {
    if (const StaticFile* f = find_status_page_file(req.path)) {
      auto r = net::HttpResponse::text(200, std::string(f->body), std::string(f->content_type));
      // The page and its files change only with the binary.
      r.headers.push_back({"Cache-Control", "no-cache"});
      r.headers.push_back({"X-Content-Type-Options", "nosniff"});
      r.headers.push_back({"Content-Security-Policy",
                           "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; frame-ancestors 'none'"});
      return respond(std::move(r));
    }
  }
  respond(net::HttpResponse::text(404, "Not Found\n"));
}

Status MonitoringServer::start() { return server_.start(); }
void MonitoringServer::stop() { server_.stop(); }

}  // namespace ingestor
