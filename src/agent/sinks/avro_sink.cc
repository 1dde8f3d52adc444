#include "agent/sinks/avro_sink.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <map>
#include <optional>

#include "agent/avro_rpc_options.h"
#include "base/compression.h"
#include "base/strings.h"
#include "core/avro_rpc.h"

namespace ingestor {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

const ComponentSpec& avro_sink_spec() {
  static const ComponentSpec spec{
      "sink",
      "avro",
      "org.apache.flume.sink.AvroSink",
      "Sends batches to an avro source (Flume's Avro RPC appendBatch); commits after OK.",
      {
          {"hostname", KeyType::kString, std::nullopt, true, "Host of the avro source"},
          {"port", KeyType::kInt, std::nullopt, true, "Port of the avro source", 1, 65535},
          {"batch-size", KeyType::kInt, "100", false, "Events per transaction and appendBatch", 1},
          {"connect-timeout", KeyType::kLong, "20000", false,
           "Milliseconds for the TCP connect and the first call of a connection (handshake); "
           "under 1000: 20000"},
          {"request-timeout", KeyType::kLong, "20000", false,
           "Milliseconds for each later call; under 1000: 20000"},
          {"reset-connection-interval", KeyType::kLong, "0", false,
           "Seconds after which the connection is closed and opened again (0: never)", 0},
          {"compression-type", KeyType::kString, "none", false,
           "none or deflate (zlib on both directions; the source must match)"},
          {"compression-level", KeyType::kInt, "6", false, "zlib level 0-9 for deflate", 0, 9},
          {"maxIoWorkers", KeyType::kString, std::nullopt, false,
           "Ignored (as in Flume 1.11), with a warning"},
          {"client.type", KeyType::kString, "DEFAULT", false,
           "Flume's RPC client type; only DEFAULT (use sink groups for failover and load "
           "balancing)"},
          {"ssl", KeyType::kBool, "false", false, "TLS (not together with deflate)"},
          {"trust-all-certs", KeyType::kBool, "false", false,
           "Accept any server certificate (TLS)"},
          {"truststore", KeyType::kString, std::nullopt, false,
           "CA certificates: a PEM file or PKCS12 (JKS: convert it); none: the system's CAs"},
          {"truststore-password", KeyType::kString, std::nullopt, false,
           "Truststore password (TLS)"},
          {"truststore-type", KeyType::kString, "JKS", false,
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


Result<AvroSinkOptions> avro_sink_options(const Settings& s, std::vector<std::string>* warnings) {
  AvroSinkOptions o;
  auto warn = [&](std::string w) {
    if (warnings) warnings->push_back(std::move(w));
  };
  o.hostname = s.str("hostname");
  o.port = static_cast<uint16_t>(s.i64("port"));
  o.batch_size = static_cast<size_t>(s.i64("batch-size"));
  auto timeout = [&](const char* key, const char* what) {
    const int64_t v = s.i64(key);
    if (v < 1000) {
      warn(std::string(key) + ": " + what +
           " timeout specified less than 1s. Using default value "
           "instead.");
      return std::chrono::milliseconds(20000);
    }
    return std::chrono::milliseconds(v);
  };
  o.connect_timeout = timeout("connect-timeout", "Connection");
  o.request_timeout = timeout("request-timeout", "Request");
  o.reset_connection_interval = std::chrono::seconds(s.i64("reset-connection-interval"));
  auto deflate = avro_deflate(s);
  if (!deflate) return deflate.error();
  o.deflate = *deflate;
  o.compression_level = static_cast<int>(s.i64("compression-level"));
  if (s.has("maxIoWorkers"))
    warn(
        "maxIoWorkers: Specifying the number of workers is no longer "
        "supported (ignored)");
  if (!ascii_iequals(s.str("client.type"), "DEFAULT"))
    return make_error(Errc::kConfig, "client.type: only DEFAULT is supported, got '" +
                                         s.str("client.type") +
                                         "'; use a failover or load_balance sink group");
  if (s.boolean("ssl")) {
    auto k = avro_common_tls_keys(s, o.deflate);
    if (!k) return k.error();
    k->trust_all = s.boolean("trust-all-certs");
    k->store = s.str("truststore");
    k->password = s.str("truststore-password");
    k->type = s.str("truststore-type");
    auto ctx = net::make_client_tls(*k, warnings);
    if (!ctx) return ctx.error();
    o.tls = std::move(*ctx);
  }
  return o;
}

// One connection to an avro source, used synchronously with deadlines.
class AvroSink::Client {
 public:
  Client(const AvroSinkOptions& o) : opts_(o), socket_(io_) {
    if (o.deflate) {
      deflater_.emplace(o.compression_level);
      inflater_.emplace();
    }
    rbuf_.resize(64 * 1024);
  }

  Status connect() {
    const auto deadline = Clock::now() + opts_.connect_timeout;
    tcp::resolver resolver(io_);
    boost::system::error_code ec;
    auto results = resolver.resolve(opts_.hostname, std::to_string(opts_.port),
                                    tcp::resolver::numeric_service, ec);
    if (ec) return make_error(Errc::kUnavailable, "cannot resolve host: " + ec.message());
    auto s = run(
        [&](auto done) {
          asio::async_connect(
              socket_, results,
              [done](boost::system::error_code e, const tcp::endpoint&) { done(e); });
        },
        deadline, Phase::kConnect);
    if (!s) return s;
    socket_.set_option(tcp::no_delay(true), ec);
    socket_.set_option(asio::socket_base::keep_alive(true), ec);
    if (opts_.tls) {
      tls_.emplace(socket_, *opts_.tls);
      auto h = run(
          [&](auto done) {
            tls_->async_handshake(asio::ssl::stream_base::client,
                                  [done](boost::system::error_code e) { done(e); });
          },
          deadline, Phase::kConnect);
      if (!h) return make_error(h.error().code, "TLS handshake: " + h.error().message);
    }
    return {};
  }

  bool handshaken() const { return session_.handshaken(); }

  // Writes one appendBatch request; returns its serial. The first call of a connection carries
  // the handshake and is bounded by connect-timeout, later ones by request-timeout.
  Result<int32_t> send(const Batch& events, Clock::time_point deadline) {
    const bool first = !session_.handshaken();
    req_.clear();
    const size_t b = avro_rpc::begin_frame(req_);
    session_.write_append_batch(events, req_);
    const int32_t serial = ++serial_;
    avro_rpc::finish_frame(req_, b, serial);
    const std::string* out = &req_;
    if (deflater_) {
      wire_.clear();
      if (auto s = deflater_->write_flush(req_, wire_); !s) return s.error();
      out = &wire_;
    }
    auto w = run(
        [&](auto done) {
          auto h = [done](boost::system::error_code e, size_t) { done(e); };
          if (tls_)
            asio::async_write(*tls_, asio::buffer(*out), std::move(h));
          else
            asio::async_write(socket_, asio::buffer(*out), std::move(h));
        },
        deadline, first ? Phase::kHandshake : Phase::kRequest);
    if (!w) return w.error();
    return serial;
  }

  // Reads the answer to `serial` (answers to other requests are kept for later: a Java server
  // may answer out of order).
  Result<avro_rpc::CallStatus> receive(int32_t serial, Clock::time_point deadline) {
    const bool first = !session_.handshaken();
    for (;;) {
      if (auto it = early_.find(serial); it != early_.end()) {
        Slice payload = std::move(it->second);
        early_.erase(it);
        return session_.read_response(payload.view());
      }
      auto p = decoder_.next();
      if (!p) return p.error();
      if (*p) {
        if ((*p)->serial == serial) return session_.read_response((*p)->payload.view());
        if ((*p)->serial > serial_ || (*p)->serial <= 0 || early_.size() > 16)
          return make_error(Errc::kCorrupt, "response serial " + std::to_string((*p)->serial) +
                                                " to request " + std::to_string(serial));
        early_.emplace((*p)->serial, std::move((*p)->payload));
        continue;
      }
      size_t n = 0;
      size_t room = 0;
      char* into = inflater_ ? rbuf_.data() : decoder_.prepare(4096, room);
      if (inflater_) room = rbuf_.size();
      auto r = run(
          [&](auto done) {
            auto h = [done, &n](boost::system::error_code e, size_t got) {
              n = got;
              done(e);
            };
            if (tls_)
              tls_->async_read_some(asio::buffer(into, room), std::move(h));
            else
              socket_.async_read_some(asio::buffer(into, room), std::move(h));
          },
          deadline, first ? Phase::kHandshake : Phase::kRequest);
      if (!r) return r.error();
      if (inflater_) {
        inflated_.clear();
        if (auto s =
                inflater_->write(std::string_view(rbuf_.data(), n), inflated_, 64 * 1024 * 1024);
            !s)
          return s.error();
        decoder_.feed(inflated_);
      } else {
        decoder_.commit(n);
      }
    }
  }

 private:
  // What an operation is part of: the TCP connect (and TLS handshake), the first call (the Avro
  // handshake: connect-timeout), a later call (request-timeout).
  enum class Phase { kConnect, kHandshake, kRequest };
  // Starts an operation and runs the io_context until it completes or `deadline` passes (then the
  // socket is closed: the client is dead and will be replaced).
  template <class Start>
  Status run(Start start, Clock::time_point deadline, Phase phase) {
    io_.restart();
    bool done = false;
    boost::system::error_code result;
    start([&done, &result](boost::system::error_code ec) {
      done = true;
      result = ec;
    });
    while (!done && io_.run_one_until(deadline) > 0) {
    }
    static constexpr const char* kNames[] = {"Connect", "Handshake", "RPC request"};
    const char* name = kNames[static_cast<int>(phase)];
    if (!done) {
      boost::system::error_code ignored;
      socket_.close(ignored);
      io_.restart();
      io_.run();  // the aborted handler
      const auto ms = phase == Phase::kRequest ? opts_.request_timeout : opts_.connect_timeout;
      return make_error(Errc::kTimeout, std::string(name) + " timed out after " +
                                            std::to_string(ms.count()) + "ms");
    }
    if (result == asio::error::eof)
      return make_error(Errc::kUnavailable, "connection closed by the server");
    if (result) return make_error(Errc::kUnavailable, std::string(name) + ": " + result.message());
    return {};
  }

  const AvroSinkOptions& opts_;
  asio::io_context io_;
  tcp::socket socket_;
  std::optional<ZlibStreamDeflater> deflater_;
  std::optional<ZlibStreamInflater> inflater_;
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;
  avro_rpc::FrameDecoder decoder_;
  avro_rpc::ClientSession session_;
  int32_t serial_ = 0;
  std::string req_, wire_, inflated_;
  std::vector<char> rbuf_;
  std::map<int32_t, Slice> early_;
};

AvroSink::AvroSink(std::string name, AvroSinkOptions options)
    : Sink(std::move(name), "avro"), opts_(std::move(options)) {}

AvroSink::~AvroSink() = default;

std::string AvroSink::describe() const {
  return "NettyAvroRpcClient { host: " + opts_.hostname + ", port: " + std::to_string(opts_.port) +
         " }";
}

bool AvroSink::reset_due() const {
  return opts_.reset_connection_interval.count() > 0 &&
         Clock::now() - client_since_ >= opts_.reset_connection_interval;
}

Status AvroSink::ensure_connected() {
  if (client_ && in_flight_.empty() && reset_due()) {
    log::debug("sink {}: resetting the connection to {}:{}", name(), opts_.hostname, opts_.port);
    close_client();
  }
  if (client_) return {};
  auto c = std::make_unique<Client>(opts_);
  if (auto s = c->connect(); !s) {
    counters_.connection_failed.add();
    return make_error(s.error().code, describe() + ": RPC connection error: " + s.error().message);
  }
  counters_.connection_created.add();
  client_ = std::move(c);
  client_since_ = Clock::now();
  return {};
}

void AvroSink::close_client() {
  if (!client_) return;
  client_.reset();
  counters_.connection_closed.add();
}

Status AvroSink::start() {
  if (auto s = ensure_connected(); !s)
    log::warn("sink {}: Unable to create Rpc client using hostname: {}, port: {}: {}", name(),
              opts_.hostname, opts_.port, s.error().message);
  counters_.started();
  return {};
}

void AvroSink::stop() {
  abandon_in_flight();
  close_client();
  counters_.stopped();
}

void AvroSink::abandon_in_flight() {
  // Newest first: each rollback puts its events back at the head of the channel, so the oldest
  // batch ends up first again.
  while (!in_flight_.empty()) {
    in_flight_.back().tx.rollback();
    in_flight_.pop_back();
  }
}

Result<SinkStatus> AvroSink::fail(Tx* current, const Error& e) {
  if (current) current->rollback();
  abandon_in_flight();
  counters_.event_write_fail.add();
  close_client();
  return make_error(e.retryable() ? e.code : Errc::kUnavailable,
                    "Failed to send events: " + e.message);
}

Status AvroSink::complete_oldest() {
  InFlight& f = in_flight_.front();
  auto st = client_->receive(f.serial, f.deadline);
  if (!st)
    return Error(st.error().code, describe() + ": Failed to send batch: " + st.error().message);
  if (*st != avro_rpc::CallStatus::kOk)
    return Error(Errc::kUnavailable, describe() + ": Avro RPC call returned Status: " +
                                         avro_rpc::call_status_name(*st));
  if (auto s = f.tx.commit(); !s) return s.error();
  counters_.event_drain_success.add(static_cast<int64_t>(f.events));
  in_flight_.pop_front();
  return {};
}

Clock::time_point AvroSink::next_timer() const {
  if (in_flight_.empty()) return Clock::time_point::max();
  return in_flight_.front().sent + std::chrono::milliseconds(100);
}

Result<SinkStatus> AvroSink::process() {
  Tx tx = channel_->begin();
  auto n = tx.take(opts_.batch_size);
  if (!n) {
    counters_.channel_read_fail.add();
    return n.error();
  }
  if (*n == 0) {
    if (auto s = tx.commit(); !s) return s.error();
    if (!in_flight_.empty()) {
      // Nothing more to send: wait for the answers still due.
      while (!in_flight_.empty())
        if (auto s = complete_oldest(); !s) return fail(nullptr, s.error());
      return SinkStatus::kReady;
    }
    counters_.batch_empty.add();
    return SinkStatus::kBackoff;
  }
  if (*n < opts_.batch_size)
    counters_.batch_underflow.add();
  else
    counters_.batch_complete.add();
  counters_.event_drain_attempt.add(static_cast<int64_t>(*n));
  if (client_ && reset_due()) {
    // The answers still due come first: they are on this connection.
    while (!in_flight_.empty())
      if (auto s = complete_oldest(); !s) return fail(&tx, s.error());
  }
  if (auto s = ensure_connected(); !s) return fail(&tx, s.error());
  // The first call of a connection (the handshake) is answered before anything else is sent.
  const bool first = !client_->handshaken();
  const auto timeout = first ? opts_.connect_timeout : opts_.request_timeout;
  const auto deadline = Clock::now() + timeout;
  auto serial = client_->send(tx.taken(), deadline);
  if (!serial)
    return fail(&tx, Error(serial.error().code,
                           describe() + ": Failed to send batch: " + serial.error().message));
  in_flight_.push_back(InFlight{std::move(tx), *serial, *n, deadline, Clock::now()});
  // One batch may stay in flight while the next is taken and sent (pipelining); with `first`,
  // none.
  while (in_flight_.size() > (first ? 0u : kMaxInFlight - 1))
    if (auto s = complete_oldest(); !s) return fail(nullptr, s.error());
  return SinkStatus::kReady;
}

}  // namespace ingestor
