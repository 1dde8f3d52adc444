#pragma once
// Source: receives events from the outside and hands them to its ChannelProcessor. A source acks
// (netcat `OK`, HTTP 200) only after process()/process_async() reported the commit.

#include <memory>
#include <string>
#include <vector>

#include "core/channel_processor.h"
#include "core/component.h"
#include "core/metrics.h"

namespace ingestor {

class Source : public Component {
 public:
  Source(std::string name, std::string type, std::shared_ptr<ChannelProcessor> processor)
      : Component(std::move(name), std::move(type)), processor_(std::move(processor)) {}
  const char* metrics_group() const override { return "SOURCE"; }
  void collect_metrics(MetricList& out) const override { counters_.collect(out); }
  SourceCounters& counters() { return counters_; }
  ChannelProcessor& processor() { return *processor_; }
  const ChannelProcessor& processor() const { return *processor_; }

  // The TCP/UDP port a network source listens on once started (0 for others). Tests start
  // sources on port 0 and read the real port from here (reported in the agent's status file).
  virtual int bound_port() const { return 0; }
  // Every port a source listens on (multiport_syslogtcp has several), in its configured order;
  // the status file reports them as "ports". By default bound_port() when it is not 0.
  virtual std::vector<int> bound_ports() const {
    if (int p = bound_port()) return {p};
    return {};
  }

 protected:
  std::shared_ptr<ChannelProcessor> processor_;
  SourceCounters counters_;
};

}  // namespace ingestor
