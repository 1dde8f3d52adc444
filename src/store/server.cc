#include "store/server.h"

#include <sys/sendfile.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "base/log.h"
#include "net/header_value.h"
#include "net/io_pool.h"
#include "store/object_store.h"
#include "store/store_xml.h"

namespace ingestor::store {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

namespace {

constexpr size_t kHeaderLimit = 64 * 1024;
constexpr size_t kChunk = 256 * 1024;
constexpr size_t kSocketRead = 64 * 1024;  // Beast's largest single read
// What is read of the next request on a keep-alive connection before its header timeout starts.
constexpr size_t kFirstRead = 1024;
// The accept loop's pause after accept(2) failed for want of descriptors or memory.
constexpr std::chrono::milliseconds kAcceptBackoffMin{100}, kAcceptBackoffMax{1000};
// A request rejected before its body is drained up to this many bytes, so the client reads the
// error rather than a connection reset; beyond it the connection is closed after the response.
constexpr uint64_t kDrainLimit = 8 << 20;
// The most one sendfile(2) call of a GetObject body sends, and the most sent in a row before the
// coroutine lets the other connections of its io thread run.
constexpr size_t kSendfileChunk = 1 << 20;

// Runs `f` on `pool` and resumes the calling coroutine on its own executor with the result.
template <class F>
awaitable<Response> on_pool(asio::thread_pool& pool, F f) {
  co_return co_await asio::async_initiate<decltype(use_awaitable), void(Response)>(
      [&pool, f = std::move(f)](auto handler) mutable {
        auto ex = asio::get_associated_executor(handler);
        asio::post(pool, [f = std::move(f), handler = std::move(handler), ex]() mutable {
          Response r;
          try {
            r = f();
          } catch (const std::exception& e) {
            log::error("store: operation failed with an exception: {}", log::escape(e.what()));
            r = Response{};
            r.status = 500;
            r.headers.emplace_back("Content-Type", "application/xml");
            r.body = error_xml(err::internal("internal error"), "", "");
          }
          asio::post(ex, [handler = std::move(handler), r = std::move(r)]() mutable {
            std::move(handler)(std::move(r));
          });
        });
      },
      use_awaitable);
}

template <class Stream>
auto& lowest(Stream& s) {
  return beast::get_lowest_layer(s);
}

// accept(2) failed because the process or system ran out of something that comes back (file
// descriptors, memory): retrying at once would spin.
bool out_of_resources(const beast::error_code& ec) {
  if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
      ec == asio::error::no_memory)
    return true;
  return ec.category() == boost::system::system_category() && ec.value() == ENFILE;
}

// " (N more since the last one)" for a throttled log line.
std::string more(log::Throttle& t) {
  uint64_t n = t.take_suppressed();
  return n ? " (" + std::to_string(n) + " more since the last one)" : "";
}

// Decrements the open-connection count when a connection's coroutine ends (or is destroyed).
struct OpenConnection {
  explicit OpenConnection(std::atomic<uint64_t>& n) : n(n) {}
  ~OpenConnection() { n.fetch_sub(1); }
  OpenConnection(const OpenConnection&) = delete;
  OpenConnection& operator=(const OpenConnection&) = delete;
  std::atomic<uint64_t>& n;
};

}  // namespace

struct StoreServer::Impl {
  Impl(S3Api& a, ServerOptions o)
      : api(a), opts(std::move(o)), pool(opts.io_threads), blocking(opts.blocking_threads) {}

  S3Api& api;
  ServerOptions opts;
  ConnectionCounters counters;  // before `pool`: outlives the connections' coroutines
  log::Throttle accept_log, refuse_log, header_log;
  net::IoPool pool;
  asio::thread_pool blocking;
  std::optional<ssl::context> tls;
  std::unique_ptr<tcp::acceptor> acceptor;
  uint16_t port = 0;
  bool started = false;
  bool stopped = false;

  awaitable<void> accept_loop();
  template <class Stream>
  awaitable<void> session(Stream& stream, std::string remote);
  template <class Stream>
  awaitable<bool> write_response(Stream& stream, Response& r, unsigned version, bool keep_alive);
  enum class Sent { kAll, kCut, kUnsupported };
  awaitable<Sent> send_file_body(tcp::socket& sock, const Content& content, uint64_t& off,
                                 uint64_t& left);
  awaitable<void> serve_plain(tcp::socket sock);
  awaitable<void> serve_tls(tcp::socket sock);
};

