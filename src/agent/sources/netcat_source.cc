#include "agent/sources/netcat_source.h"

#include <algorithm>
#include <boost/asio.hpp>
#include <cstring>

#include "base/log.h"

namespace ingestor {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

const ComponentSpec& netcat_source_spec() {
  static const ComponentSpec spec{
      "source",
      "netcat",
      "org.apache.flume.source.NetcatSource",
      "Line-oriented TCP source: one event per line, acknowledged with OK.",
      {
          {"bind", KeyType::kString, std::nullopt, true, "Host name or IP address to listen on"},
          {"port", KeyType::kInt, std::nullopt, true, "TCP port (0: any free port)", 0, 65535},
          {"max-line-length", KeyType::kInt, "512", false,
           "Maximum line length in characters, including the newline (at most 1048576)", 1,
           static_cast<int64_t>(kNetcatMaxLineLengthLimit)},
          {"ack-every-event", KeyType::kBool, "true", false,
           "Answer OK after each event is committed; off: push back on a full channel"},
          {"encoding", KeyType::kString, "utf-8", false,
           "Charset of the input (and of the replies); bodies are stored as UTF-8"},
      }};
  return spec;
}

Result<NetcatSourceOptions> netcat_source_options(const Settings& s) {
  NetcatSourceOptions o;
  o.bind = s.str("bind");
  o.port = static_cast<uint16_t>(s.i64("port"));
  o.max_line_length = static_cast<size_t>(s.i64("max-line-length"));
  o.ack_every_event = s.boolean("ack-every-event");
  auto cs = charset_from_name(s.str("encoding"));
  if (!cs)
    return make_error(Errc::kConfig, "encoding: unsupported charset '" + s.str("encoding") + "'");
  o.encoding = *cs;
  return o;
}

struct NetcatSource::Impl : std::enable_shared_from_this<NetcatSource::Impl> {
  Impl(NetcatSource& src, net::IoPool& p, NetcatSourceOptions o)
      : source(src), pool(p), opts(std::move(o)), acceptor(p.at(0)) {}
  NetcatSource& source;
  net::IoPool& pool;
  NetcatSourceOptions opts;
  tcp::acceptor acceptor;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::set<std::shared_ptr<Connection>> conns;
  // Accept failures (EMFILE, ENFILE, ENOBUFS, ...): counted, logged once a second at most, and
  // retried after a back-off that doubles from 10 ms to 1 s while they last.
  Counter accept_fail;
  log::Throttle accept_log;
  asio::steady_timer accept_timer{acceptor.get_executor()};
  std::chrono::milliseconds accept_backoff{0};

  void accept();
  void on_accept_error(const boost::system::error_code& ec);
  void serve(tcp::socket s);
};

struct NetcatSource::Connection : std::enable_shared_from_this<NetcatSource::Connection> {
  Connection(std::shared_ptr<Impl> i, tcp::socket s)
      : impl(std::move(i)), socket(std::move(s)), timer(socket.get_executor()) {
    const auto& o = impl->opts;
    // A line of max-line-length UTF-16 units takes at most 3 bytes a unit in UTF-8: the buffer
    // grows to that when a line needs it (new_chunk), never up front.
    max_line_bytes = 3 * o.max_line_length + 16;
    new_chunk(0);
    ok_reply =
        encode_from_utf8("OK\n", o.encoding == Charset::kUtf16 ? Charset::kUtf16Be : o.encoding);
  }

  std::shared_ptr<Impl> impl;
  tcp::socket socket;
  asio::steady_timer timer;
  // Read buffers start at 64 KiB and double, up to 1 MiB, while reads fill them (a sender with
  // more data waiting) and commits are slow (a file channel's fsync): one read is one batch and
  // one commit round trip, so then a connection's throughput is its batch size per fsync. With
  // fast commits (a memory channel) larger reads gain nothing and would only hold more memory;
  // idle or slow connections stay small too.
  static constexpr size_t kMinChunk = 64 * 1024;
  static constexpr size_t kMaxChunk = 1024 * 1024;
  static constexpr size_t min_cap = kMinChunk;
  size_t buf_cap = kMinChunk;  // capacity of the next chunk; the current one has chunk->capacity()
  size_t max_line_bytes = 0;   // the most bytes an acceptable line can take
  bool slow_commits = false;   // the last commit took longer than kSlowCommit
  static constexpr auto kSlowCommit = std::chrono::microseconds(500);
  ChunkRef chunk;
  size_t start = 0;      // first byte of the unparsed line
  size_t len = 0;        // bytes of data in the chunk
  std::string raw_tail;  // undecoded bytes (non-UTF-8 encodings)
  std::string decode_in;
  char read_buf[16 * 1024];

