#pragma once
// One function per subcommand; main.cc wires them into CLI11.

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
class Validator;
}  // namespace CLI

namespace ingestor::cli {

// The ranges of the numeric flags (and of `ingestor up`'s numeric keys).
inline constexpr int64_t kNoMax = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kMaxThreads = 256;         // --workers, --io-threads
inline constexpr int64_t kMaxDelayMs = 86'400'000;  // a day: retry delays, doubled without overflow

// A CLI11 transform for a numeric flag (->transform(whole_number(1, kMaxThreads))): takes what
// parse_whole_number(min, max) takes (core/config/spec.h, the configuration's integer syntax, so
// that "-1" is not read as 2^64 - 1 nor "010" as 8, as CLI11's own conversion would) and hands
// it on in plain decimal. Anything else stops the parse before any command runs:
//   --workers: expected a whole number from 1 to 256, got '0'
// and main() exits 2. Its description, shown by --help, is the range.
CLI::Validator whole_number(int64_t min, int64_t max, std::string_view unit = {});
// A CLI11 check for --listen: HOST:PORT as split_listen() reads it, or
//   --listen: expected HOST:PORT with a port from 0 to 65535, got 'x'
CLI::Validator listen_address();

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
  bool check = false;  // --check: validate, print the topology, exit
  size_t io_threads = 0;
};

void add_agent_command(CLI::App& app, AgentArgs& args);
int run_agent(const AgentArgs& args);

struct UpArgs {
  std::string conf_file;  // empty: ./conf/pipeline.properties if it exists, else the built-in one
  std::string data_dir;
  std::string status_file;
  bool print_config = false;  // print the built-in configuration and exit
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
  std::string notify_token_file;  // token of --notify-webhook (else INGESTOR_NOTIFY_TOKEN)
  std::vector<std::string> notify_target_token_files;  // NAME=PATH
  std::vector<std::string> users;                      // NAME:ACCESS_KEY:SECRET_KEY
  std::vector<std::string> create_buckets;             // created at start when missing
  std::string virtual_host_domain = "localhost";
  int64_t notify_retry_max_ms = 30000;
  uint64_t min_free_space = 64ull << 20;  // bytes; StoreOptions::min_free_space
  size_t io_threads = 0;
  int64_t idle_timeout_s = 120;   // store::ServerOptions::idle_timeout
  int64_t header_timeout_s = 30;  // store::ServerOptions::header_timeout
  size_t max_connections = 4096;  // store::ServerOptions::max_connections
  std::string status_file;
};
void add_store_command(CLI::App& app, StoreArgs& args);
int run_store(const StoreArgs& args);

struct RelayArgs {
  std::string listen;  // empty: Lambda mode when AWS_LAMBDA_RUNTIME_API is set
  std::string target;
  std::string secret;
  bool secret_given = false;       // --secret was on the command line (given empty: refused)
  std::string webhook_token_file;  // else INGESTOR_RELAY_WEBHOOK_TOKEN
  bool insecure_no_webhook_token = false;
  int64_t timeout_ms = 0;          // 0: env or default
  int64_t attempt_timeout_ms = 0;  // 0: env or default
  size_t workers = 4;
  bool lambda = false;
  size_t io_threads = 0;
  std::string status_file;
};
void add_relay_command(CLI::App& app, RelayArgs& args);
int run_relay(const RelayArgs& args);
// The binary was started as `bootstrap` without arguments (a Lambda custom runtime): main()
// runs the relay's Lambda loop, configured by the environment only. With arguments
// (`bootstrap --version`) the normal command line applies.
bool invoked_as_bootstrap(const char* argv0);
int run_bootstrap();

struct ConsumerArgs {
  std::string listen = "127.0.0.1:9200";
  std::string download_dir;
  std::string s3_endpoint;
  std::string region = "us-east-1";
  std::string secret;
  size_t workers = 4;
  int max_attempts = 5;
  int64_t retry_base_ms = 500;
  int64_t retry_max_ms = 60000;
  std::string exec;
  std::string data_dir;
  size_t io_threads = 0;
  std::string status_file;
};
void add_consumer_command(CLI::App& app, ConsumerArgs& args);
int run_consumer(const ConsumerArgs& args);

// "HOST:PORT" ("[::1]:0", ":9200" = 0.0.0.0) -> host, port; false when malformed.
bool split_listen(const std::string& listen, std::string& host, uint16_t& port);
// What split_listen() takes, for messages.
inline constexpr std::string_view kExpectedListen =
    "expected HOST:PORT with a port from 0 to 65535";

// Blocks SIGINT/SIGTERM in every thread started after this call; wait_for_stop_signal() then
// returns the signal that arrived.
void block_stop_signals();
int wait_for_stop_signal();

// Writes `content` to `path` atomically (temp file + rename).
bool write_file_atomic(const std::string& path, const std::string& content);

}  // namespace ingestor::cli
