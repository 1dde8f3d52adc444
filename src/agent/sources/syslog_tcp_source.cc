#include "agent/sources/syslog_tcp_source.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>

#include "agent/sources/syslog_events.h"
#include "base/log.h"
#include "base/timezone.h"

namespace ingestor {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct SyslogTcpSource::Impl : std::enable_shared_from_this<SyslogTcpSource::Impl> {
  struct Listener {
    explicit Listener(asio::io_context& io) : acceptor(io), timer(io) {}
    size_t index = 0;  // into opts.ports
    tcp::acceptor acceptor;
    asio::steady_timer timer;
    std::chrono::milliseconds backoff{0};
    int bound = 0;
  };
  struct Connection;

  Impl(SyslogTcpSource& s, net::IoPool& p, SyslogTcpSourceOptions o)
      : source(s), pool(p), opts(std::move(o)) {
    parser.keep = opts.keep;
    parser.capitalized_headers = opts.multiport;
    parser.zone = TimeZone::local();
    add_headers = {opts.client_ip_header, opts.client_hostname_header, opts.port_header};
  }
  SyslogTcpSource& source;
  net::IoPool& pool;
  SyslogTcpSourceOptions opts;
  SyslogParserOptions parser;
  std::vector<std::unique_ptr<Listener>> listeners;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::set<std::shared_ptr<Connection>> conns;
  SyslogEventCounters counters;
  SyslogEventHeaders add_headers;
  Counter accept_fail;
  log::Throttle accept_log;

  void accept(Listener& l);
  void serve(Listener& l, tcp::socket s);
};

struct SyslogTcpSource::Impl::Connection : std::enable_shared_from_this<Connection> {
  Connection(std::shared_ptr<Impl> i, tcp::socket s, const SyslogTcpPort& p, int local_port)
      : impl(std::move(i)),
        socket(std::move(s)),
        timer(socket.get_executor()),
        port(p),
        framer(impl->opts.event_size) {
    ctx.local_port = local_port;
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (!ec) ctx.set_peer(remote.address().to_string(), remote.port());
    if (!impl->opts.client_hostname_header.empty() && !ec)
      ctx.peer_hostname = reverse_lookup(remote.data(), static_cast<socklen_t>(remote.size()));
    new_chunk();
  }

  std::shared_ptr<Impl> impl;
  tcp::socket socket;
  asio::steady_timer timer;
  SyslogTcpPort port;
  SyslogTcpFramer framer;
  SyslogStampCache stamps;  // this connection's last RFC 3164 stamp
  SyslogEventContext ctx;
  static constexpr size_t kChunk = 64 * 1024;
  ChunkRef chunk;
  size_t start = 0;  // first byte not consumed by the framer
  size_t len = 0;    // bytes in the chunk
  bool eof = false;
  Batch pending;
  size_t next = 0;
  Batch batch;
  PutProgress progress;
  std::chrono::milliseconds retry_delay{1};

  // A new read buffer holding the unconsumed tail; at least 16 KiB of room.
  void new_chunk() {
    const size_t tail = len - start;
    Chunk* c = Chunk::make(std::max(kChunk, tail + 16 * 1024));
    if (tail) std::memcpy(c->data(), chunk->data() + start, tail);
    chunk = ChunkRef::adopt(c);
    start = 0;
    len = tail;
  }

  void read() {
    if (impl->stopping) return close();
    const size_t cap = chunk->capacity();
    if (cap - len < 16 * 1024) {
      if (chunk->refs() == 1 && start > 0 && cap == kChunk) {
        std::memmove(chunk->data(), chunk->data() + start, len - start);
        len -= start;
        start = 0;
      } else {
        new_chunk();
      }
    }
    auto self = shared_from_this();
    socket.async_read_some(asio::buffer(chunk->data() + len, chunk->capacity() - len),
                           [self](boost::system::error_code ec, size_t n) {
                             if (ec) {
                               self->eof = true;
                               self->finish();
                             } else {
                               self->len += n;
                               self->frame();
                             }
                             self->commit_pending();
                           });
  }