awaitable<void> StoreServer::Impl::accept_loop() {
  auto backoff = kAcceptBackoffMin;
  asio::steady_timer pause(acceptor->get_executor());
  for (;;) {
    beast::error_code ec;
    auto& ctx = pool.next();
    tcp::socket sock =
        co_await acceptor->async_accept(ctx, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
      counters.accept_failures.fetch_add(1);
      const bool wait = out_of_resources(ec);
      if (accept_log.allow())
        log::warn("store: accept failed: {}{}{}", ec.message(),
                  wait ? ", pausing " + std::to_string(backoff.count()) + " ms" : "",
                  more(accept_log));
      if (wait) {
        pause.expires_after(backoff);
        co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
        backoff = std::min(backoff * 2, kAcceptBackoffMax);
      }
      continue;
    }
    backoff = kAcceptBackoffMin;
    if (counters.open.load() >= opts.max_connections) {
      counters.refused.fetch_add(1);
      sock.close(ec);
      if (refuse_log.allow())
        log::warn("store: {} connections open (--max-connections): a new one was closed{}",
                  opts.max_connections, more(refuse_log));
      continue;
    }
    counters.open.fetch_add(1);
    sock.set_option(tcp::no_delay(true), ec);
    if (tls) {
      asio::co_spawn(ctx, serve_tls(std::move(sock)), asio::detached);
    } else {
      asio::co_spawn(ctx, serve_plain(std::move(sock)), asio::detached);
    }
  }
}

awaitable<void> StoreServer::Impl::serve_plain(tcp::socket sock) {
  OpenConnection counted(counters.open);
  beast::error_code ec;
  std::string remote = sock.remote_endpoint(ec).address().to_string();
  beast::tcp_stream stream(std::move(sock));
  co_await session(stream, remote);
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.close();
}

awaitable<void> StoreServer::Impl::serve_tls(tcp::socket sock) {
  OpenConnection counted(counters.open);
  beast::error_code ec;
  std::string remote = sock.remote_endpoint(ec).address().to_string();
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(sock)), *tls);
  lowest(stream).expires_after(std::chrono::seconds(30));
  co_await stream.async_handshake(ssl::stream_base::server,
                                  asio::redirect_error(use_awaitable, ec));
  if (ec) co_return;
  co_await session(stream, remote);
  lowest(stream).expires_after(std::chrono::seconds(2));
  co_await stream.async_shutdown(asio::redirect_error(use_awaitable, ec));
  lowest(stream).close();
}

template <class Stream>
awaitable<bool> StoreServer::Impl::write_response(Stream& stream, Response& r, unsigned version,
                                                  bool keep_alive) {
  // Last line against response splitting: no header with a control character leaves the store
  // (S3Api refuses such request values with 400; this catches any other way in, e.g. metadata
  // stored by an older version).
  for (const auto& [k, v] : r.headers) {
    if (net::is_header_name(k) && net::is_safe_header_value(v)) continue;
    counters.unsafe_headers.fetch_add(1);
    if (header_log.allow())
      log::error(
          "store: a response header held a control character, answering 500 instead: {}: {}{}",
          log::escape(k, 128), log::escape(v, 256), more(header_log));
    const bool head = r.head;
    r = Response{};
    r.status = 500;
    r.head = head;
    r.headers.emplace_back("Content-Type", "application/xml");
    r.body =
        error_xml(err::internal("We encountered an internal error. Please try again."), "", "");
    keep_alive = false;
    break;
  }
  http::response<http::empty_body> h;
  h.version(version);
  h.result(static_cast<unsigned>(r.status));
  h.set(http::field::server, "ingestor");
  h.set(http::field::date, http_time(now_ms()));
  for (const auto& [k, v] : r.headers) h.insert(k, v);
  if (r.status != 304 && r.status != 204) {
    uint64_t len = (r.content || r.head) ? r.length : r.body.size();
    if (r.head && !r.content && r.body.empty() && r.length == 0) len = 0;
    h.set(http::field::content_length, std::to_string(len));
  }
  h.keep_alive(keep_alive);
  beast::error_code ec;
  lowest(stream).expires_after(opts.idle_timeout);
  http::response_serializer<http::empty_body> sr(h);
  co_await http::async_write_header(stream, sr, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return false;
  if (r.head || r.status == 304 || r.status == 204) co_return true;
  if (!r.content) {
    if (!r.body.empty()) {
      co_await asio::async_write(stream, asio::buffer(r.body),
                                 asio::redirect_error(use_awaitable, ec));
    }
    co_return !ec;
  }
  uint64_t off = r.offset, left = r.length;
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    if (!r.content->data) {
      Sent sent = co_await send_file_body(stream.socket(), *r.content, off, left);
      if (sent != Sent::kUnsupported) co_return sent == Sent::kAll;
    }
  }
  std::vector<char> buf(kChunk);
  while (left > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
    auto n = r.content->read_some(off, buf.data(), want);
    if (!n || *n == 0) co_return false;  // the response is cut short; the client sees a short body
    lowest(stream).expires_after(opts.idle_timeout);
    co_await asio::async_write(stream, asio::buffer(buf.data(), *n),
                               asio::redirect_error(use_awaitable, ec));
    if (ec) co_return false;
    off += *n;
    left -= *n;
  }
  co_return true;
}

