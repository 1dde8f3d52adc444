#include "relay/lambda_runtime.h"

#include <stdlib.h>

#include <boost/json.hpp>

#include "base/log.h"

namespace ingestor::relay {

namespace json = boost::json;

namespace {

std::string error_body(const std::string& message, const std::string& type) {
  json::object o;
  o["errorMessage"] = message;
  o["errorType"] = type;
  o["stackTrace"] = json::array();
  return json::serialize(o);
}

net::HttpClientOptions runtime_http_options() {
  net::HttpClientOptions h;
  h.connect_timeout = std::chrono::seconds(10);
  h.timeout = std::chrono::hours(24);  // /next blocks while the sandbox is frozen
  h.max_body = 6 * 1024 * 1024 + 1024;
  return h;
}

}  // namespace

LambdaRuntime::LambdaRuntime(LambdaOptions options)
    : options_(std::move(options)),
      base_("http://" + options_.runtime_api + "/2018-06-01"),
      http_(runtime_http_options()) {}

Status LambdaRuntime::post_runtime(const std::string& path, const std::string& body,
                                   const std::string& error_type) {
  net::HeaderList headers{{"Content-Type", "application/json"}};
  if (!error_type.empty()) headers.push_back({"Lambda-Runtime-Function-Error-Type", error_type});
  auto r = http_.request("POST", base_ + path, headers, body);
  if (!r) return r.error();
  if (r->status >= 500)
    return make_error(Errc::kUnavailable,
                      "runtime API " + path + ": container error " + std::to_string(r->status));
  if (r->status < 200 || r->status >= 300)
    log::warn("lambda: runtime API {} answered {}: {}", path, r->status, log::escape(r->body, 300));
  return {};
}

void LambdaRuntime::init_error(const std::string& message) {
  log::error("lambda: init error: {}", log::escape(message));
  auto st = post_runtime("/runtime/init/error", error_body(message, "Runtime.ConfigError"),
                         "Runtime.ConfigError");
  if (!st) log::error("lambda: cannot report the init error: {}", log::escape(st.error().message));
}

int LambdaRuntime::run() {
  if (options_.runtime_api.empty()) {
    log::error("lambda: AWS_LAMBDA_RUNTIME_API is not set");
    return 1;
  }
  if (!options_.config_error.empty()) {
    init_error(options_.config_error);
    return 1;
  }
  auto fwd = Forwarder::create(options_.relay);
  if (!fwd) {
    init_error(fwd.error().message);
    return 1;
  }
  Forwarder& forwarder = **fwd;
  log::info("lambda: runtime API {}, relaying to {}{}", options_.runtime_api,
            options_.relay.target_url, options_.relay.secret.empty() ? " (unsigned)" : " (signed)");
  int transport_failures = 0;
  while (!stopping_) {
    auto next = http_.request("GET", base_ + "/runtime/invocation/next");
    if (!next) {
      if (++transport_failures >= options_.next_attempts) {
        log::error("lambda: GET /next failed {} times: {}", transport_failures,
                   log::escape(next.error().message));
        return 1;
      }
      continue;
    }
    transport_failures = 0;
    if (next->status >= 500) {
      log::error("lambda: GET /next answered {}: container error, exiting", next->status);
      return 1;
    }
    const std::string* id = next->header("Lambda-Runtime-Aws-Request-Id");
    if (next->status != 200 || !id || id->empty()) {
      log::error("lambda: GET /next answered {} without a request id", next->status);
      return 1;
    }
    if (const std::string* trace = next->header("Lambda-Runtime-Trace-Id"))
      ::setenv("_X_AMZN_TRACE_ID", trace->c_str(), 1);
    auto deadline = Clock::now() + options_.relay.timeout;
    if (const std::string* dl = next->header("Lambda-Runtime-Deadline-Ms")) {
      char* end = nullptr;
      long long ms = std::strtoll(dl->c_str(), &end, 10);
      if (end && *end == '\0' && ms > 0) {
        auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
        auto lambda_deadline =
            Clock::now() + std::chrono::milliseconds(ms - now_ms) - options_.deadline_margin;
        deadline = std::min(deadline, lambda_deadline);
      }
    }
    const std::string path = "/runtime/invocation/" + *id;
    Status reported;
    auto parsed = s3::parse_s3_notification(next->body);
    if (!parsed) {
      forwarder.counters().invalid++;
      log::warn("lambda: invocation {}: {}", log::escape(*id, 200),
                log::escape(parsed.error().message));
      reported =
          post_runtime(path + "/error", error_body(parsed.error().message, "Relay.InvalidEvent"),
                       "Relay.InvalidEvent");
    } else if (auto rep = forwarder.relay(*parsed, deadline); rep) {
      json::object o;
      o["relayed"] = rep->posted;
      o["skipped"] = rep->skipped;
      o["testEvent"] = rep->test_event;
      log::info("lambda: invocation {}: relayed {} record(s)", log::escape(*id, 200), rep->posted);
      reported = post_runtime(path + "/response", json::serialize(o), "");
    } else {
      const Error& e = rep.error();
      std::string type = e.code == Errc::kInvalidArgument || e.code == Errc::kAuth
                             ? "Relay.Rejected"
                             : "Relay.DeliveryFailed";
      log::warn("lambda: invocation {}: {}", log::escape(*id, 200), log::escape(e.message));
      reported = post_runtime(path + "/error", error_body(e.message, type), type);
    }
    if (!reported) {
      log::error("lambda: {}", log::escape(reported.error().message));
      return 1;
    }
  }
  return 0;
}

}  // namespace ingestor::relay