  Batch pending;    // parsed events not yet committed
  size_t next = 0;  // index of the first uncommitted event in `pending`
  Batch batch;      // the slice being committed
  PutProgress progress;
  std::chrono::steady_clock::time_point first_try;
  std::chrono::milliseconds retry_delay{1};
  bool too_long = false;  // an over-long line was found: reply FAILED and close after `pending`
  bool eof = false;
  std::string out;  // replies to write
  std::string ok_reply;

  Charset cs() const { return impl->opts.encoding; }

  void new_chunk(size_t keep_from) {
    // Start a new read buffer holding the unparsed tail [keep_from, len).
    size_t tail = len - keep_from;
    // An unfinished long line: twice its bytes so far, so that reads stay large, up to what the
    // longest acceptable line needs (parse() fails the line once it is longer).
    size_t cap = buf_cap;
    if (tail > cap / 2) cap = std::max(cap, std::min(2 * tail, max_line_bytes + kMinChunk));
    cap = std::max(cap, tail + 4096);  // never less room than that: parse() fails sooner
    Chunk* c = Chunk::make(cap);
    if (tail) std::memcpy(c->data(), chunk->data() + keep_from, tail);
    chunk = ChunkRef::adopt(c);
    start = 0;
    len = tail;
  }

  void start_reading() {
    impl->source.counters().open_connection.add(1);
    read();
  }

  void read() {
    if (impl->stopping) return close();
    // Keep reading into the same chunk while it has room; the parsed part may still be
    // referenced by events in the channel, so it is never overwritten.
    const size_t cap = chunk->capacity();
    size_t room = cap - len;
    if (room < std::min<size_t>(cap / 4, 8192) || (start == len && room < cap / 2) ||
        (cap < buf_cap && start == len)) {
      if (chunk->refs() == 1 && start > 0 && cap == buf_cap) {
        std::memmove(chunk->data(), chunk->data() + start, len - start);
        len -= start;
        start = 0;
      } else {
        new_chunk(start);
      }
    }
    auto self = shared_from_this();
    if (cs() == Charset::kUtf8) {
      const size_t want = chunk->capacity() - len;
      socket.async_read_some(asio::buffer(chunk->data() + len, want),
                             [self, want](boost::system::error_code ec, size_t n) {
                               self->adapt(n, want);
                               self->on_read(ec, n, false);
                             });
    } else {
      // Decoded text can be up to 3x the input bytes (Latin-1 -> UTF-8 is at most 2x, UTF-16 3x).
      size_t max_in = std::min(sizeof read_buf, (chunk->capacity() - len) / 3);
      socket.async_read_some(
          asio::buffer(read_buf, std::max<size_t>(max_in, 4)),
          [self](boost::system::error_code ec, size_t n) { self->on_read(ec, n, true); });
    }
  }

  // Grows the next chunk when a read filled all the room it had, shrinks it when reads are
  // small again.
  void adapt(size_t got, size_t wanted) {
    if (got == wanted && wanted >= buf_cap / 2 && slow_commits)
      buf_cap = std::min(buf_cap * 2, kMaxChunk);
    else if (got < buf_cap / 8)
      buf_cap = std::max(buf_cap / 2, min_cap);
  }

  void on_read(boost::system::error_code ec, size_t n, bool decode) {
    if (ec) {
      // EOF or error: a final line without a newline is discarded (as Flume).
      eof = true;
      return flush_then_close();
    }
    if (decode) {
      decode_in.assign(raw_tail);
      decode_in.append(read_buf, n);
      size_t usable = decode_in.size();
      size_t unit =
          (cs() == Charset::kUtf16 || cs() == Charset::kUtf16Be || cs() == Charset::kUtf16Le)   ? 2
          : (cs() == Charset::kUtf32 || cs() == Charset::kUtf32Be || cs() == Charset::kUtf32Le) ? 4
                                                                                                : 1;
      usable -= usable % unit;
      std::string text = decode_to_utf8(std::string_view(decode_in).substr(0, usable), cs());
      raw_tail = decode_in.substr(usable);
      const size_t room = chunk->capacity() - len;
      if (text.size() > room) text.resize(room);  // cannot happen: sized above
      std::memcpy(chunk->data() + len, text.data(), text.size());
      n = text.size();
    }
    size_t scan = len;
    len += n;
    parse(scan);
    commit_pending();
  }