// Plain HTTP: the body goes from the content's file(s) to the socket by sendfile(2), with no copy
// in this process. The socket is non-blocking: when it is full the coroutine waits for it to be
// writable, for at most opts.idle_timeout since the last byte sent (the stream's own timeout does
// not cover a wait on its socket), and then ends the response, which closes the session as a
// timeout of the stream does. `off` and `left` follow what was sent. kCut: the response ends short
// (content shorter than its length, a file error, the client gone or idle); kUnsupported: the file
// system cannot sendfile, nothing more was sent, and the caller copies the rest.
awaitable<StoreServer::Impl::Sent> StoreServer::Impl::send_file_body(tcp::socket& sock,
                                                                     const Content& content,
                                                                     uint64_t& off,
                                                                     uint64_t& left) {
  using namespace asio::experimental::awaitable_operators;
  beast::error_code ec;
  if (!sock.native_non_blocking()) {
    sock.native_non_blocking(true, ec);
    if (ec) co_return Sent::kUnsupported;
  }
  asio::steady_timer idle(sock.get_executor());
  auto deadline = std::chrono::steady_clock::now() + opts.idle_timeout;
  size_t since_yield = 0;
  while (left > 0) {
    auto e = content.extent_at(off);
    if (!e || e->len == 0) co_return Sent::kCut;
    const size_t want = static_cast<size_t>(std::min<uint64_t>({left, e->len, kSendfileChunk}));
    off_t at = static_cast<off_t>(e->at);
    ssize_t n = ::sendfile(sock.native_handle(), e->fd, &at, want);
    if (n > 0) {
      off += static_cast<uint64_t>(n);
      left -= static_cast<uint64_t>(n);
      deadline = std::chrono::steady_clock::now() + opts.idle_timeout;
      since_yield += static_cast<size_t>(n);
      if (since_yield >= kSendfileChunk && left > 0) {
        since_yield = 0;
        co_await asio::post(sock.get_executor(), use_awaitable);
      }
      continue;
    }
    if (n == 0) co_return Sent::kCut;  // the file is shorter: the client sees a short body
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      since_yield = 0;
      idle.expires_at(deadline);
      auto woke =
          co_await (sock.async_wait(tcp::socket::wait_write, asio::as_tuple(use_awaitable)) ||
                    idle.async_wait(asio::as_tuple(use_awaitable)));
      if (woke.index() != 0 || std::get<0>(std::get<0>(woke))) co_return Sent::kCut;
      continue;
    }
    if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) co_return Sent::kUnsupported;
    if (errno != EPIPE && errno != ECONNRESET && errno != ENOTCONN && errno != ETIMEDOUT)
      log::warn("store: sendfile of an object body failed: {}", std::strerror(errno));
    co_return Sent::kCut;
  }
  co_return Sent::kAll;
}

