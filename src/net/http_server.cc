#include "net/http_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace ingestor::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kHeaderLimit = 64 * 1024;
// After an error response with `Connection: close`, unread request bytes are drained for at most
// this long before the socket is closed, so that the client reads the response instead of a reset.
constexpr std::chrono::seconds kLingerTime{2};
// How long stop() waits for the io threads to close the acceptor and the connections.
constexpr std::chrono::seconds kStopWait{5};

bool iequals(std::string_view a, std::string_view b) { return beast::iequals(a, b); }

// Runs `fn` on `ctx`'s thread and tells `done` once it ran. Inline when called from that thread,
// or when the context is not running (nothing else can touch its objects then).
template <class Fn>
void run_on(asio::io_context& ctx, Fn fn, std::function<void()> done) {
  if (ctx.stopped() || ctx.get_executor().running_in_this_thread()) {
    fn();
    done();
    return;
  }
  asio::post(ctx, [fn = std::move(fn), done = std::move(done)]() mutable {
    fn();
    done();
  });
}

}  // namespace

const std::string* HttpRequest::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.first, name)) return &h.second;
  return nullptr;
}

HttpResponse HttpResponse::text(int status, std::string body, std::string content_type) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

class Session;

// Everything the server shares with its connections (HttpServer::Impl is private in the header).
struct ServerCore : std::enable_shared_from_this<ServerCore> {
  ServerCore(IoPool& p, HttpServerOptions o, HttpHandler h)
      : pool(p), options(std::move(o)), handler(std::move(h)), accept_ctx(p.next()) {}

  Status start();
  void stop();
  void do_accept();
  void on_accept(beast::error_code ec, asio::io_context& ctx, tcp::socket socket);

  IoPool& pool;
  const HttpServerOptions options;
  const HttpHandler handler;  // called concurrently from every io thread
  asio::io_context& accept_ctx;
  std::unique_ptr<tcp::acceptor> acceptor;  // used on accept_ctx only (after start())
  std::unique_ptr<asio::steady_timer> accept_retry;
  std::atomic<uint16_t> port{0};
  std::atomic<size_t> open{0};
  std::atomic<bool> stopped{false};
  bool started = false;  // under mu
  std::mutex mu;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;  // under mu
};

// One connection. Lives on one io_context (its executor serialises every handler); kept alive by
// the pending operation's handler or by an outstanding Respond.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<ServerCore> server, asio::io_context& ctx, tcp::socket socket)
      : server_(std::move(server)), ctx_(ctx), stream_(std::move(socket)) {
    server_->open.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
  }

  ~Session() {
    {
      std::lock_guard lock(server_->mu);
      server_->sessions.erase(this);
    }
    server_->open.fetch_sub(1, std::memory_order_relaxed);
  }

  asio::any_io_executor executor() { return stream_.get_executor(); }
  asio::io_context& context() { return ctx_; }

  void start() { read_header(); }

  // Closes the socket at once; pending operations complete with operation_aborted.
  void close_now() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  // Writes the handler's response (on the session's executor).
  void respond(HttpResponse r) {
    if (!awaiting_ || closed_) return;
    awaiting_ = false;
    write(std::move(r), false);
  }

 private:
  void read_header() {
    if (closed_) return;
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(static_cast<std::uint64_t>(server_->options.body_limit));
    stream_.expires_after(server_->options.idle_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    const auto& req = parser_->get();
    if (!parser_->is_done() && req.version() >= 11 &&
        iequals(req[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                     req.version());
      http::async_write(stream_, *cont,
                        [self = shared_from_this(), cont](beast::error_code ec, size_t) {
                          if (ec) return self->close_now();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    if (closed_) return;
    if (parser_->is_done()) return on_body({});
    stream_.expires_after(server_->options.idle_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
  }

  void on_read_error(beast::error_code ec) {
    if (closed_) return;
    if (ec == http::error::body_limit || ec == http::error::buffer_overflow) {
      return write_error(413, "Payload Too Large");
    }
    if (ec == http::error::header_limit) return write_error(431, "Request Header Fields Too Large");
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        ec == asio::error::eof || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::connection_reset) {
      return close_now();  // the client went away, or was idle too long
    }
    if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
      return write_error(400, "Bad Request");
    }
    close_now();  // a socket error
  }

  void on_body(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    stream_.expires_never();  // the handler may take its time; nothing is read meanwhile
    auto msg = parser_->release();
    parser_.reset();
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    head_ = msg.method() == http::verb::head;

    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    req.headers.reserve(std::distance(msg.begin(), msg.end()));
    for (const auto& f : msg) req.headers.emplace_back(f.name_string(), f.value());
    req.body = std::move(msg.body());
    req.remote_address = remote_;
    req.version = version_;

    if (server_->stopped.load()) return close_now();
    awaiting_ = true;
    try {
      server_->handler(std::move(req), make_respond());
    } catch (const std::exception& e) {
      spdlog::warn("http: handler threw: {}", e.what());
      respond(HttpResponse::text(500, "Internal Server Error"));
    } catch (...) {
      respond(HttpResponse::text(500, "Internal Server Error"));
    }
  }

  // Respond state shared by the copies of one Respond: answers once, and answers 500 when the
  // handler drops every copy without answering (so that the connection never hangs).
  struct Responder {
    std::shared_ptr<Session> session;
    asio::any_io_executor ex;
    std::atomic<bool> done{false};
    void send(HttpResponse r) {
      if (done.exchange(true)) return;
      asio::post(ex, [s = session, r = std::move(r)]() mutable { s->respond(std::move(r)); });
    }
    ~Responder() {
      if (!done.load()) {
        asio::post(ex, [s = session] {
          s->respond(HttpResponse::text(500, "Internal Server Error: the request was dropped"));
        });
      }
    }
  };

  Respond make_respond() {
    auto r = std::make_shared<Responder>();
    r->session = shared_from_this();
    r->ex = executor();
    return [r](HttpResponse resp) { r->send(std::move(resp)); };
  }

  void write_error(int status, std::string message) {
    keep_alive_ = false;
    version_ = 11;
    head_ = false;
    if (parser_) {
      const auto& h = parser_->get();
      if (h.version() == 10) version_ = 10;
    }
    write(HttpResponse::text(status, std::move(message)), true);
  }

  void write(HttpResponse r, bool force_close) {
    if (closed_) return;
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(version_);
    res->result(static_cast<unsigned>(r.status));
    bool has_server = false;
    for (auto& h : r.headers) {
      if (iequals(h.first, "Content-Length")) continue;
      if (iequals(h.first, "Server")) has_server = true;
      res->insert(h.first, h.second);
    }
    if (!has_server && !server_->options.server_name.empty()) {
      res->set(http::field::server, server_->options.server_name);
    }
    res->keep_alive(keep_alive_ && !force_close && !server_->stopped.load());
    res->body() = std::move(r.body);
    res->prepare_payload();
    if (head_) res->body().clear();  // keeps Content-Length, sends no body
    stream_.expires_after(server_->options.idle_timeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        self->on_write(ec, !res->keep_alive());
                      });
  }

  void on_write(beast::error_code ec, bool close) {
    if (ec || closed_) return close_now();
    if (close) return linger_close();
    read_header();
  }

  void linger_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close_now();
    stream_.expires_after(kLingerTime);
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec || self->closed_) return self->close_now();
                              self->drain();
                            });
  }

  std::shared_ptr<ServerCore> server_;
  asio::io_context& ctx_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::array<char, 4096> scratch_;
  std::string remote_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
  bool awaiting_ = false;  // the handler has the request and has not answered yet
  bool closed_ = false;
};