  void parse(size_t scan) {
    const size_t max = impl->opts.max_line_length;
    char* base = chunk->data();
    size_t received = 0;
    while (scan < len) {
      char* nl = static_cast<char*>(std::memchr(base + scan, '\n', len - scan));
      if (!nl) break;
      size_t end = static_cast<size_t>(nl - base);
      size_t bytes = end - start;
      if (bytes + 1 > max && utf16_length(std::string_view(base + start, bytes)) + 1 > max) {
        too_long = true;
        break;
      }
      // The reference is taken below for all the lines of this read at once.
      pending.emplace_back(Slice(ChunkRef::adopt(chunk.get()), base + start, bytes));
      ++received;
      start = end + 1;
      scan = start;
    }
    if (!too_long && len - start >= max &&
        utf16_length(std::string_view(base + start, len - start)) >= max) {
      too_long = true;  // the buffer holds max chars and no newline yet
    }
    if (received) {
      // Before the events are published to any other thread (commit_pending comes after).
      chunk->ref(static_cast<uint32_t>(received));
      impl->source.counters().event_received.add(static_cast<int64_t>(received));
    }
  }

  // Commits `pending` slice by slice, then writes the replies and reads on.
  void commit_pending() {
    if (next >= pending.size()) {
      pending.clear();
      next = 0;
      return after_commit();
    }
    size_t max_batch = impl->source.processor().max_batch();
    size_t k = std::min(max_batch, pending.size() - next);
    batch.clear();
    if (next == 0 && k == pending.size()) {
      // The common case, one read in one transaction: hand the vector over. `pending` is left
      // empty, so `next += k` below ends the loop.
      batch.swap(pending);
    } else {
      batch.reserve(k);
      for (size_t i = 0; i < k; ++i) batch.push_back(std::move(pending[next + i]));
    }
    progress = PutProgress{};
    first_try = std::chrono::steady_clock::now();
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
    auto& counters = impl->source.counters();
    const bool ack = impl->opts.ack_every_event;
    if (s) {
      // A commit that had to wait for room (retries) says nothing about its own cost.
      const bool retried = retry_delay != std::chrono::milliseconds(1);
      slow_commits = !retried && std::chrono::steady_clock::now() - first_try >= kSlowCommit;
      counters.event_accepted.add(static_cast<int64_t>(k));
      counters.append_batch_accepted.add();
      if (ack)
        for (size_t i = 0; i < k; ++i) out += ok_reply;
      next += k;
      return commit_pending();
    }
    bool full = s.error().code == Errc::kChannelFull;
    auto waited = std::chrono::steady_clock::now() - first_try;
    if (full && !impl->stopping && (!ack || waited < impl->opts.keep_alive)) {
      // Back off and retry the same batch; with acks off this is TCP backpressure: nothing is
      // read from the socket meanwhile.
      timer.expires_after(retry_delay);
      retry_delay = std::min(retry_delay * 2, std::chrono::milliseconds(100));
      auto self = shared_from_this();
      timer.async_wait([self, k](boost::system::error_code ec) {
        if (ec || self->impl->stopping) return self->close();
        self->try_commit(k);
      });
      return;
    }
    counters.channel_write_fail.add();
    if (ack) {
      std::string failed = encode_from_utf8("FAILED: " + s.error().message + "\n",
                                            cs() == Charset::kUtf16 ? Charset::kUtf16Be : cs());
      for (size_t i = 0; i < k; ++i) out += failed;
    } else {
      log::warn("netcat source {}: dropped {} events: {}", impl->source.name(), k,
                s.error().message);
    }
    next += k;
    commit_pending();
  }

  void after_commit() {
    if (too_long) {
      impl->source.counters().event_read_fail.add();
      out += encode_from_utf8("FAILED: Event exceeds the maximum length (" +
                                  std::to_string(impl->opts.max_line_length) +
                                  " chars, including newline)\n",
                              cs() == Charset::kUtf16 ? Charset::kUtf16Be : cs());
      eof = true;
    }
    if (out.empty()) return eof ? close() : read();
    auto self = shared_from_this();
    asio::async_write(socket, asio::buffer(out), [self](boost::system::error_code ec, size_t) {
      self->out.clear();
      if (ec || self->eof) return self->close();
      self->read();
    });
  }