template <class Stream>
awaitable<void> StoreServer::Impl::session(Stream& stream, std::string remote) {
  // Buffers are allocated when a request needs them and released after it (issue 16: 1,000 idle
  // connections used to hold 280 MB).
  beast::flat_buffer buffer;
  for (bool first = true;; first = false) {
    http::request_parser<http::buffer_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(boost::none);
    beast::error_code ec;
    if (!first && buffer.size() == 0) {
      // Between requests: an idle connection holds no buffer, and may idle for idle_timeout.
      buffer.clear();
      buffer.shrink_to_fit();
      lowest(stream).expires_after(opts.idle_timeout);
      size_t n = co_await stream.async_read_some(buffer.prepare(kFirstRead),
                                                 asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;  // closed, reset or idle too long
      buffer.commit(n);
    }
    // The rest of the header (the whole of the first request's) within header_timeout.
    lowest(stream).expires_after(opts.header_timeout);
    co_await http::async_read_header(stream, buffer, parser,
                                     asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == beast::error::timeout) {
        counters.header_timeouts.fetch_add(1);
        if (header_log.allow())
          log::info("store: {} sent no whole request header in {} s, connection closed{}",
                    log::escape(remote), opts.header_timeout.count(), more(header_log));
        co_return;
      }
      if (ec == http::error::end_of_stream || ec == asio::error::eof ||
          ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
          ec == ssl::error::stream_truncated)
        co_return;
      Response bad;
      bad.status = 400;
      bad.headers.emplace_back("Content-Type", "application/xml");
      bad.body =
          error_xml(ApiError("BadRequest", 400, "Malformed HTTP request: " + ec.message()), "", "");
      co_await write_response(stream, bad, 11, false);
      co_return;
    }
    auto& h = parser.get();
    RawRequest raw;
    raw.method = std::string(h.method_string());
    raw.target = std::string(h.target());
    raw.headers.reserve(16);
    for (const auto& f : h)
      raw.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    raw.remote_ip = remote;
    raw.has_body = !parser.is_done();
    raw.chunked = parser.chunked();
    if (auto cl = parser.content_length()) raw.content_length = *cl;
    const bool keep_alive = h.keep_alive();
    const unsigned version = h.version();
    const bool expect_continue = beast::iequals(h[http::field::expect], "100-continue");

    Prepared p = api.prepare(raw);
    Response res;
    bool close_after = false;
    bool have_response = false;
    if (p.response) {
      res = std::move(*p.response);
      have_response = true;
      if (raw.has_body && expect_continue) close_after = true;  // the client holds the body
    } else if (raw.has_body && expect_continue) {
      http::response<http::empty_body> cont{http::status::continue_, version};
      lowest(stream).expires_after(opts.idle_timeout);
      co_await http::async_write(stream, cont, asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
    }
    uint64_t discarded = 0;
    bool body_read = false;
    // The body buffer: as large as the body, up to kChunk; allocated only for a body read here.
    std::vector<char> chunk;
    auto need_chunk = [&] {
      if (!chunk.empty()) return;
      uint64_t want = kChunk;
      if (auto cl = parser.content_length(); cl && !raw.chunked)
        want = std::min<uint64_t>(*cl, kChunk);
      chunk.resize(static_cast<size_t>(std::max<uint64_t>(want, 1)));
    };
    // A body of known length that the pipeline takes in place goes from the socket straight into
    // its buffers, not through the parser's buffer and `chunk` (two copies fewer per byte).
    if (!have_response && !close_after && p.op.body && p.op.body->takes_in_place() &&
        !parser.is_done() && !raw.chunked && parser.content_length()) {
      uint64_t left = *parser.content_length();
      const size_t early = static_cast<size_t>(std::min<uint64_t>(left, buffer.size()));
      if (early > 0) {  // body bytes that arrived with the header
        auto in = buffer.data();
        if (auto st = p.op.body->feed(std::string_view(static_cast<const char*>(in.data()), early));
            !st) {
          res = api.error(st.error(), raw.method, raw.target);
          have_response = true;
        }
        buffer.consume(early);
        left -= early;
      }
      while (left > 0) {
        if (have_response) need_chunk();
        std::span<char> into = have_response ? std::span<char>(chunk) : p.op.body->in_place();
        const size_t want = static_cast<size_t>(std::min<uint64_t>(left, into.size()));
        lowest(stream).expires_after(opts.idle_timeout);
        size_t n = co_await stream.async_read_some(asio::buffer(into.data(), want),
                                                   asio::redirect_error(use_awaitable, ec));
        if (ec) co_return;  // client gone: nothing was committed
        left -= n;
        if (have_response) {  // drain what follows a failure, as below
          discarded += n;
          if (discarded > kDrainLimit) {
            close_after = true;
            break;
          }
        } else if (auto st = p.op.body->feed_in_place(n); !st) {
          res = api.error(st.error(), raw.method, raw.target);
          have_response = true;
        }
      }
      body_read = true;  // the parser never saw the body; the next request gets a new parser
    }
    // Read the body: into the pipeline, or discarded (rejected requests, bodies nobody wants).
    // Beast reads a socket into `buffer` at most its free capacity at a time (64 KiB at most):
    // with the few KiB left after a header, an 8 MiB body took thousands of small recvmsg calls,
    // each re-arming the timer and waking the coroutine.
    if (!body_read && !close_after && !parser.is_done()) {
      need_chunk();
      buffer.reserve(kSocketRead);
    }
    while (!body_read && !close_after && !parser.is_done()) {
      h.body().data = chunk.data();
      h.body().size = chunk.size();
      lowest(stream).expires_after(opts.idle_timeout);
      co_await http::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
      if (ec == http::error::need_buffer) ec = {};
      if (ec) co_return;  // client gone or framing broken: nothing was committed
      size_t n = chunk.size() - h.body().size;
      if (!have_response && p.op.body && n > 0) {
        if (auto st = p.op.body->feed(std::string_view(chunk.data(), n)); !st) {
          res = api.error(st.error(), raw.method, raw.target);
          have_response = true;
        }
      } else {
        discarded += n;
        if (discarded > kDrainLimit) close_after = true;
      }
    }
    if (!have_response) {
      Operation op = std::move(p.op);
      res = co_await on_pool(blocking, [&op]() { return op.finish(op.body.get()); });
    }
    bool ka = keep_alive && !close_after && !res.close;
    bool ok = co_await write_response(stream, res, version, ka);
    if (!ok || !ka) co_return;
  }
}

StoreServer::StoreServer(S3Api& api, ServerOptions options)
    : impl_(std::make_unique<Impl>(api, std::move(options))) {}

StoreServer::~StoreServer() { stop(); }

Status StoreServer::start() {
  Impl& m = *impl_;
  if (!m.opts.tls_cert.empty() || !m.opts.tls_key.empty()) {
    if (m.opts.tls_cert.empty() || m.opts.tls_key.empty())
      return make_error(Errc::kConfig, "--tls-cert and --tls-key go together");
    try {
      m.tls.emplace(ssl::context::tls_server);
      m.tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1);
      m.tls->use_certificate_chain_file(m.opts.tls_cert);
      m.tls->use_private_key_file(m.opts.tls_key, ssl::context::pem);
    } catch (const boost::system::system_error& e) {
      return make_error(Errc::kConfig, "TLS certificate/key: " + std::string(e.what()));
    }
  }
  std::string where = m.opts.host + ":" + std::to_string(m.opts.port);
  try {
    auto& ctx = m.pool.at(0);
    tcp::resolver resolver(ctx);
    auto results = resolver.resolve(m.opts.host, std::to_string(m.opts.port));
    tcp::endpoint ep = results.begin()->endpoint();
    m.acceptor = std::make_unique<tcp::acceptor>(ctx);
    m.acceptor->open(ep.protocol());
    m.acceptor->set_option(tcp::acceptor::reuse_address(true));
    m.acceptor->bind(ep);
    m.acceptor->listen(asio::socket_base::max_listen_connections);
    m.port = m.acceptor->local_endpoint().port();
  } catch (const boost::system::system_error& e) {
    return make_error(Errc::kIo, "cannot listen on " + where + ": " + e.code().message());
  }
  asio::co_spawn(m.pool.at(0), m.accept_loop(), asio::detached);
  m.pool.start();
  m.started = true;
  return {};
}

void StoreServer::stop() {
  Impl& m = *impl_;
  if (!m.started || m.stopped) return;
  m.stopped = true;
  asio::post(m.pool.at(0), [&m] {
    beast::error_code ec;
    m.acceptor->close(ec);
  });
  m.pool.stop();
  m.blocking.join();
}

uint16_t StoreServer::port() const { return impl_->port; }

const ConnectionCounters& StoreServer::connection_counters() const { return impl_->counters; }

}  // namespace ingestor::store
