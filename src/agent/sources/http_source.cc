#include "agent/sources/http_source.h"

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <condition_variable>
#include <mutex>

#include "agent/sources/json_number_text.h"
#include "base/charset.h"
#include "base/log.h"
#include "base/strings.h"
#include "net/http_server.h"

namespace ingestor {

namespace asio = boost::asio;
namespace json = boost::json;

const ComponentSpec& http_source_spec() {
  static const ComponentSpec spec{
      "source",
      "http",
      "org.apache.flume.source.http.HTTPSource",
      "HTTP source: each POST or GET is one batch of events, answered 200 once committed.",
      {
          {"bind", KeyType::kString, "0.0.0.0", false, "Host name or IP address to listen on"},
          {"port", KeyType::kInt, std::nullopt, true, "TCP port (0: any free port)", 0, 65535},
          {"handler", KeyType::kString, kJsonHandlerClass, false,
           "Request handler class: org.apache.flume.source.http.JSONHandler or "
           "org.apache.flume.source.http.BLOBHandler"},
          {"handler.*", KeyType::kPrefix, std::nullopt, false,
           "Handler settings (BLOBHandler: handler.mandatoryParameters, a comma list)"},
          {"maxRequestSize", KeyType::kLong, "16777216", false,
           "Largest request body in bytes; larger ones get 413 (not in Flume)", 1},
          {"ssl",
           KeyType::kBool,
           "false",
           false,
           "HTTPS (not supported yet: true is an error)",
           {},
           {},
           "enableSSL"},
          {"keystore", KeyType::kString, std::nullopt, false, "Keystore path (HTTPS)"},
          {"keystore-password",
           KeyType::kString,
           std::nullopt,
           false,
           "Keystore password (HTTPS)",
           {},
           {},
           "keystorePassword"},
          {"keystore-type", KeyType::kString, "JKS", false, "Keystore type (HTTPS)"},
          {"exclude-protocols", KeyType::kList, "SSLv3", false, "TLS protocols to exclude"},
          {"include-protocols", KeyType::kList, std::nullopt, false, "TLS protocols to include"},
          {"exclude-cipher-suites", KeyType::kList, std::nullopt, false,
           "Cipher suites to exclude"},
          {"include-cipher-suites", KeyType::kList, std::nullopt, false,
           "Cipher suites to include"},
          {"QueuedThreadPool.*", KeyType::kPrefix, std::nullopt, false,
           "Jetty thread pool settings (accepted and ignored: requests run on the io threads)"},
          {"HttpConfiguration.*", KeyType::kPrefix, std::nullopt, false,
           "Jetty HTTP settings (sendServerVersion is honoured, the rest ignored)"},
          {"SslContextFactory.*", KeyType::kPrefix, std::nullopt, false,
           "Jetty TLS settings (accepted and ignored)"},
          {"ServerConnector.*", KeyType::kPrefix, std::nullopt, false,
           "Jetty connector settings (idleTimeout in ms is honoured, the rest ignored)"},
      }};
  return spec;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The `charset` parameter of a Content-Type, as the servlet's getCharacterEncoding() gives it.
std::optional<std::string_view> content_type_charset(std::string_view ct) {
  size_t pos = ct.find(';');
  while (pos != std::string_view::npos) {
    ct.remove_prefix(pos + 1);
    pos = ct.find(';');
    std::string_view param = trim(ct.substr(0, pos));
    size_t eq = param.find('=');
    if (eq == std::string_view::npos || !ascii_iequals(trim(param.substr(0, eq)), "charset")) continue;
    std::string_view v = trim(param.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return v;
  }
  return std::nullopt;
}

// Gson's coercion of a JSON scalar to a Java String (numbers and booleans as written; numbers
// arrive as strings holding their text, from parse_json_number_text).
Result<std::string> as_string(const json::value& v, const char* what) {
  switch (v.kind()) {
    case json::kind::string:
      return std::string(v.get_string());
    case json::kind::null:
      return std::string();
    case json::kind::bool_:
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return json::serialize(v);
    default:
      return make_error(Errc::kInvalidArgument, std::string("Request has invalid JSON Syntax. (") +
                                                    what + " must be a string)");
  }
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

Result<Batch> json_handler_events(std::string_view content_type, std::string_view body) {
  Charset cs = Charset::kUtf8;
  if (auto name = content_type_charset(content_type)) {
    // Flume's JSONHandler accepts exactly these three names (any case), not their aliases.
    if (!(ascii_iequals(*name, "utf-8") || ascii_iequals(*name, "utf-16") || ascii_iequals(*name, "utf-32"))) {
      return make_error(Errc::kUnsupported, "JSON handler supports UTF-8, UTF-16 and UTF-32 only.");
    }
    cs = *charset_from_name(*name);
  }
  const std::string text = decode_to_utf8(body, cs);
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    // Gson returns null for an empty document and Flume then fails with a NullPointerException.
    return make_error(Errc::kUnsupported, "empty request body");
  }
  json::parse_options popts;
  popts.allow_comments = true;  // Gson reads leniently
  popts.allow_trailing_commas = true;
  // Numbers keep their text as sent (Gson reads a number into a String as written).
  Result<json::value> parsed = parse_json_number_text(text, popts);
  if (!parsed) {
    return make_error(Errc::kInvalidArgument,
                      "Request has invalid JSON Syntax. (" + parsed.error().message + ")");
  }
  const json::value& doc = *parsed;
  if (doc.is_null()) return make_error(Errc::kUnsupported, "empty request body");
  if (!doc.is_array()) {
    return make_error(
        Errc::kInvalidArgument,
        "Request has invalid JSON Syntax. (the top level must be an array of events)");
  }
  const json::array& arr = doc.get_array();
  // All bodies go into one chunk: one allocation for the batch, not one per event.
  std::string bodies;
  std::vector<size_t> ends;
  ends.reserve(arr.size());
  Batch events;
  events.reserve(arr.size());
  for (const json::value& item : arr) {
    if (!item.is_object()) {
      return make_error(Errc::kInvalidArgument,
                        "Request has invalid JSON Syntax. (each event must be an object)");
    }
    const json::object& obj = item.get_object();
    Event e;
    if (const json::value* h = obj.if_contains("headers"); h && !h->is_null()) {
      if (!h->is_object()) {
        return make_error(Errc::kInvalidArgument,
                          "Request has invalid JSON Syntax. (headers must be an object)");
      }
      for (const auto& kv : h->get_object()) {
        auto v = as_string(kv.value(), "a header value");
        if (!v) return v.error();
        e.headers.set(std::string(kv.key()), std::move(*v));
      }
    }
    if (const json::value* b = obj.if_contains("body")) {
      auto v = as_string(*b, "body");
      if (!v) return v.error();
      if (cs == Charset::kUtf8) {
        bodies += *v;
      } else {
        bodies += encode_from_utf8(*v, cs);
      }
    }
    ends.push_back(bodies.size());
    events.push_back(std::move(e));
  }
  Slice all = Slice::copy_of(bodies);
  size_t begin = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    if (ends[i] > begin) events[i].body = Slice(all.chunk(), all.data() + begin, ends[i] - begin);
    begin = ends[i];
  }
  return events;
}

Result<Batch> blob_handler_events(std::string_view query, std::string_view body,
                                  const std::vector<std::string>& mandatory) {
  Headers headers;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (param.empty()) continue;
    size_t eq = param.find('=');
    std::string key = percent_decode(param.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : percent_decode(param.substr(eq + 1));
    headers.set_if_absent(key, std::move(value));  // the first value of each, as Flume
  }
  for (const std::string& m : mandatory) {
    if (!headers.contains(m)) {
      return make_error(Errc::kUnsupported, "Parameter " + m + " is mandatory");
    }
  }
  Batch events;
  events.emplace_back(std::move(headers), Slice::copy_of(body));
  return events;
}

Result<HttpSourceOptions> HttpSource::options_from(const Settings& s) {
  HttpSourceOptions o;
  o.bind = s.str("bind");
  o.port = static_cast<uint16_t>(s.i64("port"));
  const std::string handler = s.str("handler");
  if (handler == kJsonHandlerClass || ascii_iequals(handler, "JSONHandler")) {
    o.handler = HttpSourceHandler::kJson;
  } else if (handler == kBlobHandlerClass || ascii_iequals(handler, "BLOBHandler")) {
    o.handler = HttpSourceHandler::kBlob;
  } else {
    return make_error(Errc::kConfig, "handler: unsupported handler '" + handler +
                                         "' (supported: " + std::string(kJsonHandlerClass) + ", " +
                                         std::string(kBlobHandlerClass) + ")");
  }
  const Context handler_ctx = s.sub("handler.");
  if (auto it = handler_ctx.find("mandatoryParameters"); it != handler_ctx.end()) {
    std::string_view list = it->second;
    while (!list.empty()) {
      size_t comma = list.find(',');
      std::string_view p = trim(list.substr(0, comma));
      if (!p.empty()) o.mandatory_parameters.emplace_back(p);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
  }
  o.max_request_size = static_cast<size_t>(s.i64("maxRequestSize"));
  if (s.boolean("ssl")) {
    return make_error(Errc::kConfig, "ssl: HTTPS is not supported by the http source yet");
  }
  const Context http_ctx = s.sub("HttpConfiguration.");
  if (auto it = http_ctx.find("sendServerVersion"); it != http_ctx.end()) {
    o.send_server_version = !ascii_iequals(it->second, "false");
  }
  const Context conn_ctx = s.sub("ServerConnector.");
  if (auto it = conn_ctx.find("idleTimeout"); it != conn_ctx.end()) {
    char* end = nullptr;
    long long ms = std::strtoll(it->second.c_str(), &end, 10);
    if (end == it->second.c_str() || *end != '\0' || ms <= 0) {
      return make_error(Errc::kConfig,
                        "ServerConnector.idleTimeout: expected a positive number of milliseconds, "
                        "got '" +
                            it->second + "'");
    }
    o.idle_timeout = std::chrono::milliseconds(ms);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------

struct HttpSource::Impl : std::enable_shared_from_this<HttpSource::Impl> {
  Impl(HttpSource& src, net::IoPool& p, HttpSourceOptions o)
      : source(src), pool(p), options(std::move(o)) {}

  // One request whose batch is being committed. Touched by one thread at a time: the io thread
  // that received it, then whichever thread runs process_async's `done`, then the retry timer's.
  struct Pending {
    explicit Pending(asio::io_context& ctx) : timer(ctx) {}
    Batch events;
    PutProgress progress;
    net::Respond respond;
    size_t n = 0;
    std::chrono::steady_clock::time_point deadline;
    std::chrono::milliseconds backoff{5};
    asio::steady_timer timer;
  };

  void handle(net::HttpRequest&& req, net::Respond respond);
  void attempt(std::shared_ptr<Pending> p);
  void on_done(std::shared_ptr<Pending> p, Status s);
  void finish(const std::shared_ptr<Pending>& p, net::HttpResponse r);

  HttpSource& source;  // outlives every request: stop() waits for the requests in flight
  net::IoPool& pool;
  const HttpSourceOptions options;
  std::unique_ptr<net::HttpServer> server;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::condition_variable cv;
  size_t in_flight = 0;  // under mu
};

namespace {

net::HttpResponse error_response(int status, std::string message) {
  net::HttpResponse r = net::HttpResponse::text(status, std::move(message));
  if (status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

// Errors that Flume reports as a ChannelException (503): the channel could not take the batch.
bool is_channel_error(Errc c) {
  return is_retryable(c) || c == Errc::kChannelClosed || c == Errc::kTooLarge;
}

}  // namespace

void HttpSource::Impl::handle(net::HttpRequest&& req, net::Respond respond) {
  SourceCounters& counters = source.counters();
  const std::string& m = req.method;
  if (m == "TRACE" || m == "OPTIONS") return respond(net::HttpResponse::text(403, "Forbidden"));
  if (m == "PUT" || m == "DELETE") {
    return respond(
        net::HttpResponse::text(405, "HTTP method " + m + " is not supported by this URL"));
  }
  if (m != "GET" && m != "POST" && m != "HEAD") {
    return respond(net::HttpResponse::text(501, "Method not implemented"));
  }

  Result<Batch> parsed = [&]() -> Result<Batch> {
    if (options.handler == HttpSourceHandler::kBlob) {
      return blob_handler_events(req.query, req.body, options.mandatory_parameters);
    }
    const std::string* ct = req.header("Content-Type");
    return json_handler_events(ct ? std::string_view(*ct) : std::string_view(), req.body);
  }();
  if (!parsed) {
    counters.event_read_fail.add();
    const bool bad_request = parsed.error().code == Errc::kInvalidArgument;
    log::warn("http source {}: {} from {}: {}", source.name(),
              bad_request ? "bad request" : "cannot read request", req.remote_address,
              parsed.error().message);
    return respond(error_response(
        bad_request ? 400 : 500,
        (bad_request ? "Bad request from client. " : "Deserializer threw unexpected exception. ") +
            parsed.error().message));
  }

  const size_t n = parsed->size();
  counters.append_batch_received.add();
  counters.event_received.add(static_cast<int64_t>(n));
  if (n == 0) {
    counters.append_batch_accepted.add();
    return respond(net::HttpResponse{});
  }
  if (n > source.processor().max_batch()) {
    // Flume's put fails with a ChannelException when the batch exceeds transactionCapacity.
    counters.channel_write_fail.add();
    return respond(error_response(
        503, "Error appending event to channel. Channel might be full. The batch of " +
                 std::to_string(n) + " events is larger than the channel's transactionCapacity (" +
                 std::to_string(source.processor().max_batch()) + ")"));
  }
  {
    std::lock_guard lock(mu);
    if (stopping.load()) {
      return respond(error_response(503, "Error appending event to channel. Source is stopping"));
    }
    ++in_flight;
  }
  auto p = std::make_shared<Pending>(pool.next());
  p->events = std::move(*parsed);
  p->n = n;
  p->respond = std::move(respond);
  p->deadline = std::chrono::steady_clock::now() + options.keep_alive;
  attempt(std::move(p));
}

void HttpSource::Impl::attempt(std::shared_ptr<Pending> p) {
  Pending& ref = *p;
  source.processor().process_async(ref.events, ref.progress,
                                   [self = shared_from_this(), p = std::move(p)](Status s) mutable {
                                     self->on_done(std::move(p), std::move(s));
                                   });
}

void HttpSource::Impl::on_done(std::shared_ptr<Pending> p, Status s) {
  SourceCounters& counters = source.counters();
  if (s) {
    counters.append_batch_accepted.add();
    counters.event_accepted.add(static_cast<int64_t>(p->n));
    return finish(p, net::HttpResponse{});
  }
  const Error& e = s.error();
  if (e.code == Errc::kChannelFull && !stopping.load() &&
      std::chrono::steady_clock::now() + p->backoff < p->deadline) {
    // Flume's put blocks up to the channel's keep-alive for room; we wait on a timer instead.
    p->timer.expires_after(p->backoff);
    p->backoff = std::min(p->backoff * 2, std::chrono::milliseconds(100));
    Pending& ref = *p;
    ref.timer.async_wait([self = shared_from_this(), p = std::move(p)](boost::system::error_code) {
      self->attempt(p);  // also when cancelled: attempt() fails fast and answers
    });
    return;
  }
  if (is_channel_error(e.code)) {
    counters.channel_write_fail.add();
    log::warn("http source {}: error appending event to channel: {}", source.name(), e.message);
    return finish(p, error_response(503,
                                    "Error appending event to channel. Channel might be "
                                    "full. Consider increasing the channel capacity or make "
                                    "sure the sinks perform faster. " +
                                        e.message));
  }
  counters.generic_processing_fail.add();
  log::warn("http source {}: unexpected error appending event to channel: {}", source.name(),
            e.message);
  finish(p, error_response(500, "Unexpected error while appending event to channel. " + e.message));
}

void HttpSource::Impl::finish(const std::shared_ptr<Pending>& p, net::HttpResponse r) {
  p->progress.tx.rollback();  // no-op after a commit; gives the events up otherwise
  p->respond(std::move(r));
  p->respond = nullptr;
  std::lock_guard lock(mu);
  if (--in_flight == 0) cv.notify_all();
}

HttpSource::HttpSource(std::string name, std::shared_ptr<ChannelProcessor> processor,
                       net::IoPool& pool, HttpSourceOptions options)
    : Source(std::move(name), "http", std::move(processor)),
      impl_(std::make_shared<Impl>(*this, pool, std::move(options))) {}

HttpSource::~HttpSource() { stop(); }

Status HttpSource::start() {
  if (impl_->server) return make_error(Errc::kInvalidArgument, "http source already started");
  net::HttpServerOptions so;
  so.bind = impl_->options.bind;
  so.port = impl_->options.port;
  so.body_limit = impl_->options.max_request_size;
  so.idle_timeout = impl_->options.idle_timeout;
  if (!impl_->options.send_server_version) so.server_name.clear();
  std::weak_ptr<Impl> weak = impl_;
  auto server = std::make_unique<net::HttpServer>(
      impl_->pool, so, [weak](net::HttpRequest&& req, net::Respond respond) {
        if (auto self = weak.lock()) return self->handle(std::move(req), std::move(respond));
        respond(net::HttpResponse::text(503, "Source stopped"));
      });
  Status st = server->start();
  if (!st) return st;
  impl_->stopping = false;
  impl_->server = std::move(server);
  counters_.started();
  log::info("http source {}: listening on {}:{}", name(), impl_->options.bind, bound_port());
  return {};
}

void HttpSource::stop() {
  if (!impl_->server || impl_->stopping.exchange(true)) return;
  impl_->server->stop();  // no new request reaches handle() after this returns
  std::unique_lock lock(impl_->mu);
  if (!impl_->cv.wait_for(lock, impl_->options.keep_alive + std::chrono::seconds(5),
                          [&] { return impl_->in_flight == 0; })) {
    log::warn("http source {}: {} requests still waiting for their channel commit", name(),
              impl_->in_flight);
  }
  lock.unlock();
  counters_.stopped();
}

int HttpSource::bound_port() const { return impl_->server ? impl_->server->port() : 0; }

}  // namespace ingestor
