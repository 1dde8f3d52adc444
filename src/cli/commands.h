#pragma once
// One function per subcommand; main.cc wires them into CLI11.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace ingestor::cli {

struct AgentArgs {
  std::string name;
  std::vector<std::string> conf_files;
  std::string conf_dir;
  bool no_reload_conf = false;
  std::vector<std::string> defines;  // -Dk=v
  bool lenient = false;
  int metrics_port = -1;
  std::string metrics_bind = "0.0.0.0";
  std::string status_file;
  std::string describe;
  size_t io_threads = 0;
};

void add_agent_command(CLI::App& app, AgentArgs& args);
int run_agent(const AgentArgs& args);

struct UpArgs {
  std::string conf_file;
  std::string status_file;
};
void add_up_command(CLI::App& app, UpArgs& args);
int run_up(const UpArgs& args);

struct StoreArgs {
  std::string listen = "127.0.0.1:9000";
  std::string data_dir;
  std::string access_key;
  std::string secret_key;
  std::string region = "us-east-1";
  std::string tls_cert, tls_key;
  std::string notify_webhook;
  std::vector<std::string> notify_targets;  // NAME=URL
  std::string virtual_host_domain = "localhost";
  int64_t notify_retry_max_ms = 30000;
  size_t io_threads = 0;
  std::string status_file;
};
void add_store_command(CLI::App& app, StoreArgs& args);
int run_store(const StoreArgs& args);

// Blocks SIGINT/SIGTERM in every thread started after this call; wait_for_stop_signal() then
// returns the signal that arrived.
void block_stop_signals();
int wait_for_stop_signal();

// Writes `content` to `path` atomically (temp file + rename).
bool write_file_atomic(const std::string& path, const std::string& content);

}  // namespace ingestor::cli
