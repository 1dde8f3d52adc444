#include "agent/monitoring.h"

#include <algorithm>
#include <cctype>

#include "core/metrics_render.h"

namespace ingestor {

namespace {
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}
}  // namespace

MonitoringServer::MonitoringServer(net::IoPool& pool, std::string bind, uint16_t port,
                                   ComponentList list)
    : list_(std::move(list)),
      server_(pool, net::HttpServerOptions{.bind = std::move(bind), .port = port,
                                           .body_limit = 64 * 1024},
              [this](net::HttpRequest&& req, net::Respond respond) {
                if (req.method == "TRACE" || req.method == "OPTIONS")
                  return respond(net::HttpResponse::text(403, "Forbidden\n"));
                std::string path = lower(req.path);
                if (path == "/metrics") {
                  return respond(net::HttpResponse::text(200, render_flume_json(list_()),
                                                         "application/json;charset=utf-8"));
                }
                if (path == "/prometheus") {
                  return respond(net::HttpResponse::text(200, render_prometheus(list_()),
                                                         "text/plain; version=0.0.4"));
                }
                if (path == "/") {
                  return respond(net::HttpResponse::text(
                      200, "<html><body><a href='/metrics'>Metrics</a></body></html>\n",
                      "text/html;charset=utf-8"));
                }
                respond(net::HttpResponse::text(404, "Not Found\n"));
              }) {}

Status MonitoringServer::start() { return server_.start(); }
void MonitoringServer::stop() { server_.stop(); }

}  // namespace ingestor
