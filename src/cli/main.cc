// ingestor: one binary, one subcommand per role.
#include <CLI/CLI.hpp>

#include "base/log.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  ingestor::log::init_stderr();
  if (argc == 1 && ingestor::cli::invoked_as_bootstrap(argv[0]))
    return ingestor::cli::run_bootstrap();
  CLI::App app{"ingestor: a durable, Flume-compatible data-ingestion pipeline", "ingestor"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ingestor 0.1.0");

  ingestor::cli::AgentArgs agent_args;
  ingestor::cli::add_agent_command(app, agent_args);
  ingestor::cli::UpArgs up_args;
  ingestor::cli::add_up_command(app, up_args);

  ingestor::cli::StoreArgs store_args;
  ingestor::cli::add_store_command(app, store_args);

  ingestor::cli::RelayArgs relay_args;
  ingestor::cli::add_relay_command(app, relay_args);
  ingestor::cli::ConsumerArgs consumer_args;
  ingestor::cli::add_consumer_command(app, consumer_args);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0. Any other error of the command line (an unknown flag, a
    // missing one, a value out of its range) is a usage error, exit 2 as the subcommands' own
    // checks, rather than CLI11's codes (104 for a conversion, 105 for a validation, ...).
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (app.got_subcommand("agent")) return ingestor::cli::run_agent(agent_args);
  if (app.got_subcommand("up")) return ingestor::cli::run_up(up_args);
  if (app.got_subcommand("store")) return ingestor::cli::run_store(store_args);
  if (app.got_subcommand("relay")) return ingestor::cli::run_relay(relay_args);
  if (app.got_subcommand("consumer")) return ingestor::cli::run_consumer(consumer_args);
  return 2;
}
