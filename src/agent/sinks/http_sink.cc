#include "agent/sinks/http_sink.h"

#include <cctype>

namespace ingestor {

const ComponentSpec& http_sink_spec() {
  static const ComponentSpec spec{
      "sink",
      "http",
      "org.apache.flume.sink.http.HttpSink",
      "POSTs each event's body to an HTTP endpoint; what a status does is configurable.",
      {
          {"endpoint", KeyType::kString, std::nullopt, true,
           "URL to POST to (http:// or https://)"},
          {"connectTimeout", KeyType::kLong, "5000", false, "Milliseconds to connect"},
          {"requestTimeout", KeyType::kLong, "5000", false, "Milliseconds for the whole exchange"},
          {"contentTypeHeader", KeyType::kString, "text/plain", false, "Content-Type sent"},
          {"acceptHeader", KeyType::kString, "text/plain", false, "Accept sent"},
          {"defaultBackoff", KeyType::kBool, "true", false,
           "Back off after a status no backoff.<code> rule names"},
          {"defaultRollback", KeyType::kBool, "true", false,
           "Roll the event back (send it again) after a status no rollback.<code> rule names"},
          {"defaultIncrementMetrics", KeyType::kBool, "false", false,
           "Count EventDrainSuccess after a status no incrementMetrics.<code> rule names"},
          {"backoff.*", KeyType::kPrefix, std::nullopt, false,
           "backoff.<status> or backoff.<digit>XX = true|false (exact beats class)"},
          {"rollback.*", KeyType::kPrefix, std::nullopt, false,
           "rollback.<status> or rollback.<digit>XX = true|false"},
          {"incrementMetrics.*", KeyType::kPrefix, std::nullopt, false,
           "incrementMetrics.<status> or incrementMetrics.<digit>XX = true|false"},
          {"batchSize", KeyType::kInt, "1", false,
           "Accepted; Flume's http sink sends one event "
           "per transaction"},
      }};
  return spec;
}

bool StatusRule::applies(int status) const {
  if (auto it = exact.find(status); it != exact.end()) return it->second;
  if (auto it = classes.find(status / 100); it != classes.end()) return it->second;
  return default_value;
}

namespace {

bool java_boolean(const std::string& v) {  // Boolean.valueOf
  if (v.size() != 4) return false;
  std::string l;
  for (char c : v) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return l == "true";
}

void read_rule(const Settings& s, const std::string& group, const char* default_key, StatusRule& r,
               std::vector<std::string>* warnings) {
  r.default_value = s.boolean(default_key);
  for (const auto& [code, value] : s.sub(group + ".")) {
    const bool v = java_boolean(value);
    if (code.size() == 3 && std::isdigit(static_cast<unsigned char>(code[0])) &&
        std::isdigit(static_cast<unsigned char>(code[1])) &&
        std::isdigit(static_cast<unsigned char>(code[2]))) {
      r.exact[std::stoi(code)] = v;
    } else if (code.size() == 3 && std::isdigit(static_cast<unsigned char>(code[0])) &&
               code.substr(1) == "XX") {
      r.classes[code[0] - '0'] = v;
    } else if (warnings) {
      warnings->push_back(group + "." + code +
                          " never matches a status (use an exact status "
                          "such as 200 or a class with upper-case XX such as 2XX)");
    }
  }
}

}  // namespace

Result<HttpSinkOptions> http_sink_options(const Settings& s, std::vector<std::string>* warnings) {
  HttpSinkOptions o;
  o.endpoint = s.str("endpoint");
  if (o.endpoint.empty() || !net::parse_url(o.endpoint))
    return make_error(Errc::kConfig, "endpoint: Endpoint URL invalid: '" + o.endpoint + "'");
  int64_t ct = s.i64("connectTimeout"), rt = s.i64("requestTimeout");
  if (ct <= 0)
    return make_error(Errc::kConfig,
                      "connectTimeout: Connect timeout must be a non-zero and "
                      "positive");
  if (rt <= 0)
    return make_error(Errc::kConfig,
                      "requestTimeout: Request timeout must be a non-zero and "
                      "positive");
  o.connect_timeout = std::chrono::milliseconds(ct);
  o.request_timeout = std::chrono::milliseconds(rt);
  o.content_type = s.str("contentTypeHeader");
  o.accept = s.str("acceptHeader");
  read_rule(s, "backoff", "defaultBackoff", o.backoff, warnings);
  read_rule(s, "rollback", "defaultRollback", o.rollback, warnings);
  read_rule(s, "incrementMetrics", "defaultIncrementMetrics", o.increment_metrics, warnings);
  if (warnings && o.rollback.applies(200))
    warnings->push_back(
        "a 200 response rolls the event back (defaultRollback = true and no rollback.200 or "
        "rollback.2XX = false), so every event is sent again for ever, as in Flume; set "
        "rollback.2XX = false and backoff.2XX = false");
  return o;
}

HttpSink::HttpSink(std::string name, HttpSinkOptions options)
    : Sink(std::move(name), "http"), opts_(std::move(options)) {}

HttpSink::~HttpSink() = default;

Status HttpSink::start() {
  auto u = net::parse_url(opts_.endpoint);
  if (!u) return make_error(Errc::kConfig, "endpoint: " + u.error().message);
  url_ = std::move(*u);
  net::HttpClientOptions co;
  co.connect_timeout = opts_.connect_timeout;
  co.timeout = opts_.request_timeout;
  client_ = std::make_unique<net::HttpClient>(co);
  if (auto s = client_->init(); !s) return s;
  counters_.started();
  return {};
}

void HttpSink::stop() {
  client_.reset();
  counters_.stopped();
}

Result<SinkStatus> HttpSink::process() {
  Tx tx = channel_->begin();
  auto n = tx.take(1);
  if (!n) {
    counters_.channel_read_fail.add();
    return n.error();
  }
  if (*n == 0 || tx.taken().front().body.empty()) {
    // Flume commits and backs off (and warns "Processed empty event" on every poll: here at
    // most once a second, and only for an event with an empty body).
    if (*n == 0)
      counters_.batch_empty.add();
    else if (empty_log_.allow())
      log::warn("sink {}: Processed empty event", name());
    if (auto s = tx.commit(); !s) return s.error();
    return SinkStatus::kBackoff;
  }
  counters_.batch_underflow.add();
  counters_.event_drain_attempt.add();
  const Event& e = tx.taken().front();
  net::ClientRequest req;
  req.method = "POST";
  req.endpoint = url_.endpoint;
  req.target = url_.target;
  req.headers = {{"Content-Type", opts_.content_type}, {"Accept", opts_.accept}};
  req.body = std::string_view(e.body.data(), e.body.size());
  auto r = client_->request(req);
  if (!r) {
    tx.rollback();
    counters_.event_write_fail.add();
    counters_.connection_failed.add();
    return make_error(r.error().code,
                      "Error opening connection, or request timed out: " + r.error().message);
  }
  const int status = r->status;
  const bool rollback = opts_.rollback.applies(status);
  const bool backoff = opts_.backoff.applies(status);
  if (rollback) {
    tx.rollback();
    if (status_log_.allow())
      log::info("sink {}: Got status code {} from HTTP server. {}", name(), status,
                backoff ? "Rolled back event and backed off." : "Rolled back event for retry.");
  } else if (auto s = tx.commit(); !s) {
    return s.error();
  }
  if (opts_.increment_metrics.applies(status)) counters_.event_drain_success.add();
  return backoff ? SinkStatus::kBackoff : SinkStatus::kReady;
}

}  // namespace ingestor
