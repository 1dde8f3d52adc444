#pragma once
// ChannelProcessor: what a source hands its events to (Flume's ChannelProcessor). It runs the
// interceptor chain, then puts the batch into every required channel, one transaction per channel,
// in the order configured, then into the optional channels (failures there are logged, counted and
// ignored). As in Flume this is not atomic across channels; unlike Flume, a retry of the same batch
// does not duplicate it into the channels that already committed: PutProgress remembers them.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "core/channel.h"
#include "core/event.h"
#include "core/interceptor.h"

namespace ingestor {

// Multiplexing selector rules (Flume's MultiplexingChannelSelector): the value of `header`
// picks the event's channels. Required: mapping[value]; the default channels when the header is
// missing, blank (after trimming) or unmapped. With no default either, the event reaches no
// required channel (dropped, as Flume, with a warning a second at most). Optional: optional[value]
// (the raw value) minus the event's required channels; none when the header is missing.
struct MultiplexingRules {
  std::string header = "flume.selector.header";
  std::map<std::string, std::vector<Channel*>, std::less<>> mapping, optional;
  std::vector<Channel*> defaults;

  const std::vector<Channel*>& required_for(const Event& e) const;
  // Appends the optional channels of `e` (those not in `required`) to `out`.
  void optional_for(const Event& e, const std::vector<Channel*>& required,
                    std::vector<Channel*>& out) const;
};

// The channels a source puts to. Replicating (Flume's default, `multiplexing` empty): every
// channel in `required` gets every event; those listed in `selector.optional` are in `optional`.
// Multiplexing: `required` lists every channel some event may require, `optional` every channel
// some event may have as optional (both in the source's channel order), and the rules decide per
// event; each required channel gets its events in one transaction, in that order.
struct ChannelSelector {
  std::vector<Channel*> required;
  std::vector<Channel*> optional;
  std::shared_ptr<const MultiplexingRules> multiplexing;
};

// Per-batch state kept by a caller that retries a batch after a retryable failure.
// Start each new batch with a fresh PutProgress; keep it (unmoved) until the batch reports.
struct PutProgress {
  bool intercepted = false;
  bool optional_done = false;
  size_t required_done = 0;  // required channels (in order) that already committed this batch
  Tx tx;                     // the transaction in flight
  // Multiplexing: the events of each channel of selector().required (same index), cut once.
  std::vector<Batch> routes, optional_routes;
  bool routed = false;
  // A position update to commit with this batch (core/source_position.h: SourcePositions::attach).
  // Given to every required channel's put transaction; when interceptors drop the whole batch, a
  // channel that stores positions still commits the update alone.
  std::optional<std::pair<std::string, PositionUpdate>> position;
};

class ChannelProcessor {
 public:
  ChannelProcessor(std::vector<std::unique_ptr<Interceptor>> interceptors,
                   ChannelSelector selector);

  // Synchronous form: intercepts (once), puts and commits. On success `events` is left empty (the
  // events moved into the last channel). On an error `progress` holds what was done and what is
  // left, so the same call with the same `events` can be repeated later (kChannelFull is
  // retryable); `events` is then the batch again, except with a multiplexing selector, whose
  // routing moved the events into `progress` (keep `events` as it is and pass it back).
  [[nodiscard]] Status process(Batch& events, PutProgress& progress);

  // Asynchronous form for event loops: `done` runs once the batch is committed (durably, for a
  // durable channel) in every required channel, or on the first failure. `done` may run inline or
  // on another thread. `events` must stay alive and untouched until `done` runs.
  void process_async(Batch& events, PutProgress& progress, std::function<void(Status)> done);

  const ChannelSelector& selector() const { return selector_; }
  // The smallest transactionCapacity among the required channels: the largest batch one
  // transaction can hold. Sources split their batches to this size.
  size_t max_batch() const { return max_batch_; }

 private:
  void put_optional(const Batch& events);
  void route(Batch& events, PutProgress& progress);
  void commit_routes(Batch& events, PutProgress& progress, std::function<void(Status)> done);
  void commit_next(Batch& events, PutProgress& progress, std::function<void(Status)> done);
  std::vector<std::unique_ptr<Interceptor>> interceptors_;
  ChannelSelector selector_;
  size_t max_batch_;
};

}  // namespace ingestor
