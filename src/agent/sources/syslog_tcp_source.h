#pragma once
// SyslogTcpSource: Flume's `syslogtcp` (SyslogTcpSource) and `multiport_syslogtcp`
// (MultiportSyslogTCPSource), flume-components.md 1.6; keys in syslog_source_options.h, parsing
// and framing in syslog_parser.h, wire rules in docs/formats/syslog.md.
//  - Messages are framed by "\n" or by RFC 6587 octet counts (Flume: "\n" only), cut at
//    eventSize (flume.syslog.status=Incomplete), parsed by parse_syslog_message(); a final
//    message without "\n" at the end of the stream is delivered (Flume drops it).
//  - multiport: one listener per port, headers `Priority`/`Version`, `portHeader`, and each
//    port's charset: a message that does not decode is kept raw with flume.syslog.status=Invalid
//    and counted in EventReadFail (as Flume); others are stored as UTF-8.
//  - clientIPHeader / clientHostnameHeader are set after parsing (they may overwrite a parsed
//    header, as in Flume); the host name is looked up once per connection (reverse DNS, on the
//    connection's I/O thread; the IP text when there is no name).
// Better than Flume: all messages of one read go in one transaction (at most batchSize events
// each); a full channel (or any retryable channel error) is retried with a back-off of 1 ms
// doubling to 100 ms while nothing more is read from that connection, so TCP pushes back on the
// sender and nothing is dropped (Flume drops the event). A non-retryable error drops the batch
// with a warning and ChannelWriteFail + 1.
// Memory per connection: one read buffer of 64 KiB, more only while an unfinished message needs it
// (at most eventSize + 16 KiB + 9 bytes), plus buffers still referenced by events in the channel.
// Counters beyond Flume's: SyslogInvalidCount, SyslogIncompleteCount, AcceptFailCount. Invalid and
// Incomplete messages are logged (escaped) at most once a second.
// Bind failures stop the agent at start (Flume logs and stays "started" without listening).

#include <memory>
#include <string>
#include <vector>

#include "agent/sources/syslog_source_options.h"
#include "core/source.h"
#include "net/io_pool.h"

namespace ingestor {

class SyslogTcpSource final : public Source {
 public:
  SyslogTcpSource(std::string name, std::shared_ptr<ChannelProcessor> processor, net::IoPool& pool,
                  SyslogTcpSourceOptions options);
  ~SyslogTcpSource() override;
  Status start() override;
  void stop() override;
  // The first port; bound_ports() has every port in the order of `ports`.
  int bound_port() const override;
  std::vector<int> bound_ports() const override;
  void collect_metrics(MetricList& out) const override;

  struct Impl;  // defined in the .cc

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace ingestor
