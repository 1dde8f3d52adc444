// `ingestor up`: the whole pipeline in one process (store, consumer, relay, agent), configured by
// one properties file (conf/pipeline.properties): the agent section of conf/agent.conf plus
// `store.*`, `relay.*` and `consumer.*` keys (cli/up_config.h). The file is `-f FILE`, else
// ./conf/pipeline.properties when it exists (in the repository, in the image), else the built-in
// copy of conf/pipeline.properties (cli/up_default.h), so `up` runs in any directory. Data lives
// under --data-dir (./ingestor-data), with the generated credentials (cli/up_credentials.h).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <thread>

#include "agent/agent.h"
#include "agent/builtin_components.h"
#include "agent/monitoring.h"
#include "base/file.h"
#include "base/log.h"
#include "cli/commands.h"
#include "cli/up_config.h"
#include "cli/up_credentials.h"
#include "cli/up_default.h"
#include "consumer/consumer.h"
#include "core/config/agent_config.h"
#include "core/config/properties.h"
#include "net/bearer_token.h"
#include "relay/webhook_relay.h"
#include "store/notifier.h"
#include "store/object_store.h"
#include "store/s3_api.h"
#include "store/server.h"
#include "store/store_metrics.h"

namespace ingestor::cli {

void add_up_command(CLI::App& app, UpArgs& a) {
  CLI::App* sub = app.add_subcommand(
      "up", "Run the whole pipeline locally: store, consumer, relay and agent in one process");
  sub->add_option("-f,--conf-file", a.conf_file,
                  "Pipeline configuration (default: ./conf/pipeline.properties if it exists, "
                  "else the built-in one)");
  sub->add_flag("--print-config", a.print_config,
                "Print the built-in configuration (conf/pipeline.properties) and exit");
  sub->add_option("--data-dir", a.data_dir, "Where objects, staging and downloads go")
      ->default_str("ingestor-data");
  sub->add_option("--status-file", a.status_file, "Write the bound ports as JSON once started");
}

namespace {

constexpr const char* kRepoConfig = "conf/pipeline.properties";

// The consumer needs the store's URL before the store can start (the store needs the relay's,
// which needs the consumer's): with `store.listen` on port 0, pick a free port up front.
uint16_t free_port(const std::string& host) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

// A counter from the consumer's metrics JSON ("downloads":12).
int64_t json_number(const std::string& js, const std::string& key) {
  auto pos = js.find("\"" + key + "\":");
  if (pos == std::string::npos) return 0;
  return std::atoll(js.c_str() + pos + key.size() + 3);
}

// The configuration: -f FILE, else ./conf/pipeline.properties, else the built-in copy of it.
// `conf_dir` is the directory relative paths of the agent's config are taken from.
Result<Properties> load_up_config(const UpArgs& a, std::string& conf_dir) {
  std::string conf = a.conf_file;
  if (conf.empty() && std::filesystem::exists(kRepoConfig)) conf = kRepoConfig;
  if (!conf.empty()) {
    conf_dir = std::filesystem::path(conf).parent_path().string();
    log::info("configuration: {}", conf);
    return load_properties_files({conf});
  }
  conf_dir.clear();
  log::info(
      "configuration: the built-in default (no -f and no ./{}; `ingestor up "
      "--print-config` shows it)",
      kRepoConfig);
  return parse_properties(up_default_config(), "built-in pipeline.properties");
}

// A demo opens no port to the network unless told to: each agent source with a `bind` key that
// the configuration leaves unset listens on 127.0.0.1.
void bind_sources_to_loopback(Properties& props) {
  const std::string* names = props.get("agent.sources");
  if (names == nullptr) return;
  std::istringstream in(*names);
  for (std::string name; in >> name;) {
    const std::string prefix = "agent.sources." + name + ".";
    const std::string* type = props.get(prefix + "type");
    const SourceType* st = type ? find_source_type(*type) : nullptr;
    if (st == nullptr || props.get(prefix + "bind") != nullptr) continue;
    for (const auto& k : st->spec().keys) {
      if (k.key == "bind") props.set(prefix + "bind", "127.0.0.1");
    }
  }
}

int64_t metric(const Component& c, const std::string& name) {
  MetricList m;
  c.collect_metrics(m);
  for (auto& [k, v] : m)
    if (k == name) return std::atoll(v.c_str());
  return 0;
}

}  // namespace

int run_up(const UpArgs& a) {
  if (a.print_config) {
    std::fwrite(up_default_config().data(), 1, up_default_config().size(), stdout);
    return 0;
  }
  const std::string data = a.data_dir.empty() ? "ingestor-data" : a.data_dir;
  std::string conf_dir;
  auto props = load_up_config(a, conf_dir);
  if (!props) {
    std::fprintf(stderr, "ingestor up: %s\n", props.error().message.c_str());
    return 2;
  }
  props->set("pipeline.dataDir", data);
  bind_sources_to_loopback(*props);
  // `${store.endpoint}` is only known once the store listens: substitute now for everything
  // else, and again before the agent is built.
  if (auto s = substitute_values(*props, process_env, nullptr); !s) {
    std::fprintf(stderr, "ingestor up: %s\n", s.error().message.c_str());
    return 2;
  }

  UpConfigProblems problems;
  UpConfig cfg = parse_up_config(*props, problems);
  for (const auto& w : problems.warnings) log::warn("{}", w);
  for (const auto& e : problems.errors) std::fprintf(stderr, "ingestor up: %s\n", e.c_str());
  if (!problems.errors.empty()) return 2;
  if (auto s = make_dirs(data); !s) {
    std::fprintf(stderr, "ingestor up: %s\n", s.error().message.c_str());
    return 1;
  }
  // Secrets the configuration leaves empty: generated on the first run, kept in the data dir.
  const std::string creds_file = credentials_path(data);
  auto creds = load_or_create_credentials(creds_file);
  if (!creds) {
    std::fprintf(stderr, "ingestor up: %s\n", creds.error().message.c_str());
    return 1;
  }
  const bool generated_in_use = apply_credentials(*props, *creds) > 0;
  UpConfigProblems again;  // the same keys, now with the credentials: nothing new to report
  cfg = parse_up_config(*props, again);
  Listen store_ep = cfg.store_listen;
  const Listen& relay_ep = cfg.relay_listen;
  const Listen& consumer_ep = cfg.consumer_listen;
  if (store_ep.port == 0) store_ep.port = free_port(store_ep.host);
  const std::string& access_key = cfg.store_access_key;
  const std::string& secret_key = cfg.store_secret_key;
  const std::string& bucket = cfg.store_bucket;
  const std::string& region = cfg.store_region;
  const std::string& secret = cfg.relay_secret;
  for (const auto& dir : {data, data + "/store", data + "/downloads"}) {
    if (auto s = make_dirs(dir); !s) {
      std::fprintf(stderr, "ingestor up: %s\n", s.error().message.c_str());
      return 1;
    }
  }
  // The agent's S3 sink and the consumer find the store's keys in the environment (the
  // credentials chain), set before any thread starts.
  ::setenv("AWS_ACCESS_KEY_ID", access_key.c_str(), 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", secret_key.c_str(), 1);
  ::setenv("AWS_EC2_METADATA_DISABLED", "true", 1);

  block_stop_signals();
  net::IoPool pool(0);
  pool.start();

  // 1. Consumer.
  consumer::ConsumerOptions co;
  co.bind = consumer_ep.host;
  co.port = consumer_ep.port;
  co.download_dir = data + "/downloads";
  co.data_dir = data + "/consumer";
  co.s3_endpoint = "http://" + store_ep.host + ":" + std::to_string(store_ep.port);
  co.region = region;
  co.secret = secret;
  co.workers = cfg.consumer_workers;
  consumer::Consumer cons(pool, co);
  if (auto s = cons.start(); !s) {
    std::fprintf(stderr, "ingestor up: consumer: %s\n", s.error().message.c_str());
    return 1;
  }
  // 2. Relay, posting to the consumer.
  relay::RelayOptions ro;
  ro.bind = relay_ep.host;
  ro.port = relay_ep.port;
  ro.target_url = "http://" + consumer_ep.host + ":" + std::to_string(cons.port()) + "/objects";
  ro.secret = secret;
  // The store below sends it with each notification; nothing else may have notifications
  // signed. A random one each run unless relay.webhookToken sets it (an outside sender, e.g.
  // MinIO, needs to know it).
  if (cfg.relay_webhook_token.empty()) {
    auto token = net::new_bearer_token();
    if (!token) {
      std::fprintf(stderr, "ingestor up: relay: %s\n", token.error().message.c_str());
      return 1;
    }
    ro.webhook_token = std::move(*token);
  } else if (auto why = net::bearer_token_problem(cfg.relay_webhook_token); !why.empty()) {
    std::fprintf(stderr, "ingestor up: relay.webhookToken: the token %s\n", why.c_str());
    return 2;
  } else {
    ro.webhook_token = cfg.relay_webhook_token;
  }
  relay::WebhookRelay rel(pool, ro);
  if (auto s = rel.start(); !s) {
    std::fprintf(stderr, "ingestor up: relay: %s\n", s.error().message.c_str());
    return 1;
  }
  // 3. Store, notifying the relay.
  store::StoreOptions so;
  so.data_dir = data + "/store";
  so.region = region;
  so.notify_webhook = "http://" + relay_ep.host + ":" + std::to_string(rel.port()) + "/";
  if (cfg.store_min_free_space) so.min_free_space = *cfg.store_min_free_space;
  so.min_free_space_setting = "store.minFreeSpace";
  auto st = store::ObjectStore::open(so);
  if (!st) {
    std::fprintf(stderr, "ingestor up: store: %s\n", st.error().message.c_str());
    return 1;
  }
  (void)(*st)->create_bucket(bucket);  // exists already after the first run: fine
  store::NotifierOptions notifier_options;
  notifier_options.tokens[so.notify_webhook] = ro.webhook_token;
  store::Notifier notifier((*st)->db(), notifier_options);
  (*st)->db().set_outbox_listener([&notifier] { notifier.wake(); });
  store::ApiOptions ao;
  ao.access_key = access_key;
  ao.secret_key = secret_key;
  ao.region = region;
  store::S3Api api(**st, ao);
  store::StoreMetrics store_metrics(**st, &notifier, api);
  api.set_metrics(&store_metrics);
  store::ServerOptions svo;
  svo.host = store_ep.host;
  svo.port = store_ep.port;
  store::StoreServer server(api, svo);
  notifier.start();
  if (auto s = server.start(); !s) {
    std::fprintf(stderr, "ingestor up: store: %s\n", s.error().message.c_str());
    notifier.stop();
    return 1;
  }
  // 4. Agent, with the store's real address.
  props->set("store.endpoint", "http://" + store_ep.host + ":" + std::to_string(server.port()));
  std::vector<std::string> unresolved;
  if (auto s = substitute_values(*props, process_env, &unresolved); !s) {
    std::fprintf(stderr, "ingestor up: %s\n", s.error().message.c_str());
    server.stop();
    notifier.stop();
    return 2;
  }
  for (const auto& u : unresolved) log::warn("unresolved substitution left as it is: {}", u);
  Diagnostics diags;
  AgentConfig config = parse_agent_config(*props, "agent", diags);
  AgentOptions opts{false, conf_dir, 0};
  auto agent = Agent::build(config, diags, opts);
  for (const auto& d : diags.all()) std::fprintf(stderr, "%s\n", d.to_string().c_str());
  if (!agent) {
    std::fprintf(stderr, "ingestor up: %s\n", agent.error().message.c_str());
    server.stop();
    notifier.stop();
    return 1;
  }
  if (auto s = (*agent)->start(); !s) {
    std::fprintf(stderr, "ingestor up: %s\n", s.error().message.c_str());
    server.stop();
    notifier.stop();
    return 1;
  }
  Agent* ag = agent->get();
  // The status page's store, relay and consumer figures (GET /roles): each role's own /metrics
  // JSON, side by side.
  auto roles_json = [&store_metrics, &rel, &cons] {
    boost::json::object o;
    for (auto [name, js] : {std::pair<const char*, std::string>{"store", store_metrics.json()},
                            {"relay", rel.metrics_json()},
                            {"consumer", cons.metrics_json()}}) {
      boost::system::error_code ec;
      boost::json::value v = boost::json::parse(js, ec);
      const boost::json::object* obj = ec ? nullptr : v.if_object();
      const boost::json::value* inner = obj ? obj->if_contains(name) : nullptr;
      o[name] = inner ? *inner : boost::json::value(boost::json::object{});
    }
    return boost::json::serialize(o);
  };
  MonitoringServer monitoring(ag->io_pool(), "127.0.0.1", cfg.monitoring_port, *ag,
                              {{"store", "relay", "consumer"}, roles_json});
  if (auto s = monitoring.start(); !s) log::warn("agent metrics: {}", s.error().message);

  // Where to send data, where it lands.
  int nc_port = 0, http_port = 0;
  for (const auto& s : ag->sources()) {
    if (s->type() == "netcat" && !nc_port) nc_port = s->bound_port();
    if (s->type() == "http" && !http_port) http_port = s->bound_port();
  }
  std::printf("ingestor up: the pipeline is running.\n");
  if (nc_port) std::printf("  send lines:  echo hello | nc -q1 localhost %d\n", nc_port);
  if (http_port)
    std::printf(
        "  send JSON:   curl -d '[{\"headers\":{},\"body\":\"hello\"}]' http://localhost:%d/\n",
        http_port);
  std::printf("  objects:     s3://%s in the store at http://%s:%d (data in %s/store)\n",
              bucket.c_str(), store_ep.host.c_str(), server.port(), data.c_str());
  std::printf("  downloads:   %s/downloads/%s/\n", data.c_str(), bucket.c_str());
  if (generated_in_use)
    std::printf(
        "  credentials: %s (generated on the first run, mode 0600: the store's S3 "
        "keys, the relay's secret)\n",
        creds_file.c_str());
  std::printf(
      "  metrics:     agent http://127.0.0.1:%d/metrics, consumer http://%s:%d/metrics, "
      "relay http://%s:%d/metrics\n",
      monitoring.port(), consumer_ep.host.c_str(), cons.port(), relay_ep.host.c_str(), rel.port());
  std::printf("  Ctrl-C stops it, flushing open objects.\n");
  std::fflush(stdout);
  if (!a.status_file.empty()) {
    std::string js = "{\"pid\":" + std::to_string(::getpid()) +
                     ",\"netcat_port\":" + std::to_string(nc_port) +
                     ",\"http_port\":" + std::to_string(http_port) +
                     ",\"store_port\":" + std::to_string(server.port()) +
                     ",\"relay_port\":" + std::to_string(rel.port()) +
                     ",\"consumer_port\":" + std::to_string(cons.port()) +
                     ",\"metrics_port\":" + std::to_string(monitoring.port()) + "}\n";
    write_file_atomic(a.status_file, js);
  }

  // A live status line until a stop signal arrives.
  std::atomic<bool> done{false};
  std::thread status([&] {
    const bool tty = ::isatty(STDOUT_FILENO);
    auto next = std::chrono::steady_clock::now();
    while (!done) {
      next += std::chrono::seconds(tty ? 1 : 10);
      while (!done && std::chrono::steady_clock::now() < next)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (done) break;
      int64_t events = 0, objects = 0;
      for (const Component* c : ag->components()) {
        if (std::string(c->metrics_group()) == "SOURCE") events += metric(*c, "EventAcceptedCount");
        if (std::string(c->metrics_group()) == "SINK") objects += metric(*c, "ObjectsUploaded");
      }
      std::string cm = cons.metrics_json();
      std::printf(tty ? "\r  events in %lld | objects written %lld | downloads done %lld | lag p99 "
                        "%lld ms   "
                      : "status: events in %lld, objects written %lld, downloads done %lld, lag "
                        "p99 %lld ms\n",
                  static_cast<long long>(events), static_cast<long long>(objects),
                  static_cast<long long>(json_number(cm, "downloads")),
                  static_cast<long long>(json_number(cm, "lagMsP99")));
      std::fflush(stdout);
    }
  });
  int sig = wait_for_stop_signal();
  done = true;
  status.join();
  std::printf("\n");
  log::info("signal {} received, stopping (flushing open objects)", sig);
  monitoring.stop();
  (*agent)->stop();  // seals and uploads open objects
  // Let the last notifications reach the consumer briefly.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < until &&
         json_number(cons.metrics_json(), "queued") > json_number(cons.metrics_json(), "downloads"))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  server.stop();
  notifier.stop();
  (*st)->db().set_outbox_listener(nullptr);
  rel.stop();
  cons.stop();
  pool.stop();
  return 0;
}

}  // namespace ingestor::cli
