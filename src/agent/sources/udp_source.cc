#include "agent/sources/udp_source.h"

#include <algorithm>
#include <boost/asio.hpp>
#include <cstring>

#include "agent/sources/syslog_events.h"
#include "base/log.h"
#include "base/timezone.h"

namespace ingestor {

namespace asio = boost::asio;
using udp = asio::ip::udp;

struct UdpSource::Impl : std::enable_shared_from_this<UdpSource::Impl> {
  static constexpr size_t kChunk = 256 * 1024;
  static constexpr size_t kMaxBatch = 256;

  Impl(UdpSource& s, net::IoPool& p, UdpSourceOptions o)
      : source(s), opts(std::move(o)), socket(p.at(0)) {
    parser.keep = opts.keep;
    parser.zone = TimeZone::local();
    add_headers = {opts.client_ip_header, opts.client_hostname_header, ""};
  }
  UdpSource& source;
  UdpSourceOptions opts;
  udp::socket socket;
  SyslogParserOptions parser;
  SyslogEventHeaders add_headers;
  SyslogEventCounters counters;
  Counter dropped;
  log::Throttle drop_log, error_log;
  std::atomic<bool> stopping{false};
  ChunkRef chunk;
  size_t len = 0;
  udp::endpoint sender;
  SyslogEventContext ctx;
  udp::endpoint last_looked_up;  // the sender whose host name ctx.peer_hostname holds
  Batch batch;
  size_t committing = 0;
  PutProgress progress;

  void ensure_room() {
    if (!chunk || chunk->capacity() - len < kMaxUdpPayload + 1) {
      chunk = ChunkRef::adopt(Chunk::make(kChunk));
      len = 0;
    }
  }

  void receive() {
    if (stopping) return;
    ensure_room();
    auto self = shared_from_this();
    socket.async_receive_from(
        asio::buffer(chunk->data() + len, kMaxUdpPayload + 1), sender,
        [self](boost::system::error_code ec, size_t n) { self->on_datagram(ec, n); });
  }

  void on_datagram(boost::system::error_code ec, size_t n) {
    if (stopping || ec == asio::error::operation_aborted) return;
    if (ec) {
      // ICMP port unreachable and the like: note it and go on.
      if (error_log.allow())
        log::warn("{} source {}: receive failed: {}", source.type(), source.name(), ec.message());
      return receive();
    }
    add(n);
    // Whatever else is already waiting goes in the same transaction.
    while (batch.size() < std::min(kMaxBatch, source.processor().max_batch())) {
      ensure_room();
      boost::system::error_code e2;
      size_t m =
          socket.receive_from(asio::buffer(chunk->data() + len, kMaxUdpPayload + 1), sender, 0, e2);
      if (e2) break;  // would_block: nothing more now
      add(m);
    }
    commit();
  }

  void add(size_t n) {
    std::string_view d(chunk->data() + len, n);
    len += n;
    source.counters().event_received.add();
    ctx.set_peer(sender.address().to_string(), sender.port());
    if (!opts.client_hostname_header.empty() && sender != last_looked_up) {
      ctx.peer_hostname = reverse_lookup(sender.data(), static_cast<socklen_t>(sender.size()));
      last_looked_up = sender;
    }
    if (!opts.syslog) {
      const void* nl = std::memchr(d.data(), '\n', d.size());
      if (nl) d = d.substr(0, static_cast<size_t>(static_cast<const char*>(nl) - d.data()));
      Event e(Slice(chunk, d.data(), d.size()));
      if (!opts.remote_address_header.empty())
        e.headers.set(opts.remote_address_header,
                      "/" + ctx.peer_ip + ":" + std::to_string(ctx.peer_port));
      batch.push_back(std::move(e));
      return;
    }
    if (!d.empty() && d.back() == '\n') d.remove_suffix(1);
    batch.push_back(make_syslog_event(d, chunk, false, false, Charset::kUtf8, parser, now_ms(), ctx,
                                      add_headers, nullptr));
    note_bad_syslog_event(counters, source.type(), source.name(), batch.back(), ctx, d);
  }

  void commit() {
    committing = batch.size();  // process_async may move the events out of `batch`
    progress = PutProgress{};
    auto self = shared_from_this();
    source.processor().process_async(batch, progress, [self](Status s) {
      asio::dispatch(self->socket.get_executor(),
                     [self, s = std::move(s)]() mutable { self->on_committed(std::move(s)); });
    });
  }

  void on_committed(Status s) {
    const auto k = static_cast<int64_t>(committing);
    auto& c = source.counters();
    if (s) {
      c.event_accepted.add(k);
      c.append_batch_accepted.add();
    } else {
      // No backpressure on UDP: the datagrams are dropped.
      c.channel_write_fail.add();
      dropped.add(k);
      if (drop_log.allow()) {
        const uint64_t more = drop_log.take_suppressed();
        log::warn("{} source {}: dropped {} datagrams: {}{}", source.type(), source.name(), k,
                  s.error().message,
                  more ? " (" + std::to_string(more) + " more drops not logged)" : std::string());
      }
    }
    batch.clear();
    receive();
  }
};

UdpSource::UdpSource(std::string name, std::shared_ptr<ChannelProcessor> processor,
                     net::IoPool& pool, UdpSourceOptions options)
    : Source(std::move(name), options.syslog ? "syslogudp" : "netcatudp", std::move(processor)),
      impl_(std::make_shared<Impl>(*this, pool, std::move(options))) {}

UdpSource::~UdpSource() { stop(); }

Status UdpSource::start() {
  auto& impl = *impl_;
  const std::string host = impl.opts.host.empty() ? "0.0.0.0" : impl.opts.host;
  const std::string where = host + ":" + std::to_string(impl.opts.port);
  boost::system::error_code ec;
  udp::resolver resolver(impl.socket.get_executor());
  auto results = resolver.resolve(host, std::to_string(impl.opts.port),
                                  udp::resolver::passive | udp::resolver::numeric_service, ec);
  if (ec || results.empty())
    return make_error(Errc::kConfig, "cannot resolve host '" + host + "': " + ec.message());
  udp::endpoint ep = results.begin()->endpoint();
  impl.socket.open(ep.protocol(), ec);
  if (!ec) impl.socket.bind(ep, ec);
  if (!ec) impl.socket.non_blocking(true, ec);
  if (ec) {
    boost::system::error_code ignored;
    impl.socket.close(ignored);
    return make_error(Errc::kIo, "cannot bind to " + where + ": " + ec.message());
  }
  boost::system::error_code ignored;
  impl.socket.set_option(asio::socket_base::receive_buffer_size(4 * 1024 * 1024), ignored);
  bound_port_ = impl.socket.local_endpoint().port();
  impl.stopping = false;
  counters_.started();
  asio::post(impl.socket.get_executor(), [i = impl_] { i->receive(); });
  log::info("{} source {} listening on {}:{} (UDP)", type(), name(), host, bound_port_);
  return {};
}

void UdpSource::stop() {
  if (impl_->stopping.exchange(true)) return;
  auto impl = impl_;
  asio::post(impl->socket.get_executor(), [impl] {
    boost::system::error_code ignored;
    impl->socket.close(ignored);
  });
  counters_.stopped();
}

void UdpSource::collect_metrics(MetricList& out) const {
  counters_.collect(out);
  if (impl_->opts.syslog) impl_->counters.collect(out);
  out.emplace_back("DatagramDropCount", std::to_string(impl_->dropped.get()));
}

}  // namespace ingestor
