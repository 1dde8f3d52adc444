#include "agent/sources/avro_source.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <optional>
#include <set>

#include "agent/avro_rpc_options.h"
#include "base/compression.h"
#include "base/log.h"
#include "core/avro_rpc.h"

namespace ingestor {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

const ComponentSpec& avro_source_spec() {
  static const ComponentSpec spec{
      "source",
      "avro",
      "org.apache.flume.source.AvroSource",
      "Avro RPC server for Flume's AvroSourceProtocol (what an avro sink sends to).",
      {
          {"bind", KeyType::kString, std::nullopt, true, "Host name or IP address to listen on"},
          {"port", KeyType::kInt, std::nullopt, true, "TCP port (0: any free port)", 0, 65535},
          {"threads", KeyType::kString, std::nullopt, false,
           "Accepted and ignored (as in Flume 1.11): the agent's I/O threads serve"},
          {"compression-type", KeyType::kString, "none", false,
           "none or deflate (zlib on both directions; the sink must match)"},
          {"ipFilter", KeyType::kBool, "false", false, "Check connections against ipFilterRules"},
          {"ipFilterRules", KeyType::kString, std::nullopt, false,
           "Comma-separated allow|deny:ip|name:pattern rules; the first match decides, no match "
           "accepts"},
          {"ssl", KeyType::kBool, "false", false, "TLS (not together with deflate)"},
          {"keystore", KeyType::kString, std::nullopt, false,
           "Certificate chain and key: a PEM file or PKCS12 (JKS: convert it, see the message)"},
          {"keystore-password", KeyType::kString, std::nullopt, false, "Keystore password (TLS)"},
          {"keystore-type", KeyType::kString, "JKS", false,
           "JKS, PKCS12 or PEM (a PEM file is read as PEM whatever the type)"},
          {"exclude-protocols", KeyType::kList, "SSLv3", false, "TLS protocols to exclude"},
          {"include-protocols", KeyType::kList, std::nullopt, false, "TLS protocols to include"},
          {"exclude-cipher-suites", KeyType::kList, std::nullopt, false,
           "Cipher suites to exclude"},
          {"include-cipher-suites", KeyType::kList, std::nullopt, false,
           "Cipher suites to include"},
      }};
  return spec;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::vector<IpFilterRule>> parse_ip_filter_rules(std::string_view rules) {
  std::vector<IpFilterRule> out;
  size_t start = 0;
  for (;;) {
    const size_t comma = rules.find(',', start);
    std::string_view rule = trim(rules.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    auto bad = [&] {
      return make_error(Errc::kConfig, "ipFilterRules: Invalid ipFilter patternRule '" +
                                           std::string(rule) +
                                           "' should look like <'allow'  or 'deny'>:<'ip' or "
                                           "'name'>:<pattern>");
    };
    const size_t c1 = rule.find(':');
    const size_t c2 = c1 == std::string_view::npos ? c1 : rule.find(':', c1 + 1);
    if (c2 == std::string_view::npos) return bad();
    IpFilterRule r;
    std::string_view verb = rule.substr(0, c1), kind = rule.substr(c1 + 1, c2 - c1 - 1);
    if (verb == "allow")
      r.allow = true;
    else if (verb == "deny")
      r.allow = false;
    else
      return bad();
    if (kind == "ip")
      r.by_name = false;
    else if (kind == "name")
      r.by_name = true;
    else
      return bad();
    r.pattern = std::string(rule.substr(c2 + 1));
    if (r.pattern.empty()) return bad();
    out.push_back(std::move(r));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

bool ip_pattern_match(std::string_view p, std::string_view t) {
  // Iterative glob with backtracking to the last '*'.
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool ip_filter_allows(const std::vector<IpFilterRule>& rules, std::string_view ip, bool local,
                      const std::function<std::string()>& host_name) {
  std::optional<std::string> name;
  for (const auto& r : rules) {
    bool match;
    if (!r.by_name) {
      match = ip_pattern_match(r.pattern, ip);
    } else if (r.pattern == "localhost") {
      match = local;
    } else {
      if (!name) name = host_name ? host_name() : std::string(ip);
      match = ip_pattern_match(r.pattern, *name);
    }
    if (match) return r.allow;
  }
  return true;
}

Result<AvroSourceOptions> avro_source_options(const Settings& s,
                                              std::vector<std::string>* warnings) {
  AvroSourceOptions o;
  o.bind = s.str("bind");
  o.port = static_cast<uint16_t>(s.i64("port"));
  if (s.has("threads") && warnings) {
    int64_t v;
    bool overflow = false;
    if (!parse_java_integer(s.str("threads"), v, overflow) || overflow)
      warnings->push_back(
          "threads: AVRO source's \"threads\" property must specify an integer "
          "value: " +
          s.str("threads") + " (ignored)");
  }
  auto deflate = avro_deflate(s);
  if (!deflate) return deflate.error();
  o.deflate = *deflate;
  if (s.boolean("ssl")) {
    auto k = avro_common_tls_keys(s, o.deflate);
    if (!k) return k.error();
    k->store = s.str("keystore");
    k->password = s.str("keystore-password");
    k->type = s.str("keystore-type");
    auto ctx = net::make_server_tls(*k, warnings);
    if (!ctx) return ctx.error();
    o.tls = std::move(*ctx);
  }
  o.ip_filter = s.boolean("ipFilter");
  if (o.ip_filter) {
    if (!s.has("ipFilterRules") || trim(s.str("ipFilterRules")).empty())
      return make_error(Errc::kConfig,
                        "ipFilterRules: ipFilter is configured with true but ipFilterRules is not "
                        "defined: ");
    auto r = parse_ip_filter_rules(s.str("ipFilterRules"));
    if (!r) return r.error();
    o.rules = std::move(*r);
  }
  return o;
}

namespace {
constexpr std::chrono::milliseconds kMaxPutRetry{500};
constexpr size_t kReadSize = 64 * 1024;
}  // namespace

struct AvroSource::Impl : std::enable_shared_from_this<AvroSource::Impl> {
  struct Connection;
  Impl(AvroSource& s, net::IoPool& p, AvroSourceOptions o)
      : source(s), pool(p), opts(std::move(o)), acceptor(p.at(0)), accept_timer(p.at(0)) {}
  AvroSource& source;
  net::IoPool& pool;
  AvroSourceOptions opts;
  tcp::acceptor acceptor;
  asio::steady_timer accept_timer;
  std::chrono::milliseconds accept_backoff{0};
  int bound = 0;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::set<std::shared_ptr<Connection>> conns;
  Counter accept_fail, ip_filter_deny;
  log::Throttle accept_log, bad_log, fail_log;

  void accept();
  void serve(tcp::socket s);
};

struct AvroSource::Impl::Connection : std::enable_shared_from_this<Connection> {
  Connection(std::shared_ptr<Impl> i, tcp::socket s)
      : impl(std::move(i)), socket(std::move(s)), timer(socket.get_executor()) {
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (!ec) peer = remote.address().to_string() + ":" + std::to_string(remote.port());
    if (impl->opts.deflate) {
      inflater.emplace();
      deflater.emplace(6);
    }
    socket.set_option(tcp::no_delay(true), ec);
    socket.set_option(asio::socket_base::keep_alive(true), ec);
    if (inflater) rbuf.resize(kReadSize);
    if (impl->opts.tls) tls.emplace(socket, *impl->opts.tls);
  }

  // The first step of a connection: the TLS handshake when ssl = true, then reading.
  void begin() {
    if (!tls) return read();
    auto self = shared_from_this();
    tls->async_handshake(asio::ssl::stream_base::server, [self](boost::system::error_code ec) {
      if (ec) return self->bad("TLS handshake: " + ec.message());
      self->read();
    });
  }

  template <class Buffer, class Handler>
  void read_some(const Buffer& b, Handler&& h) {
    if (tls)
      tls->async_read_some(b, std::forward<Handler>(h));
    else
      socket.async_read_some(b, std::forward<Handler>(h));
  }

  std::shared_ptr<Impl> impl;
  tcp::socket socket;
  asio::steady_timer timer;
  std::string peer;
  std::optional<ZlibStreamInflater> inflater;
  std::optional<ZlibStreamDeflater> deflater;
  std::optional<asio::ssl::stream<tcp::socket&>> tls;
  avro_rpc::FrameDecoder decoder;
  avro_rpc::ServerSession session;
  std::vector<char> rbuf;
  std::string inflated, payload, wire;
  // The call being served.
  int32_t serial = 0;
  avro_rpc::Request req;
  size_t next = 0;         // events of req committed so far
  size_t call_events = 0;  // events of req
  Batch batch;
  PutProgress progress;
  std::chrono::milliseconds retry_delay{1};
  std::chrono::steady_clock::time_point retry_until;

  void read() {
    if (impl->stopping) return close();
    auto self = shared_from_this();
    if (!inflater) {
      // Straight into the decoder's chunk: the events' bodies are slices of it.
      size_t room = 0;
      char* p = decoder.prepare(kReadSize, room);
      read_some(asio::buffer(p, room), [self](boost::system::error_code ec, size_t n) {
        if (ec) return self->close();
        self->decoder.commit(n);
        self->serve_next();
      });
      return;
    }
    read_some(asio::buffer(rbuf), [self](boost::system::error_code ec, size_t n) {
      if (ec) return self->close();
      self->inflated.clear();
      if (auto s = self->inflater->write(std::string_view(self->rbuf.data(), n), self->inflated,
                                         64 * 1024 * 1024);
          !s)
        return self->bad(s.error().message);
      self->decoder.feed(self->inflated);
      self->serve_next();
    });
  }

  void bad(const std::string& why) {
    impl->source.counters().event_read_fail.add();
    if (impl->bad_log.allow())
      log::warn("avro source {}: closing the connection from {}: {}", impl->source.name(),
                log::escape(peer), why);
    close();
  }

  // Serves the next complete pack, or reads more.
  void serve_next() {
    if (impl->stopping) return close();
    auto p = decoder.next();
    if (!p) return bad(p.error().message);
    if (!*p) return read();
    serial = (*p)->serial;
    auto r = session.parse((*p)->payload);
    if (!r) return bad(r.error().message);
    req = std::move(*r);
    using Kind = avro_rpc::Request::Kind;
    payload = req.handshake;
    auto& c = impl->source.counters();
    switch (req.kind) {
      case Kind::kHandshakeOnly:
        return respond();
      case Kind::kPing:
        avro_rpc::write_ping_response(payload);
        return respond();
      case Kind::kUnknownMessage:
        avro_rpc::write_error_response(
            "org.apache.avro.AvroRuntimeException: No such remote message: " + req.message,
            payload);
        return respond();
      case Kind::kAppend:
        c.append_received.add();
        break;
      case Kind::kAppendBatch:
        c.append_batch_received.add();
        break;
    }
    call_events = req.events.size();
    c.event_received.add(static_cast<int64_t>(call_events));
    next = 0;
    retry_until = std::chrono::steady_clock::now() + kMaxPutRetry;
    commit_next();
  }

  size_t max_batch() const { return std::max<size_t>(1, impl->source.processor().max_batch()); }

  void commit_next() {
    if (next >= req.events.size()) return finish_call(true);
    const size_t k = std::min(max_batch(), req.events.size() - next);
    batch.clear();
    if (next == 0 && k == req.events.size()) {
      batch.swap(req.events);
    } else {
      batch.reserve(k);
      for (size_t i = 0; i < k; ++i) batch.push_back(std::move(req.events[next + i]));
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

  // True when the client has closed its side (a zero-byte peek): a put being retried for it is
  // given up, since the client resends the batch on a new connection (committing it would add a
  // copy). Best effort: under TLS the close_notify record hides the end of the stream.
  bool peer_closed() {
    char c;
    const ssize_t n = ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return true;                                                    // FIN
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;  // RST
  }

  void on_committed(size_t k, Status s) {
    if (!s) {
      if (s.error().retryable() && !impl->stopping && peer_closed()) {
        impl->source.counters().channel_write_fail.add();
        if (impl->fail_log.allow())
          log::warn(
              "avro source {}: {} gone while its batch of {} events waited for room in the "
              "channel; dropped (the client sends it again)",
              impl->source.name(), log::escape(peer), call_events);
        return close();
      }
      if (s.error().retryable() && !impl->stopping &&
          std::chrono::steady_clock::now() + retry_delay < retry_until) {
        timer.expires_after(retry_delay);
        retry_delay = std::min(retry_delay * 2, std::chrono::milliseconds(100));
        auto self = shared_from_this();
        timer.async_wait([self, k](boost::system::error_code ec) {
          if (ec || self->impl->stopping) return self->close();
          self->try_commit(k);
        });
        return;
      }
      impl->source.counters().channel_write_fail.add();
      if (impl->fail_log.allow())
        log::warn(
            "avro source {}: Unable to process event batch from {} ({} events): {}; "
            "answering FAILED",
            impl->source.name(), log::escape(peer), call_events, s.error().message);
      return finish_call(false);
    }
    next += k;
    commit_next();
  }

  void finish_call(bool ok) {
    auto& c = impl->source.counters();
    if (ok) {
      c.event_accepted.add(static_cast<int64_t>(next));
      if (req.kind == avro_rpc::Request::Kind::kAppend)
        c.append_accepted.add();
      else
        c.append_batch_accepted.add();
    }
    batch.clear();
    req.events.clear();
    avro_rpc::write_status_response(ok ? avro_rpc::CallStatus::kOk : avro_rpc::CallStatus::kFailed,
                                    payload);
    respond();
  }

  // Sends `payload` as the answer to `serial`, then serves the next pack.
  void respond() {
    wire.clear();
    if (deflater) {
      std::string framed;
      avro_rpc::encode_frame(serial, payload, framed);
      if (auto s = deflater->write_flush(framed, wire); !s) return bad(s.error().message);
    } else {
      avro_rpc::encode_frame(serial, payload, wire);
    }
    auto self = shared_from_this();
    auto done = [self](boost::system::error_code ec, size_t) {
      if (ec) return self->close();
      self->serve_next();
    };
    if (tls)
      asio::async_write(*tls, asio::buffer(wire), std::move(done));
    else
      asio::async_write(socket, asio::buffer(wire), std::move(done));
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

namespace {

std::string reverse_lookup(const tcp::endpoint& ep) {
  char host[NI_MAXHOST];
  if (getnameinfo(ep.data(), static_cast<socklen_t>(ep.size()), host, sizeof host, nullptr, 0,
                  NI_NAMEREQD) == 0)
    return host;
  return ep.address().to_string();
}

}  // namespace

void AvroSource::Impl::accept() {
  auto self = shared_from_this();
  acceptor.async_accept(pool.next(), [self](boost::system::error_code ec, tcp::socket s) {
    if (self->stopping) return;
    if (ec == asio::error::operation_aborted && !self->acceptor.is_open()) return;
    if (ec) {
      self->accept_fail.add();
      self->accept_backoff = std::clamp(self->accept_backoff * 2, std::chrono::milliseconds(10),
                                        std::chrono::milliseconds(1000));
      if (self->accept_log.allow())
        log::warn("avro source {}: accept failed: {}; retrying in {} ms", self->source.name(),
                  ec.message(), self->accept_backoff.count());
      self->accept_timer.expires_after(self->accept_backoff);
      self->accept_timer.async_wait([self](boost::system::error_code) {
        if (!self->stopping) self->accept();
      });
      return;
    }
    self->accept_backoff = std::chrono::milliseconds(0);
    self->serve(std::move(s));
    self->accept();
  });
}

void AvroSource::Impl::serve(tcp::socket s) {
  if (opts.ip_filter) {
    boost::system::error_code ec1, ec2;
    auto remote = s.remote_endpoint(ec1);
    auto local = s.local_endpoint(ec2);
    if (ec1 || ec2) return;
    const bool is_local = remote.address().is_loopback() || remote.address() == local.address();
    if (!ip_filter_allows(opts.rules, remote.address().to_string(), is_local,
                          [&] { return reverse_lookup(remote); })) {
      ip_filter_deny.add();
      if (accept_log.allow())
        log::info("avro source {}: connection from {} refused by ipFilterRules", source.name(),
                  remote.address().to_string());
      boost::system::error_code ignored;
      s.close(ignored);
      return;
    }
  }
  std::shared_ptr<Connection> conn;
  try {
    conn = std::make_shared<Connection>(shared_from_this(), std::move(s));
  } catch (const std::exception& e) {
    accept_fail.add();
    if (accept_log.allow())
      log::error("avro source {}: cannot serve a new connection: {}", source.name(), e.what());
    return;
  }
  {
    std::lock_guard<std::mutex> lk(mu);
    conns.insert(conn);
  }
  source.counters().open_connection.add(1);
  asio::dispatch(conn->socket.get_executor(), [conn] { conn->begin(); });
}

AvroSource::AvroSource(std::string name, std::shared_ptr<ChannelProcessor> processor,
                       net::IoPool& pool, AvroSourceOptions options)
    : Source(std::move(name), "avro", std::move(processor)),
      impl_(std::make_shared<Impl>(*this, pool, std::move(options))) {}

AvroSource::~AvroSource() { stop(); }

Status AvroSource::start() {
  auto& impl = *impl_;
  boost::system::error_code ec;
  tcp::resolver resolver(impl.pool.at(0));
  auto results = resolver.resolve(impl.opts.bind, std::to_string(impl.opts.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty())
    return make_error(Errc::kConfig, "avro source " + name() +
                                         ": Failed to set up server socket: "
                                         "cannot resolve bind '" +
                                         impl.opts.bind + "': " + ec.message());
  tcp::endpoint ep = results.begin()->endpoint();
  impl.acceptor.open(ep.protocol(), ec);
  if (!ec) impl.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(ep, ec);
  if (!ec) impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    impl.acceptor.close(ignored);
    return make_error(Errc::kIo, "avro source " + name() + ": Failed to set up server socket on " +
                                     impl.opts.bind + ":" + std::to_string(impl.opts.port) + ": " +
                                     ec.message());
  }
  impl.bound = impl.acceptor.local_endpoint().port();
  impl.stopping = false;
  counters_.started();
  asio::post(impl.acceptor.get_executor(), [i = impl_] { i->accept(); });
  log::info("avro source {} listening on {}:{}{}", name(), impl.opts.bind, impl.bound,
            impl.opts.deflate ? " (deflate)"
            : impl.opts.tls   ? " (TLS)"
                              : "");
  return {};
}

void AvroSource::stop() {
  if (impl_->stopping.exchange(true)) return;
  auto impl = impl_;
  asio::post(impl->acceptor.get_executor(), [impl] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    impl->accept_timer.cancel();
  });
  std::set<std::shared_ptr<Impl::Connection>> conns;
  {
    std::lock_guard<std::mutex> lk(impl->mu);
    conns = impl->conns;
  }
  for (auto& c : conns) asio::post(c->socket.get_executor(), [c] { c->close(); });
  counters_.stopped();
}

int AvroSource::bound_port() const { return impl_->bound; }

void AvroSource::collect_metrics(MetricList& out) const {
  counters_.collect(out);
  out.emplace_back("AcceptFailCount", std::to_string(impl_->accept_fail.get()));
  out.emplace_back("IpFilterDenyCount", std::to_string(impl_->ip_filter_deny.get()));
}

}  // namespace ingestor
