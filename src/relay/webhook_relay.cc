#include "relay/webhook_relay.h"

#include <fmt/format.h>

#include "base/log.h"
#include "net/bearer_token.h"

namespace ingestor::relay {

namespace {

net::HttpResponse json_response(int status, std::string body) {
  net::HttpResponse r;
  r.status = status;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = std::move(body);
  return r;
}

std::string json_quote(std::string_view s) {
  std::string r = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      r += '\\';
      r += static_cast<char>(c);
    } else if (c < 0x20) {
      r += fmt::format("\\u{:04x}", c);
    } else {
      r += static_cast<char>(c);
    }
  }
  return r + "\"";
}

net::HttpResponse error_response(int status, std::string_view message) {
  return json_response(status, "{\"error\":" + json_quote(message) + "}");
}

}  // namespace

WebhookRelay::WebhookRelay(net::IoPool& pool, RelayOptions options)
    : pool_(pool), options_(std::move(options)) {}

WebhookRelay::~WebhookRelay() { stop(); }

Status WebhookRelay::start() {
  if (options_.webhook_token.empty() && !options_.insecure_no_webhook_token)
    return make_error(
        Errc::kConfig,
        "no webhook token: every POST must carry `Authorization: Bearer <token>`, else anybody "
        "who reaches the port has notifications signed and relayed to the consumer. Put a token "
        "(e.g. `openssl rand -hex 32`) in a file for --webhook-token-file or in "
        "INGESTOR_RELAY_WEBHOOK_TOKEN, and the same in the store's --notify-token-file or "
        "INGESTOR_NOTIFY_TOKEN (MinIO: the webhook target's auth_token); or accept any POST with "
        "--insecure-no-webhook-token");
  if (!options_.webhook_token.empty()) {
    if (auto why = net::bearer_token_problem(options_.webhook_token); !why.empty())
      return make_error(Errc::kConfig, "the webhook token " + why);
  }
  auto fwd = Forwarder::create(options_);
  if (!fwd) return fwd.error();
  forwarder_ = std::move(*fwd);
  net::HttpServerOptions so;
  so.bind = options_.bind;
  so.port = options_.port;
  so.body_limit = options_.body_limit;
  server_ = std::make_unique<net::HttpServer>(pool_, so,
                                              [this](net::HttpRequest&& req, net::Respond respond) {
                                                handle(std::move(req), std::move(respond));
                                              });
  {
    std::lock_guard lk(mu_);
    stopping_ = false;
  }
  for (size_t i = 0; i < std::max<size_t>(options_.workers, 1); ++i)
    workers_.emplace_back([this] { worker(); });
  if (auto st = server_->start(); !st) {
    stop();
    return st;
  }
  log::info("relay: listening on {}:{}, relaying to {}{}{}", options_.bind, server_->port(),
            options_.target_url, options_.secret.empty() ? " (unsigned)" : " (signed)",
            options_.webhook_token.empty()
                ? "; --insecure-no-webhook-token: POSTs are accepted without a token"
                : "; POSTs need the webhook token");
  return {};
}

void WebhookRelay::stop() {
  if (server_) server_->stop();
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (forwarder_) forwarder_->cancel();
  for (auto& t : workers_) t.join();
  workers_.clear();
  // Anything still queued is answered so senders redeliver.
  std::deque<Job> left;
  {
    std::lock_guard lk(mu_);
    left.swap(queue_);
  }
  for (auto& j : left) j.respond(error_response(503, "relay stopping"));
}

uint16_t WebhookRelay::port() const { return server_ ? server_->port() : 0; }