  void frame() {
    const int64_t now = now_ms();
    const size_t before = pending.size();
    for (;;) {
      SyslogFrame f;
      size_t consumed = 0;
      std::string_view data(chunk->data() + start, len - start);
      const bool got = framer.next(data, f, consumed);
      if (got) add(data, f, now);
      start += consumed;
      if (!got) break;
    }
    // Counted per read, not per event.
    impl->source.counters().event_received.add(static_cast<int64_t>(pending.size() - before));
  }

  void finish() {
    SyslogFrame f;
    std::string_view data(chunk->data() + start, len - start);
    if (framer.finish(data, f)) {
      add(data, f, now_ms());
      impl->source.counters().event_received.add();
    }
    start = len;
  }

  void add(std::string_view data, const SyslogFrame& f, int64_t now) {
    std::string_view msg = data.substr(f.begin, f.end - f.begin);
    bool decode_failed = false;
    pending.push_back(make_syslog_event(msg, chunk, f.truncated, impl->opts.multiport, port.charset,
                                        impl->parser, now, ctx, impl->add_headers, &decode_failed,
                                        &stamps));
    auto& c = impl->source.counters();
    if (decode_failed) c.event_read_fail.add();
    note_bad_syslog_event(impl->counters, impl->source.type(), impl->source.name(), pending.back(),
                          ctx, msg);
  }

  size_t max_batch() const {
    return std::max<size_t>(1, std::min(impl->source.processor().max_batch(),
                                        impl->opts.batch_size ? impl->opts.batch_size : SIZE_MAX));
  }

  void commit_pending() {
    if (next >= pending.size()) {
      pending.clear();
      next = 0;
      if (eof) return close();
      return read();
    }
    const size_t k = std::min(max_batch(), pending.size() - next);
    batch.clear();
    if (next == 0 && k == pending.size()) {
      batch.swap(pending);
    } else {
      batch.reserve(k);
      for (size_t i = 0; i < k; ++i) batch.push_back(std::move(pending[next + i]));
    }
    progress = PutProgress{};
    retry_delay = std::chrono::milliseconds(1);
    try_commit(k);
  }

  void try_commit(size_t k) {
    auto self = shared_from_this();
    impl->source.processor().process_async(batch, progress, [self, k](Status s) {
      asio::dispatch(self->socket.get_executor(), [self, k, s = std::move(s)]() mutable {
        self->on_committed(k, std::move(s));
      });
    });
  }

  void on_committed(size_t k, Status s) {
    auto& c = impl->source.counters();
    if (s) {
      c.event_accepted.add(static_cast<int64_t>(k));
      c.append_batch_accepted.add();
    } else if (s.error().retryable() && !impl->stopping) {
      // Backpressure: nothing is read from this connection until the batch is in.
      timer.expires_after(retry_delay);
      retry_delay = std::min(retry_delay * 2, std::chrono::milliseconds(100));
      auto self = shared_from_this();
      timer.async_wait([self, k](boost::system::error_code ec) {
        if (ec || self->impl->stopping) return self->close();
        self->try_commit(k);
      });
      return;
    } else {
      c.channel_write_fail.add();
      log::warn("{} source {}: dropped {} events from {}: {}", impl->source.type(),
                impl->source.name(), k, log::escape(ctx.peer_ip), s.error().message);
    }
    next += k;
    commit_pending();
  }

