// `ingestor agent`: runs one Flume agent from Flume's own properties files and flags.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <vector>

#include "agent/agent.h"
#include "agent/builtin_components.h"
#include "agent/monitoring.h"
#include "base/log.h"
#include "cli/commands.h"
#include "core/config/agent_config.h"
#include "core/config/config_quirks.h"
#include "core/config/properties.h"
#include "core/config/spec.h"

namespace ingestor::cli {

void add_agent_command(CLI::App& app, AgentArgs& a) {
  CLI::App* sub = app.add_subcommand(
      "agent", "Run a Flume-compatible agent from a Flume properties file (-n NAME -f FILE)");
  sub->add_option("-n,--name", a.name, "Name of the agent section to run (required)");
  sub->add_option("-f,--conf-file", a.conf_files,
                  "Configuration file; may be repeated, later files override earlier ones");
  sub->add_option("-c,--conf", a.conf_dir,
                  "Configuration directory (where core-site.xml is looked for)");
  sub->add_flag("--no-reload-conf", a.no_reload_conf,
                "Accepted for Flume compatibility: the configuration is read once at start");
  sub->add_option("-D", a.defines,
                  "Flume system property key=value: flume.monitoring.type=http, "
                  "flume.monitoring.port=N, flume.root.logger=LEVEL[,console]")
      ->allow_extra_args(false);
  sub->add_flag("--lenient", a.lenient,
                "Flume's behaviour: drop components with errors, warn, and run the rest");
  sub->add_option("--metrics-port", a.metrics_port,
                  "Serve the status page (/), /metrics (Flume JSON), /prometheus and /topology on "
                  "this port (0: any free port)")
      ->transform(whole_number(0, 65535));
  sub->add_option("--metrics-bind", a.metrics_bind, "Address for the metrics server")
      ->capture_default_str();
  sub->add_option("--status-file", a.status_file,
                  "Write a JSON file with the bound ports once the agent has started");
  sub->add_option(
      "--describe", a.describe,
      "Print the configuration keys of a component type (netcat, memory, ...) and exit");
  sub->add_flag("--check", a.check,
                "Validate the configuration, print what would run and exit (0: it would start); "
                "opens no port and no file but the configuration's");
  sub->add_option("--io-threads", a.io_threads, "Network threads (default, or 0: one per core)")
      ->transform(whole_number(0, kMaxThreads));
}

namespace {

std::string json_escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '"' || c == '\\') r += '\\';
    r += c;
  }
  return r;
}

// --check's report: one line per component and how it is wired, from the built agent.
std::string render_check(const AgentTopology& t) {
  auto join = [](const std::vector<std::string>& v) {
    std::string r;
    for (const auto& x : v) r += (r.empty() ? "" : " ") + x;
    return r.empty() ? std::string("(none)") : r;
  };
  std::string out = "agent " + t.agent + ": configuration OK: " + std::to_string(t.sources.size()) +
                    " source(s), " + std::to_string(t.channels.size()) + " channel(s), " +
                    std::to_string(t.sinks.size()) + " sink(s), " +
                    std::to_string(t.sinkgroups.size()) + " sink group(s)\n";
  for (const auto& s : t.sources) {
    out += "  source " + s.name + " (" + s.type + ") -> " + join(s.channels) + " [" +
           s.selector.type;
    if (!s.selector.header.empty()) out += " on header " + s.selector.header;
    out += "]";
    if (!s.interceptors.empty()) {
      out += " interceptors:";
      for (const auto& [n, type] : s.interceptors) out += " " + n + "(" + type + ")";
    }
    out += "\n";
  }
  for (const auto& c : t.channels) out += "  channel " + c.name + " (" + c.type + ")\n";
  for (const auto& g : t.sinkgroups)
    out += "  sinkgroup " + g.name + " (" + g.processor + "): " + join(g.sinks) + "\n";
  for (const auto& k : t.sinks)
    out += "  sink " + k.name + " (" + k.type + ") <- " + k.channel + "\n";
  return out;
}

}  // namespace

