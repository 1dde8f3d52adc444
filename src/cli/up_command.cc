// `ingestor up`: the whole pipeline on one machine. For now: the agent of conf/agent.conf.
#include <CLI/CLI.hpp>

#include <filesystem>

#include "cli/commands.h"

namespace ingestor::cli {

void add_up_command(CLI::App& app, UpArgs& a) {
  CLI::App* sub = app.add_subcommand("up", "Run the whole pipeline locally (conf/agent.conf)");
  sub->add_option("-f,--conf-file", a.conf_file, "Configuration file")
      ->default_str("conf/agent.conf");
  sub->add_option("--status-file", a.status_file, "Write the bound ports as JSON once started");
}

int run_up(const UpArgs& a) {
  AgentArgs args;
  args.name = "agent";
  args.conf_files = {a.conf_file.empty() ? std::string("conf/agent.conf") : a.conf_file};
  args.conf_dir = std::filesystem::path(args.conf_files[0]).parent_path().string();
  args.metrics_port = 41414;
  args.status_file = a.status_file;
  return run_agent(args);
}

}  // namespace ingestor::cli
