#pragma once
// AvroSource: Flume's `avro` source (org.apache.flume.source.AvroSource, flume-components.md 1.7):
// an Avro RPC server for Flume's AvroSourceProtocol (codec in core/avro_rpc.h, wire format in
// docs/formats/avro_rpc.md) on the agent's Asio I/O pool.
//  - Each connection completes the Avro handshake once (Java Responder's rules: BOTH / CLIENT /
//    NONE, the client hashes learned are process-wide) and then serves calls in order.
//  - appendBatch: the events go through the ChannelProcessor in one transaction per required
//    channel; `OK` is sent only after that commit (durable for the file channel). A failed put
//    answers `FAILED` (ChannelWriteFail + 1) and nothing of the batch is acknowledged. Better than
//    Flume: a full channel (or any retryable put error) is retried for up to 500 ms (1 ms doubling
//    to 100 ms, nothing more is read from that connection meanwhile) before `FAILED`; a batch
//    larger than the channels' transactionCapacity is committed in several transactions (Flume
//    answers FAILED for ever), `OK` after the last.
//  - append: the same with one event. An unknown message gets Avro's system error
//    `org.apache.avro.AvroRuntimeException: No such remote message: <name>`.
//  - A request that does not decode closes the connection (logged once a second at most, counted
//    in EventReadFail).
//  - `compression-type = deflate`: one zlib stream per direction per connection, each response
//    sync-flushed (Netty's ZlibEncoder/Decoder, level 6 as Flume's server).
//  - `ipFilter` / `ipFilterRules`: checked at accept, first matching rule decides, no match
//    accepts; a refused connection is closed at once and counted in IpFilterDenyCount.
//  - `threads` is accepted and ignored (as in Flume 1.11): the agent's I/O threads serve.
//  - `ssl = true`: TLS with the keystore (PEM or PKCS12; JKS is refused with the commands that
//    convert it: net/tls_keys.h), loaded at configure. TLS together with deflate is refused
//    (Flume 1.11 compresses the TLS records, 1.9 the data inside TLS: they do not interoperate).
// Memory per connection: a 64 KiB read buffer, the packs not parsed yet (each at most 64 MiB, the
// frame limit), and the events of the batch being committed.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/spec.h"
#include "core/source.h"
#include "net/io_pool.h"
#include "net/tls_keys.h"

namespace ingestor {

const ComponentSpec& avro_source_spec();

// One `ipFilterRules` rule: allow|deny : ip|name : pattern (`*` any run, `?` one char, the rest
// literal; the whole address or host name must match).
struct IpFilterRule {
  bool allow = true;
  bool by_name = false;
  std::string pattern;
};

// Splits on ',' and trims; errors as Flume's: "Invalid ipFilter patternRule '<rule>' should look
// like <'allow'  or 'deny'>:<'ip' or 'name'>:<pattern>".
[[nodiscard]] Result<std::vector<IpFilterRule>> parse_ip_filter_rules(std::string_view rules);
bool ip_pattern_match(std::string_view pattern, std::string_view text);
// The first matching rule decides; no match allows. `host_name` is called (reverse DNS) only when
// a name rule needs it. `local` says the peer is this machine (loopback, or the peer's address is
// the socket's own), which `name:localhost` matches.
bool ip_filter_allows(const std::vector<IpFilterRule>& rules, std::string_view ip, bool local,
                      const std::function<std::string()>& host_name);

struct AvroSourceOptions {
  std::string bind;
  uint16_t port = 0;
  bool deflate = false;
  bool ip_filter = false;
  std::vector<IpFilterRule> rules;
  std::shared_ptr<boost::asio::ssl::context> tls;  // ssl = true: the server context
};

[[nodiscard]] Result<AvroSourceOptions> avro_source_options(const Settings& s,
                                                            std::vector<std::string>* warnings);

class AvroSource final : public Source {
 public:
  AvroSource(std::string name, std::shared_ptr<ChannelProcessor> processor, net::IoPool& pool,
             AvroSourceOptions options);
  ~AvroSource() override;
  Status start() override;
  void stop() override;
  int bound_port() const override;
  void collect_metrics(MetricList& out) const override;

  struct Impl;  // defined in the .cc

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace ingestor