int run_agent(const AgentArgs& a) {
  if (!a.describe.empty()) {
    // One alias may name a source and a sink (`http`): describe each kind it names.
    std::vector<const ComponentSpec*> specs;
    if (auto* t = find_source_type(a.describe)) specs.push_back(&t->spec());
    if (auto* t = find_channel_type(a.describe)) specs.push_back(&t->spec());
    if (auto* t = find_sink_type(a.describe)) specs.push_back(&t->spec());
    if (auto* t = find_interceptor_type(a.describe)) specs.push_back(&t->spec());
    if (const ComponentSpec* other = find_spec(a.describe);
        other && std::find(specs.begin(), specs.end(), other) == specs.end())
      specs.push_back(other);
    if (specs.empty()) {
      std::fprintf(stderr,
                   "ingestor agent: unknown component type '%s'\n  sources: %s\n  channels: %s\n"
                   "  sinks: %s\n  interceptors: %s\n  selectors: replicating, multiplexing\n"
                   "  sink processors: default, failover, load_balance\n",
                   a.describe.c_str(), known_aliases("source").c_str(),
                   known_aliases("channel").c_str(), known_aliases("sink").c_str(),
                   known_aliases("interceptor").c_str());
      return 2;
    }
    for (size_t i = 0; i < specs.size(); ++i) {
      if (i > 0) std::fputs("\n", stdout);
      std::fputs(describe(*specs[i]).c_str(), stdout);
    }
    return 0;
  }
  if (a.name.empty()) {
    std::fprintf(stderr, "ingestor agent: -n/--name is required (the agent section to run)\n");
    return 2;
  }
  if (a.conf_files.empty()) {
    std::fprintf(stderr, "ingestor agent: -f/--conf-file is required\n");
    return 2;
  }

  // -D flags, as Flume's JVM system properties.
  std::string monitoring_type;
  int metrics_port = a.metrics_port;
  bool env_var_resolver = false;
  for (const auto& d : a.defines) {
    auto eq = d.find('=');
    std::string k = d.substr(0, eq);
    std::string v = eq == std::string::npos ? "" : d.substr(eq + 1);
    if (k == "flume.monitoring.type") {
      monitoring_type = v;
    } else if (k == "flume.monitoring.port") {
      auto port = parse_whole_number(v, 0, 65535);
      if (!port) {
        std::fprintf(stderr, "ingestor agent: -Dflume.monitoring.port: %s, got '%s'\n",
                     expected_whole_number(0, 65535).c_str(), v.c_str());
        return 2;
      }
      metrics_port = static_cast<int>(*port);
    } else if (k == "propertiesImplementation" &&
               v == "org.apache.flume.node.EnvVarResolverProperties") {
      env_var_resolver = true;  // `${NAME}` that is no key reads the environment, as Flume
    } else if (k == "flume.root.logger") {
      if (!log::set_level(v)) log::warn("-Dflume.root.logger: unknown level '{}' ignored", v);
    } else {
      log::info("-D{} accepted and ignored", d);
    }
  }
  if (!monitoring_type.empty()) {
    std::string t = monitoring_type;
    for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (t != "http") {
      std::fprintf(stderr,
                   "ingestor agent: -Dflume.monitoring.type=%s is not supported (supported: "
                   "http)\n",
                   monitoring_type.c_str());
      return 2;
    }
    if (metrics_port < 0) metrics_port = 41414;  // Flume's default port
  }

  std::vector<PropertyLine> lines;
  auto loaded = load_properties_files(a.conf_files, &lines);
  if (!loaded) {
    std::fprintf(stderr, "ingestor agent: %s\n", loaded.error().message.c_str());
    return 2;
  }
  // Files as they are really written (duplicates, NBSP, pasted commands...): config_quirks.h.
  Diagnostics diags;
  Properties props = apply_config_quirks(lines, a.lenient, diags);
  std::vector<std::string> unresolved;
  if (auto s = substitute_values(props, process_env, &unresolved, env_var_resolver); !s) {
    std::fprintf(stderr, "ingestor agent: %s\n", s.error().message.c_str());
    return 2;
  }
  for (const auto& u : unresolved) log::warn("unresolved substitution left as it is: {}", u);

  AgentConfig config = parse_agent_config(props, a.name, diags);
  AgentOptions options{a.lenient, a.conf_dir, a.io_threads};
  auto agent = Agent::build(config, diags, options);
  for (const auto& d : diags.all()) {
    if (d.severity == Diagnostic::Severity::kError && !a.lenient) {
      std::fprintf(stderr, "%s\n", d.to_string().c_str());
    } else {
      log::warn("{}", d.to_string());
    }
  }
  if (!agent) {
    std::fprintf(stderr,
                 "ingestor agent: %s; not starting (use --lenient to drop the failing "
                 "components and run the rest, as Flume does)\n",
                 agent.error().message.c_str());
    return 1;
  }
  if (a.check) {
    std::fputs(render_check((*agent)->topology()).c_str(), stdout);
    return 0;
  }

  block_stop_signals();
  if (auto s = (*agent)->start(); !s) {
    std::fprintf(stderr, "ingestor agent: %s\n", s.error().message.c_str());
    return 1;
  }
  std::unique_ptr<MonitoringServer> monitoring;
  if (metrics_port >= 0) {
    Agent* ag = agent->get();
    monitoring = std::make_unique<MonitoringServer>(ag->io_pool(), a.metrics_bind,
                                                    static_cast<uint16_t>(metrics_port), *ag);
    if (auto s = monitoring->start(); !s) {
      std::fprintf(stderr, "ingestor agent: monitoring: %s\n", s.error().message.c_str());
      (*agent)->stop();
      return 1;
    }
    log::info("status page on http://{}:{}/, metrics on /metrics and /prometheus", a.metrics_bind,
              monitoring->port());
  }
  if (!a.status_file.empty()) {
    std::string js = "{\"agent\":\"" + json_escape(a.name) +
                     "\",\"pid\":" + std::to_string(::getpid()) +
                     ",\"metrics_port\":" + std::to_string(monitoring ? monitoring->port() : -1) +
                     ",\"sources\":{";
    bool first = true;
    for (const auto& s : (*agent)->sources()) {
      if (!first) js += ",";
      first = false;
      js += "\"" + json_escape(s->name()) + "\":{\"type\":\"" + json_escape(s->type()) +
            "\",\"port\":" + std::to_string(s->bound_port()) + ",\"ports\":[";
      const auto ports = s->bound_ports();
      for (size_t i = 0; i < ports.size(); ++i) js += (i ? "," : "") + std::to_string(ports[i]);
      js += "]}";
    }
    js += "}}\n";
    if (!write_file_atomic(a.status_file, js))
      log::warn("cannot write status file {}", a.status_file);
  }

  int sig = wait_for_stop_signal();
  log::info("signal {} received, stopping", sig);
  if (monitoring) monitoring->stop();
  (*agent)->stop();
  return 0;
}

}  // namespace ingestor::cli
