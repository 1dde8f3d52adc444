#pragma once
// Agent: one Flume agent built from an AgentConfig: channels, sinks (each with a SinkRunner, or
// driven by the runner of its sink group), sources (each with its ChannelProcessor: interceptors +
// replicating or multiplexing selector).
//
// Two phases, as CONVENTIONS.md asks: build() validates everything and creates the components
// without touching the outside world (no socket, no file); start() then starts channels, sinks and
// sources in that order, and fails as a whole (stopping what it started) if any start fails.
// Strict by default: any error in `diags` makes build() fail. With `lenient`, components with
// errors are dropped with a warning, as Flume does, and the rest runs.

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/builtin_components.h"
#include "agent/sink_processors.h"
#include "agent/sink_runner.h"
#include "agent/topology.h"
#include "core/config/agent_config.h"
#include "net/io_pool.h"

namespace ingestor {

struct AgentOptions {
  bool lenient = false;
  std::string conf_dir;
  size_t io_threads = 0;  // 0: one per core
};

class Agent {
 public:
  // Reports every problem into `diags`; returns an error when the agent cannot run.
  static Result<std::unique_ptr<Agent>> build(const AgentConfig& config, Diagnostics& diags,
                                              const AgentOptions& options);
  ~Agent();

  [[nodiscard]] Status start();
  // Stops sources first, lets sinks drain the channels briefly, then stops sinks and channels.
  void stop();

  const std::string& name() const { return name_; }
  // Every component, for monitoring ("SOURCE.r1" order: sources, channels, sinks).
  std::vector<const Component*> components() const;
  const std::vector<std::unique_ptr<Source>>& sources() const { return sources_; }
  // How the built components are wired (GET /topology on the monitoring port).
  const AgentTopology& topology() const { return topology_; }
  net::IoPool& io_pool() { return *pool_; }

 private:
  Agent() = default;
  static void warn_kafka_topic_loops(const Agent& agent, Diagnostics& diags);
  static AgentTopology describe_topology(const AgentConfig& config, const Agent& agent);
  std::string name_;
  std::unique_ptr<net::IoPool> pool_;
  std::vector<std::unique_ptr<Channel>> channels_;
  std::vector<std::unique_ptr<Sink>> sinks_;
  std::vector<std::unique_ptr<SinkGroup>> groups_;
  std::set<std::string> grouped_;  // sinks driven by a group (or by none: their group failed)
  std::vector<std::unique_ptr<SinkRunner>> runners_;
  std::vector<std::unique_ptr<Source>> sources_;
  AgentTopology topology_;
  bool started_ = false;
};

}  // namespace ingestor