  void flush_then_close() {
    if (!out.empty()) return after_commit();
    close();
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

void NetcatSource::Impl::accept() {
  auto self = shared_from_this();
  acceptor.async_accept(pool.next(), [self](boost::system::error_code ec, tcp::socket s) {
    if (self->stopping) return;
    if (ec == asio::error::operation_aborted && !self->acceptor.is_open()) {
      // Closed by someone else than stop(): say so, the source takes no more connections.
      log::error("netcat source {}: the listener was closed; no more connections are accepted",
                 self->source.name());
      return;
    }
    if (ec) return self->on_accept_error(ec);
    self->accept_backoff = std::chrono::milliseconds(0);
    self->serve(std::move(s));
    self->accept();
  });
}

void NetcatSource::Impl::on_accept_error(const boost::system::error_code& ec) {
  // Out of file descriptors, the connection stays in the backlog and accept() fails again at
  // once: retrying without a pause would spin a core and flood the log.
  accept_fail.add();
  accept_backoff = std::clamp(accept_backoff * 2, std::chrono::milliseconds(10),
                              std::chrono::milliseconds(1000));
  if (accept_log.allow()) {
    const uint64_t more = accept_log.take_suppressed();
    log::warn("netcat source {}: accept failed: {}; retrying in {} ms{}", source.name(),
              ec.message(), accept_backoff.count(),
              more ? " (" + std::to_string(more) + " more failures not logged)" : std::string());
  }
  accept_timer.expires_after(accept_backoff);
  accept_timer.async_wait([self = shared_from_this()](boost::system::error_code) {
    if (self->stopping) return;
    self->accept();
  });
}

void NetcatSource::Impl::serve(tcp::socket s) {
  boost::system::error_code ec;
  s.set_option(tcp::no_delay(true), ec);
  std::shared_ptr<Connection> conn;
  try {
    conn = std::make_shared<Connection>(shared_from_this(), std::move(s));
  } catch (const std::exception& e) {  // std::bad_alloc: refuse this one, keep listening
    accept_fail.add();
    if (accept_log.allow())
      log::error("netcat source {}: cannot serve a new connection: {}", source.name(), e.what());
    return;  // the socket, moved into nothing, is closed by its destructor
  }
  {
    std::lock_guard<std::mutex> lk(mu);
    conns.insert(conn);
  }
  asio::dispatch(conn->socket.get_executor(), [conn] { conn->start_reading(); });
}

NetcatSource::NetcatSource(std::string name, std::shared_ptr<ChannelProcessor> processor,
                           net::IoPool& pool, NetcatSourceOptions options)
    : Source(std::move(name), "netcat", std::move(processor)),
      impl_(std::make_shared<Impl>(*this, pool, std::move(options))) {}

NetcatSource::~NetcatSource() { stop(); }

Status NetcatSource::start() {
  boost::system::error_code ec;
  const auto& o = impl_->opts;
  std::string where = o.bind + ":" + std::to_string(o.port);
  tcp::resolver resolver(impl_->pool.at(0));
  auto results = resolver.resolve(o.bind, std::to_string(o.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty())
    return make_error(Errc::kConfig,
                      "cannot resolve bind address '" + o.bind + "': " + ec.message());
  tcp::endpoint ep = results.begin()->endpoint();
  auto& acc = impl_->acceptor;
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acc.close(ignored);
    return make_error(Errc::kIo, "cannot listen on " + where + ": " + ec.message());
  }
  bound_port_ = acc.local_endpoint().port();
  impl_->stopping = false;
  counters_.started();
  asio::post(acc.get_executor(), [impl = impl_] { impl->accept(); });
  log::info("netcat source {} listening on {}:{}", name(), o.bind, bound_port_);
  return {};
}

void NetcatSource::stop() {
  if (impl_->stopping.exchange(true)) return;
  auto impl = impl_;
  asio::post(impl->acceptor.get_executor(), [impl] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    impl->accept_timer.cancel();
  });
  std::set<std::shared_ptr<Connection>> conns;
  {
    std::lock_guard<std::mutex> lk(impl->mu);
    conns = impl->conns;
  }
  for (auto& c : conns) asio::post(c->socket.get_executor(), [c] { c->close(); });
  counters_.stopped();
}

void NetcatSource::collect_metrics(MetricList& out) const {
  counters_.collect(out);
  out.emplace_back("AcceptFailCount", std::to_string(impl_->accept_fail.get()));
}

}  // namespace ingestor