void WebhookRelay::handle(net::HttpRequest&& req, net::Respond respond) {
  if (req.method == "GET" || req.method == "HEAD") {
    if (req.path == "/healthz") return respond(net::HttpResponse::text(200, "ok\n"));
    if (req.path == "/metrics") return respond(json_response(200, metrics_json()));
    if (req.path == "/prometheus")
      return respond(net::HttpResponse::text(200, metrics_prometheus(),
                                             "text/plain; version=0.0.4; charset=utf-8"));
    return respond(error_response(404, "not found; POST notifications to any path"));
  }
  if (req.method != "POST" && req.method != "PUT") {
    auto r = error_response(405, "method not allowed");
    r.headers.push_back({"Allow", "POST, GET"});
    return respond(std::move(r));
  }
  if (!options_.webhook_token.empty() &&
      !net::bearer_authorized(req.header("Authorization"), options_.webhook_token)) {
    forwarder_->counters().unauthorized++;
    if (unauthorized_log_.allow()) {
      const uint64_t more = unauthorized_log_.take_suppressed();
      // Neither the presented value nor the target: a sender that puts the token in its URL
      // must not have it written to the log.
      log::warn("relay: refused a POST from {}: {}{}", log::escape(req.remote_address),
                req.header("Authorization") ? "wrong webhook token" : "no webhook token",
                more ? fmt::format(" ({} more refused since the last line)", more) : "");
    }
    auto r = error_response(401, "a webhook token is required: Authorization: Bearer <token>");
    r.headers.push_back({"WWW-Authenticate", "Bearer realm=\"ingestor-relay\""});
    return respond(std::move(r));
  }
  auto parsed = s3::parse_s3_notification(req.body);
  if (!parsed) {
    forwarder_->counters().invalid++;
    if (invalid_log_.allow()) {
      const uint64_t more = invalid_log_.take_suppressed();
      log::warn("relay: rejected a notification from {}: {}{}", log::escape(req.remote_address),
                log::escape(parsed.error().message),
                more ? fmt::format(" ({} more rejected since the last line)", more) : "");
    }
    return respond(error_response(400, parsed.error().message));
  }
  if (parsed->objects.empty()) {  // test event, or only non-ObjectCreated records
    auto rep = forwarder_->relay(*parsed, Clock::now());
    return respond(
        json_response(200, fmt::format("{{\"relayed\":0,\"skipped\":{},\"testEvent\":{}}}",
                                       rep->skipped, rep->test_event ? "true" : "false")));
  }
  std::unique_lock lk(mu_);
  if (stopping_) {
    lk.unlock();
    return respond(error_response(503, "relay stopping"));
  }
  if (queue_.size() >= options_.queue_limit) {
    lk.unlock();
    auto r = error_response(503, "too many notifications waiting; retry later");
    r.headers.push_back({"Retry-After", "1"});
    return respond(std::move(r));
  }
  queue_.push_back(Job{std::move(*parsed), std::move(respond), Clock::now() + options_.timeout});
  cv_.notify_one();
}

void WebhookRelay::worker() {
  for (;;) {
    Job job;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    auto rep = forwarder_->relay(job.notification, job.deadline);
    if (rep) {
      job.respond(
          json_response(200, fmt::format("{{\"relayed\":{},\"skipped\":{},\"testEvent\":false}}",
                                         rep->posted, rep->skipped)));
      continue;
    }
    const Error& e = rep.error();
    if (failed_log_.allow()) {
      const uint64_t more = failed_log_.take_suppressed();
      log::warn("relay: notification not relayed: {}{}", log::escape(e.message),
                more ? fmt::format(" ({} more not relayed since the last line)", more) : "");
    }
    bool rejected = e.code == Errc::kInvalidArgument || e.code == Errc::kAuth;
    auto r = error_response(rejected ? 502 : 503, e.message);
    if (!rejected) r.headers.push_back({"Retry-After", "1"});
    job.respond(std::move(r));
  }
}

std::string WebhookRelay::metrics_json() const {
  if (!forwarder_) return "{}";
  auto& c = forwarder_->counters();
  return fmt::format(
      "{{\"relay\":{{\"notifications\":{},\"posted\":{},\"retries\":{},\"failed\":{},"
      "\"invalid\":{},\"unauthorized\":{},\"testEvents\":{}}}}}",
      c.notifications.load(), c.posted.load(), c.retries.load(), c.failed.load(), c.invalid.load(),
      c.unauthorized.load(), c.test_events.load());
}

std::string WebhookRelay::metrics_prometheus() const {
  if (!forwarder_) return "";
  auto& c = forwarder_->counters();
  std::string out;
  auto counter = [&](const char* name, uint64_t v, const char* help) {
    out += fmt::format(
        "# HELP ingestor_relay_{0} {2}\n# TYPE ingestor_relay_{0} counter\n"
        "ingestor_relay_{0} {1}\n",
        name, v, help);
  };
  counter("notifications_total", c.notifications.load(), "Notifications relayed or attempted");
  counter("posted_total", c.posted.load(), "Records accepted by the consumer");
  counter("retries_total", c.retries.load(), "POST attempts after the first");
  counter("failed_total", c.failed.load(), "Notifications not relayed (sender redelivers)");
  counter("invalid_total", c.invalid.load(), "Bodies rejected with 400");
  counter("unauthorized_total", c.unauthorized.load(),
          "Webhook POSTs refused with 401 (no token or the wrong one)");
  counter("test_events_total", c.test_events.load(), "s3:TestEvent messages acknowledged");
  return out;
}

}  // namespace ingestor::relay
