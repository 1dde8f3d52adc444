#pragma once
// NetcatSource: Flume's `netcat` TCP source (flume.md 3.1), byte for byte on the wire:
//  - one event per line; only "\n" ends a line, a "\r" stays in the body; the body is UTF-8
//    (input in another `encoding` is decoded and re-encoded as UTF-8, as Flume does);
//  - `max-line-length` counts characters including the newline; an over-long line gets
//    "FAILED: Event exceeds the maximum length (N chars, including newline)\n" (acks on or off)
//    and the connection is closed;
//  - with `ack-every-event` (default true) each event is answered "OK\n" once committed; a
//    channel error answers "FAILED: <reason>\n" for each event of the batch, the events are
//    dropped (as Flume) and the connection stays open;
//  - a final line with no newline at EOF is discarded.
// Better than Flume: connections are served by the IoPool's event loops (no thread per
// connection); all lines from one read are put in one transaction (split to the channel's
// transactionCapacity); with acks on, a full channel is retried for `keep-alive` before failing;
// with acks off, a full channel makes the connection stop reading (TCP backpressure) until there
// is room, so nothing is dropped.
// Memory per connection: one read buffer of 64 KiB to 1 MiB (larger while reads fill it and commits
// are slow), grown while an unfinished line needs more, up to 3 x max-line-length bytes (UTF-8 of
// that many UTF-16 units), plus the buffers still referenced by events in the channel.
// `max-line-length` is at most kNetcatMaxLineLengthLimit (a configuration error above).
// Accept failures (out of file descriptors: EMFILE) are counted (AcceptFailCount, not in Flume),
// logged at most once a second and retried after a back-off of 10 ms doubling to 1 s; a connection
// that cannot be served (no memory) is closed and the listener goes on; the listener never stops
// without an error line.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "base/charset.h"
#include "core/config/spec.h"
#include "core/source.h"
#include "net/io_pool.h"

namespace ingestor {

const ComponentSpec& netcat_source_spec();

// The largest `max-line-length` (characters): 1 Mi.
inline constexpr size_t kNetcatMaxLineLengthLimit = 1024 * 1024;

struct NetcatSourceOptions {
  std::string bind;
  uint16_t port = 0;
  size_t max_line_length = 512;
  bool ack_every_event = true;
  Charset encoding = Charset::kUtf8;
  // How long a full channel is retried before an acked batch fails (the channel's keep-alive).
  std::chrono::milliseconds keep_alive{3000};
};

Result<NetcatSourceOptions> netcat_source_options(const Settings& s);

class NetcatSource final : public Source {
 public:
  NetcatSource(std::string name, std::shared_ptr<ChannelProcessor> processor, net::IoPool& pool,
               NetcatSourceOptions options);
  ~NetcatSource() override;
  Status start() override;
  void stop() override;
  int bound_port() const override { return bound_port_; }
  // Flume's source counters plus AcceptFailCount.
  void collect_metrics(MetricList& out) const override;

  struct Connection;  // defined in the .cc

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  int bound_port_ = 0;
};

}  // namespace ingestor
