#pragma once
// Sink groups (Flume's SinkGroup and sink processors; reference flume-components.md section 3):
// `<agent>.sinkgroups = g1`, `<agent>.sinkgroups.g1.sinks = k1 k2`, `g1.processor.type` =
//  - `default` (one sink; a group of one default sink is just that sink),
//  - `failover`: `processor.priority.<sink>` (higher wins; missing: -1, -2, ... in the order the
//    sinks are listed, where Flume uses HashMap order), `processor.maxpenalty` (30000 ms). Only a
//    failed process() (Flume: an exception) sends a sink to the failed list, for
//    min(maxpenalty, 2^n s) after its n-th failure in a row (2 s, 4 s, ...); a failed sink whose
//    cool-down ended is tried first on the next call, with real events: kReady brings it back
//    (its count starts again), kBackoff leaves it due, a failure doubles its penalty. kBackoff
//    never fails over. A priority equal to another sink's leaves the sink out, as Flume (warning).
//  - `load_balance`: `processor.selector` round_robin | random (a class name is refused: custom
//    selectors cannot be loaded), `processor.backoff` (false), `processor.selector.maxTimeOut`
//    (30000 ms; 0 keeps 30000). Each call tries the sinks in the selector's order until one returns
//    (kReady or kBackoff); a failure moves to the next sink and, with backoff, blacklists the sink
//    for min(maxTimeOut, 2^k s) (k grows by one per failure within the previous back-off + 1 h, up
//    to 16, else restarts at 1). Round robin starts one further on every call. When every sink is
//    blacklisted the call fails ("All configured sinks have failed"); Flume's random selector
//    throws there instead (not copied).
// A group is driven by one SinkRunner, as Flume's one runner thread per group: it looks like a
// Sink to the runner (the runner's back-off applies to the group as a whole). Member sinks keep
// their own metrics: a member's ProcessErrorCount, ConsecutiveErrors and BackingOff are kept as
// the runner keeps them for a sink of its own.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/config/agent_config.h"
#include "core/config/spec.h"
#include "core/sink.h"

namespace ingestor {

const ComponentSpec& default_sink_processor_spec();
const ComponentSpec& failover_sink_processor_spec();
const ComponentSpec& load_balance_sink_processor_spec();

class SinkGroup : public Sink {
 public:
  using Clock = std::chrono::steady_clock;
  SinkGroup(std::string name, std::string type, std::vector<Sink*> members);
  const std::vector<Sink*>& members() const { return members_; }
  // The earliest timer of the members.
  Clock::time_point next_timer() const override;
  // For tests: the clock penalties are measured with.
  void set_clock(std::function<Clock::time_point()> now) { now_ = std::move(now); }

 protected:
  // Calls `member`'s process() as the runner would for a sink of its own.
  Result<SinkStatus> call(Sink& member);
  // Calls the members whose timer is due (a roll interval), so that no member's timer is left
  // waiting while the group's policy calls another (the group's next_timer() would otherwise be
  // due at once, forever). Returns the first such call's result, or nullopt when none was due.
  std::optional<Result<SinkStatus>> service_timers();
  std::vector<Sink*> members_;
  std::function<Clock::time_point()> now_ = [] { return Clock::now(); };
};

class FailoverSinkProcessor final : public SinkGroup {
 public:
  struct Options {
    std::vector<std::pair<Sink*, int>> priorities;  // excluded sinks left out
    std::chrono::milliseconds max_penalty{30000};
  };
  FailoverSinkProcessor(std::string name, Options o);
  Result<SinkStatus> process() override;
  // The sink called first now (the highest live priority), or nullptr.
  Sink* active() const;

 private:
  struct Failed {
    Sink* sink;
    int priority;
    int failures;
    Clock::time_point refresh;
  };
  Clock::duration penalty(int failures) const;
  void fail(Sink* s, int priority, int failures);
  std::chrono::milliseconds max_penalty_;
  std::map<int, Sink*> live_;   // priority -> sink; the highest is active
  std::vector<Failed> failed_;  // kept sorted by refresh
};

class LoadBalancingSinkProcessor final : public SinkGroup {
 public:
  struct Options {
    std::vector<Sink*> sinks;
    bool random = false;
    bool backoff = false;
    std::chrono::milliseconds max_timeout{30000};
  };
  LoadBalancingSinkProcessor(std::string name, Options o);
  Result<SinkStatus> process() override;
  // The order the next call would try the sinks in (advances round robin).
  std::vector<size_t> order();

 private:
  void inform_failure(size_t i);
  struct State {
    int sequential = 0;
    Clock::time_point last_fail{};
    Clock::time_point restore{};
  };
  bool random_, backoff_;
  std::chrono::milliseconds max_timeout_;
  std::vector<State> state_;
  size_t next_head_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
};

// Builds the group `g` over the built sinks (name -> sink; members missing from it were dropped
// and are left out). Reports into `diags` (kind "sinkgroup", full keys under `pfx`,
// "a1.sinkgroups.g1."). Returns nullptr when the group cannot run (its sinks are then not run at
// all, as Flume) or when it is a default group of one sink (run alone).
std::unique_ptr<SinkGroup> build_sink_group(const SinkGroupConfig& g,
                                            const std::map<std::string, Sink*>& sinks,
                                            const std::string& pfx, Diagnostics& diags,
                                            bool lenient);

}  // namespace ingestor
