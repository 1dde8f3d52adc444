#pragma once
// UdpSource: Flume's `syslogudp` (SyslogUDPSource, flume-components.md 1.6) and `netcatudp`
// (NetcatUdpSource, 1.5); keys in syslog_source_options.h.
//  - One datagram is one event, up to 65,507 bytes (Flume: cut at 2,048 bytes, FLUME-2885).
//    syslogudp: the whole datagram less one trailing "\n" is one message for parse_syslog_message()
//    (Flume keeps only the bytes before the first "\n"); netcatudp: the bytes before the first
//    "\n" (as Flume), with the sender as `/ip:port` under remoteAddressHeader (Flume's code reads
//    `remoteAddress`: both spellings are accepted).
//  - Datagrams waiting in the socket are read together and put in one transaction.
// UDP has no backpressure: when the channel is full (or any put fails) the batch is dropped,
// counted in DatagramDropCount and ChannelWriteFail, and logged at most once a second; datagrams
// that arrive while a transaction is in flight wait in the kernel's receive buffer (SO_RCVBUF,
// asked for 4 MiB), which drops them when it is full (counted by the kernel: netstat -su).
// Memory: read buffers of 256 KiB (a new one when less than 64 KiB is left), kept while events
// in the channel reference them; at most 256 datagrams per transaction.

#include <memory>
#include <string>

#include "agent/sources/syslog_source_options.h"
#include "core/source.h"
#include "net/io_pool.h"

namespace ingestor {

class UdpSource final : public Source {
 public:
  UdpSource(std::string name, std::shared_ptr<ChannelProcessor> processor, net::IoPool& pool,
            UdpSourceOptions options);
  ~UdpSource() override;
  Status start() override;
  void stop() override;
  int bound_port() const override { return bound_port_; }
  void collect_metrics(MetricList& out) const override;

  struct Impl;  // defined in the .cc

 private:
  std::shared_ptr<Impl> impl_;
  int bound_port_ = 0;
};

}  // namespace ingestor