Status ServerCore::start() {
  std::lock_guard lock(mu);
  const std::string where = options.bind + ":" + std::to_string(options.port);
  if (started || stopped)
    return make_error(Errc::kInvalidArgument, "http server on " + where + " already started");
  beast::error_code ec;
  auto addr = asio::ip::make_address(options.bind, ec);
  if (ec) return make_error(Errc::kConfig, "cannot listen on " + where + ": invalid address");
  tcp::endpoint ep(addr, options.port);
  auto a = std::make_unique<tcp::acceptor>(accept_ctx);
  a->open(ep.protocol(), ec);
  if (!ec) a->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a->bind(ep, ec);
  if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error(Errc::kIo, "cannot listen on " + where + ": " + ec.message());
  port = a->local_endpoint(ec).port();
  acceptor = std::move(a);
  accept_retry = std::make_unique<asio::steady_timer>(accept_ctx);
  started = true;
  asio::post(accept_ctx, [self = shared_from_this()] { self->do_accept(); });
  return {};
}

void ServerCore::do_accept() {
  if (stopped.load() || !acceptor->is_open()) return;
  asio::io_context& ctx = pool.next();
  acceptor->async_accept(
      ctx, [self = shared_from_this(), &ctx](beast::error_code ec, tcp::socket socket) {
        self->on_accept(ec, ctx, std::move(socket));
      });
}

void ServerCore::on_accept(beast::error_code ec, asio::io_context& ctx, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || stopped.load()) return;
  if (ec) {
    // Out of file descriptors and the like: try again shortly rather than spin.
    spdlog::warn("http server on port {}: accept failed: {}", port.load(), ec.message());
    accept_retry->expires_after(std::chrono::milliseconds(100));
    accept_retry->async_wait([self = shared_from_this()](beast::error_code e) {
      if (!e) self->do_accept();
    });
    return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  auto session = std::make_shared<Session>(shared_from_this(), ctx, std::move(socket));
  {
    std::lock_guard lock(mu);
    if (stopped.load()) return;  // the session closes its socket as it goes
    sessions.emplace(session.get(), session);
  }
  asio::dispatch(session->executor(), [session] { session->start(); });
  do_accept();
}

void ServerCore::stop() {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(mu);
    if (stopped.exchange(true)) return;
    for (auto& [p, w] : sessions)
      if (auto s = w.lock()) live.push_back(std::move(s));
  }
  // Close the acceptor and every connection on their own threads, and wait for it.
  struct Latch {
    std::mutex m;
    std::condition_variable cv;
    size_t pending;
  };
  auto latch = std::make_shared<Latch>();
  latch->pending = 1 + live.size();
  auto done = [latch] {
    std::lock_guard l(latch->m);
    if (--latch->pending == 0) latch->cv.notify_all();
  };
  run_on(
      accept_ctx,
      [this] {
        beast::error_code ec;
        if (acceptor) acceptor->close(ec);
        if (accept_retry) accept_retry->cancel();
      },
      done);
  for (auto& s : live)
    run_on(
        s->context(), [s] { s->close_now(); }, done);
  std::unique_lock l(latch->m);
  if (!latch->cv.wait_for(l, kStopWait, [&] { return latch->pending == 0; })) {
    spdlog::warn("http server on port {}: io threads did not close the connections in time",
                 port.load());
  }
}

struct HttpServer::Impl : ServerCore {
  using ServerCore::ServerCore;
};

HttpServer::HttpServer(IoPool& pool, HttpServerOptions options, HttpHandler handler)
    : impl_(std::make_shared<Impl>(pool, std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start() { return impl_->start(); }

void HttpServer::stop() { impl_->stop(); }

uint16_t HttpServer::port() const { return impl_->port.load(); }

size_t HttpServer::open_connections() const { return impl_->open.load(std::memory_order_relaxed); }

}  // namespace ingestor::net
