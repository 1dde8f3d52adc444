#pragma once
// AvroSink: Flume's `avro` sink (org.apache.flume.sink.AvroSink with NettyAvroRpcClient,
// flume-components.md 6.1 and 8.5): takes up to `batch-size` events in one transaction, sends them
// as one `appendBatch` call (codec in core/avro_rpc.h, wire format in docs/formats/avro_rpc.md)
// and commits the take only after the server answered `OK`.
//  - Any failure (connect error or timeout, handshake refused, request timeout, `FAILED` or
//    `UNKNOWN`, a remote error, bytes that do not decode) rolls the take back, counts
//    EventWriteFail, closes the connection (ConnectionClosedCount) and returns a retryable error,
//    so the runner backs off and a failover / load_balance group moves to its next sink. The next
//    call opens a new connection with a new handshake. As in Flume, a request that timed out may
//    still be committed by the server: the resend then duplicates it (at-least-once).
//  - connect-timeout bounds the TCP connect and the first call of a connection (it carries the
//    handshake, always with the protocol text, so any server answers in one round trip);
//    request-timeout bounds each later call. Values under 1000 ms fall back to 20000 with a
//    warning, as Flume.
//  - reset-connection-interval (s): the next process() after it closes the connection and opens a
//    new one (for load balancers in front of several collectors).
//  - compression-type = deflate: zlib at compression-level on both directions (the source must
//    match).
//  - An empty channel commits and backs off without connecting. A failed connect at start only
//    warns (the sink starts and retries on each process()).
//  - `ssl = true`: TLS, the server's certificate checked against `truststore` (PEM or PKCS12;
//    JKS refused with the commands that convert it), the system's CAs when none is given, or not
//    at all with `trust-all-certs`; no host name check, as Flume (net/tls_keys.h). The TLS
//    handshake is part of the connect and bounded by connect-timeout. Not together with deflate.
// Better than Flume: one batch is sent ahead while the previous one's answer is awaited (at most
// two in flight per sink, each its own take transaction, committed in order as their `OK`s
// arrive; a failure rolls both back, newest first, so the channel keeps its order). An empty take
// waits for the answers still due. The first call of a connection is never pipelined.
// Thread-safety: used by its runner thread only (start() before the runner starts). The client
// has its own io_context, run on the calling thread with a deadline; nothing is shared.
// Memory: the encoded request of one batch and the response buffers of one connection.

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "base/log.h"
#include "core/config/spec.h"
#include "core/sink.h"
#include "net/tls_keys.h"

namespace ingestor {

const ComponentSpec& avro_sink_spec();

struct AvroSinkOptions {
  std::string hostname;
  uint16_t port = 0;
  size_t batch_size = 100;
  std::chrono::milliseconds connect_timeout{20000};
  std::chrono::milliseconds request_timeout{20000};
  std::chrono::seconds reset_connection_interval{0};
  bool deflate = false;
  int compression_level = 6;
  std::shared_ptr<boost::asio::ssl::context> tls;  // ssl = true: the client context
};

[[nodiscard]] Result<AvroSinkOptions> avro_sink_options(const Settings& s,
                                                        std::vector<std::string>* warnings);

class AvroSink final : public Sink {
 public:
  AvroSink(std::string name, AvroSinkOptions options);
  ~AvroSink() override;
  Status start() override;
  void stop() override;
  size_t batch_size() const override { return opts_.batch_size; }
  Result<SinkStatus> process() override;
  // Due 100 ms after a batch left in flight was sent: a group whose policy calls other members
  // (load_balance) then calls this sink again, whose empty take waits for that answer, so no take
  // stays uncommitted while the agent idles.
  std::chrono::steady_clock::time_point next_timer() const override;

  class Client;  // defined in the .cc

 private:
  // A batch sent and not answered yet: its take transaction commits when `OK` arrives.
  struct InFlight {
    Tx tx;
    int32_t serial;
    size_t events;
    std::chrono::steady_clock::time_point deadline;
    std::chrono::steady_clock::time_point sent;
  };
  static constexpr size_t kMaxInFlight = 2;
  bool reset_due() const;
  Status ensure_connected();
  void close_client();
  Status complete_oldest();
  void abandon_in_flight();
  Result<SinkStatus> fail(Tx* current, const Error& e);
  std::string describe() const;
  AvroSinkOptions opts_;
  std::unique_ptr<Client> client_;
  std::deque<InFlight> in_flight_;
  std::chrono::steady_clock::time_point client_since_;
  log::Throttle fail_log_;
};

}  // namespace ingestor