  void close() {
    if (!socket.is_open()) return;
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    timer.cancel();
    impl->source.counters().open_connection.add(-1);
    std::lock_guard<std::mutex> lk(impl->mu);
    impl->conns.erase(shared_from_this());
  }
};

void SyslogTcpSource::Impl::accept(Listener& l) {
  auto self = shared_from_this();
  l.acceptor.async_accept(pool.next(), [self, &l](boost::system::error_code ec, tcp::socket s) {
    if (self->stopping) return;
    if (ec == asio::error::operation_aborted && !l.acceptor.is_open()) {
      log::error("{} source {}: the listener on port {} was closed", self->source.type(),
                 self->source.name(), l.bound);
      return;
    }
    if (ec) {
      // Out of file descriptors (EMFILE): back off 10 ms doubling to 1 s, as netcat.
      self->accept_fail.add();
      l.backoff =
          std::clamp(l.backoff * 2, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
      if (self->accept_log.allow())
        log::warn("{} source {}: accept failed: {}; retrying in {} ms", self->source.type(),
                  self->source.name(), ec.message(), l.backoff.count());
      l.timer.expires_after(l.backoff);
      l.timer.async_wait([self, &l](boost::system::error_code) {
        if (!self->stopping) self->accept(l);
      });
      return;
    }
    l.backoff = std::chrono::milliseconds(0);
    self->serve(l, std::move(s));
    self->accept(l);
  });
}

void SyslogTcpSource::Impl::serve(Listener& l, tcp::socket s) {
  std::shared_ptr<Connection> conn;
  try {
    conn = std::make_shared<Connection>(shared_from_this(), std::move(s), opts.ports[l.index],
                                        l.bound);
  } catch (const std::exception& e) {  // std::bad_alloc: refuse this one, keep listening
    accept_fail.add();
    if (accept_log.allow())
      log::error("{} source {}: cannot serve a new connection: {}", source.type(), source.name(),
                 e.what());
    return;
  }
  {
    std::lock_guard<std::mutex> lk(mu);
    conns.insert(conn);
  }
  source.counters().open_connection.add(1);
  asio::dispatch(conn->socket.get_executor(), [conn] { conn->read(); });
}

SyslogTcpSource::SyslogTcpSource(std::string name, std::shared_ptr<ChannelProcessor> processor,
                                 net::IoPool& pool, SyslogTcpSourceOptions options)
    : Source(std::move(name), options.multiport ? "multiport_syslogtcp" : "syslogtcp",
             std::move(processor)),
      impl_(std::make_shared<Impl>(*this, pool, std::move(options))) {}

SyslogTcpSource::~SyslogTcpSource() { stop(); }

Status SyslogTcpSource::start() {
  auto& impl = *impl_;
  const std::string host = impl.opts.host.empty() ? "0.0.0.0" : impl.opts.host;
  impl.listeners.clear();
  for (size_t i = 0; i < impl.opts.ports.size(); ++i) {
    const uint16_t port = impl.opts.ports[i].port;
    boost::system::error_code ec;
    tcp::resolver resolver(impl.pool.at(0));
    auto results = resolver.resolve(host, std::to_string(port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty())
      return make_error(Errc::kConfig, "cannot resolve host '" + host + "': " + ec.message());
    auto l = std::make_unique<Impl::Listener>(impl.pool.at(0));
    l->index = i;
    tcp::endpoint ep = results.begin()->endpoint();
    l->acceptor.open(ep.protocol(), ec);
    if (!ec) l->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) l->acceptor.bind(ep, ec);
    if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      impl.listeners.clear();
      return make_error(
          Errc::kIo, "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
    }
    l->bound = l->acceptor.local_endpoint().port();
    impl.listeners.push_back(std::move(l));
  }
  impl.stopping = false;
  counters_.started();
  for (auto& l : impl.listeners) {
    asio::post(l->acceptor.get_executor(), [i = impl_, lp = l.get()] { i->accept(*lp); });
    log::info("{} source {} listening on {}:{}", type(), name(), host, l->bound);
  }
  return {};
}

void SyslogTcpSource::stop() {
  if (impl_->stopping.exchange(true)) return;
  auto impl = impl_;
  for (auto& l : impl->listeners) {
    asio::post(l->acceptor.get_executor(), [impl, lp = l.get()] {
      boost::system::error_code ignored;
      lp->acceptor.close(ignored);
      lp->timer.cancel();
    });
  }
  std::set<std::shared_ptr<Impl::Connection>> conns;
  {
    std::lock_guard<std::mutex> lk(impl->mu);
    conns = impl->conns;
  }
  for (auto& c : conns) asio::post(c->socket.get_executor(), [c] { c->close(); });
  counters_.stopped();
}

int SyslogTcpSource::bound_port() const {
  return impl_->listeners.empty() ? 0 : impl_->listeners.front()->bound;
}

std::vector<int> SyslogTcpSource::bound_ports() const {
  std::vector<int> out;
  for (auto& l : impl_->listeners) out.push_back(l->bound);
  return out;
}

void SyslogTcpSource::collect_metrics(MetricList& out) const {
  counters_.collect(out);
  impl_->counters.collect(out);
  out.emplace_back("AcceptFailCount", std::to_string(impl_->accept_fail.get()));
}

}  // namespace ingestor
