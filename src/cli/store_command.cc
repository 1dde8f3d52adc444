// `ingestor store`: an S3-compatible object store on local disk with ObjectCreated notifications
// POSTed to webhooks (src/store/README.md).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <memory>

#include "base/log.h"
#include "cli/commands.h"
#include "net/bearer_token.h"
#include "store/acl.h"
#include "store/notifier.h"
#include "store/object_store.h"
#include "store/s3_api.h"
#include "store/server.h"
#include "store/store_metrics.h"

namespace ingestor::cli {

namespace {

// The floor of --notify-retry-max-ms, so that a webhook that is down is not POSTed to in a tight
// loop (a smaller value used to be raised to it silently).
constexpr int64_t kMinNotifyRetryMaxMs = 10;

// The Bearer token of each webhook URL: --notify-token-file (else INGESTOR_NOTIFY_TOKEN) for
// --notify-webhook, --notify-target-token-file NAME=PATH for a target. kConfig for an unreadable
// or unacceptable token, a token for nothing, and one URL given two different tokens.
Status notify_tokens(const StoreArgs& a, const store::StoreOptions& opts,
                     std::map<std::string, std::string>& tokens) {
  auto add = [&](const std::string& url, std::string token, const std::string& what) -> Status {
    auto [it, fresh] = tokens.emplace(url, token);
    if (!fresh && it->second != token)
      return make_error(Errc::kConfig,
                        what + ": " + url + " already has another token; one URL, one token");
    return {};
  };
  if (!opts.notify_webhook.empty()) {
    auto t =
        net::load_bearer_token("--notify-token-file", a.notify_token_file, "INGESTOR_NOTIFY_TOKEN");
    if (!t) return t.error();
    if (!t->empty()) {
      if (auto s = add(opts.notify_webhook, std::move(*t), "--notify-token-file"); !s) return s;
    }
  } else if (!a.notify_token_file.empty()) {
    return make_error(Errc::kConfig,
                      "--notify-token-file is the token of --notify-webhook, "
                      "which is not given");
  }
  for (const auto& f : a.notify_target_token_files) {
    auto eq = f.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == f.size())
      return make_error(Errc::kConfig,
                        "--notify-target-token-file must be NAME=PATH, got '" + f + "'");
    const std::string name = f.substr(0, eq);
    auto target = opts.targets.find(name);
    if (target == opts.targets.end())
      return make_error(Errc::kConfig, "--notify-target-token-file " + name +
                                           "=...: no --notify-target is named '" + name + "'");
    const std::string flag = "--notify-target-token-file " + name;
    auto t = net::load_bearer_token(flag, f.substr(eq + 1), nullptr);
    if (!t) return t.error();
    if (auto s = add(target->second, std::move(*t), flag); !s) return s;
  }
  return {};
}

}  // namespace

void add_store_command(CLI::App& app, StoreArgs& a) {
  CLI::App* sub = app.add_subcommand(
      "store", "Run an S3-compatible object store on local disk, with event notifications");
  sub->add_option("--listen", a.listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str()
      ->check(listen_address());
  sub->add_option("--data-dir", a.data_dir, "Directory holding objects and metadata")->required();
  sub->add_option("--access-key", a.access_key, "Access key id clients sign with")->required();
  sub->add_option("--secret-key", a.secret_key, "Secret access key")->required();
  sub->add_option("--user", a.users,
                  "NAME:ACCESS_KEY:SECRET_KEY: another user, with its own buckets and objects "
                  "(ACLs grant access across users; the --access-key user is named 'ingestor'); "
                  "repeatable");
  sub->add_option("--region", a.region, "Region of the store")->capture_default_str();
  sub->add_option("--tls-cert", a.tls_cert, "PEM certificate chain: serve HTTPS");
  sub->add_option("--tls-key", a.tls_key, "PEM private key for --tls-cert");
  sub->add_option("--notify-webhook", a.notify_webhook,
                  "POST every ObjectCreated event of every bucket to this http:// URL");
  sub->add_option("--notify-target", a.notify_targets,
                  "NAME=URL: a webhook that bucket notification configurations may name "
                  "(ARN arn:minio:sqs::NAME:webhook or ...:NAME); repeatable");
  sub->add_option("--notify-token-file", a.notify_token_file,
                  "File holding the token --notify-webhook's POSTs carry as `Authorization: "
                  "Bearer <token>` (env INGESTOR_NOTIFY_TOKEN; the relay's --webhook-token-file)");
  sub->add_option("--notify-target-token-file", a.notify_target_token_files,
                  "NAME=PATH: the file holding the Bearer token of --notify-target NAME; "
                  "repeatable");
  sub->add_option("--create-bucket", a.create_buckets,
                  "Create this bucket at start if it does not exist (may be repeated)");
  sub->add_option("--virtual-host-domain", a.virtual_host_domain,
                  "Host suffix for virtual-hosted-style requests (bucket.DOMAIN:port)")
      ->capture_default_str();
  sub->add_option("--notify-retry-max-ms", a.notify_retry_max_ms,
                  "Longest delay between delivery attempts of a notification")
      ->capture_default_str()
      ->transform(whole_number(kMinNotifyRetryMaxMs, kMaxDelayMs, "milliseconds"));
  sub->add_option("--min-free-space", a.min_free_space,
                  "Refuse new data (507 InsufficientStorage) when the data dir's disk would keep "
                  "fewer free bytes than this, so that deletes still work (0: no floor)")
      ->capture_default_str()
      ->transform(whole_number(0, kNoMax, "bytes"));
  sub->add_option("--io-threads", a.io_threads, "Network threads (default, or 0: one per core)")
      ->transform(whole_number(0, kMaxThreads));
  sub->add_option("--idle-timeout", a.idle_timeout_s,
                  "Seconds a connection may make no progress (an idle keep-alive connection, a "
                  "client that stops sending or reading a body) before the store closes it")
      ->capture_default_str()
      ->transform(whole_number(1, kMaxDelayMs / 1000, "seconds"));
  sub->add_option("--header-timeout", a.header_timeout_s,
                  "Seconds a client has to send a whole request header, from its first byte (from "
                  "the connection's start for the first request); a slower one is dropped")
      ->capture_default_str()
      ->transform(whole_number(1, kMaxDelayMs / 1000, "seconds"));
  sub->add_option("--max-connections", a.max_connections,
                  "Most connections served at once; more are closed at once (and counted in "
                  "/_ingestor/metrics)")
      ->capture_default_str()
      ->transform(whole_number(1, 1000000));
  sub->add_option("--status-file", a.status_file,
                  "Write a JSON file with the bound port once listening");
}

int run_store(const StoreArgs& a) {
  store::ServerOptions so;
  if (!split_listen(a.listen, so.host, so.port)) {
    std::fprintf(stderr, "ingestor store: --listen: %s, got '%s'\n",
                 std::string(kExpectedListen).c_str(), a.listen.c_str());
    return 2;
  }
  so.tls_cert = a.tls_cert;
  so.tls_key = a.tls_key;
  so.io_threads = a.io_threads;
  so.idle_timeout = std::chrono::seconds(a.idle_timeout_s);
  so.header_timeout = std::chrono::seconds(a.header_timeout_s);
  so.max_connections = a.max_connections;
  // An empty secret would let anybody sign as the main account (issue 16).
  if (a.access_key.empty() || a.secret_key.empty()) {
    std::fprintf(stderr, "ingestor store: %s is empty: give the main account a key and a secret\n",
                 a.access_key.empty() ? "--access-key" : "--secret-key");
    return 2;
  }

  store::StoreOptions opts;
  opts.data_dir = a.data_dir;
  opts.region = a.region;
  opts.notify_webhook = a.notify_webhook;
  opts.min_free_space = a.min_free_space;
  for (const auto& t : a.notify_targets) {
    auto eq = t.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == t.size()) {
      std::fprintf(stderr, "ingestor store: --notify-target must be NAME=URL, got '%s'\n",
                   t.c_str());
      return 2;
    }
    opts.targets[t.substr(0, eq)] = t.substr(eq + 1);
  }
  store::NotifierOptions no;
  if (auto s = notify_tokens(a, opts, no.tokens); !s) {
    std::fprintf(stderr, "ingestor store: %s\n", s.error().message.c_str());
    return 2;
  }
  for (const auto& url : [&] {
         std::vector<std::string> v;
         if (!opts.notify_webhook.empty()) v.push_back(opts.notify_webhook);
         for (const auto& [_, u] : opts.targets) v.push_back(u);
         return v;
       }()) {
    if (!url.starts_with("http://")) {
      std::fprintf(stderr, "ingestor store: webhook URL must start with http://: '%s'\n",
                   url.c_str());
      return 2;
    }
  }

  // The main account and every --user: names and access keys unique, nothing empty.
  std::vector<store::User> users;
  for (const auto& u : a.users) {
    auto parsed = store::parse_user_flag(u);
    if (!parsed) {
      std::fprintf(stderr,
                   "ingestor store: --user must be NAME:ACCESS_KEY:SECRET_KEY with none of them "
                   "empty, got '%s'\n",
                   u.substr(0, u.find(':')).c_str());
      return 2;
    }
    users.push_back(std::move(*parsed));
  }
  {
    std::vector<store::User> all{{opts.owner, a.access_key, a.secret_key}};
    all.insert(all.end(), users.begin(), users.end());
    if (auto why = store::Users(all).validate(); !why.empty()) {
      std::fprintf(stderr, "ingestor store: --user: %s\n", why.c_str());
      return 2;
    }
  }
  auto st = store::ObjectStore::open(opts);
  if (!st) {
    std::fprintf(stderr, "ingestor store: %s\n", st.error().message.c_str());
    return 1;
  }
  for (const auto& b : a.create_buckets) {
    auto s = (*st)->create_bucket(b);
    if (!s && s.error().code != "BucketAlreadyOwnedByYou") {
      std::fprintf(stderr, "ingestor store: --create-bucket %s: %s\n", b.c_str(),
                   s.error().message.c_str());
      return 2;
    }
    if (s) log::info("store: created bucket {}", b);
  }
  no.max_backoff = std::chrono::milliseconds(a.notify_retry_max_ms);
  no.min_backoff = std::min(no.min_backoff, no.max_backoff);
  store::Notifier notifier((*st)->db(), no);
  (*st)->db().set_outbox_listener([&notifier] { notifier.wake(); });

  store::ApiOptions ao;
  ao.access_key = a.access_key;
  ao.secret_key = a.secret_key;
  ao.users = users;
  ao.region = a.region;
  ao.virtual_host_domain = a.virtual_host_domain;
  store::S3Api api(**st, ao);
  store::StoreMetrics metrics(**st, &notifier, api);
  api.set_metrics(&metrics);
  store::StoreServer server(api, so);
  metrics.set_connections(&server.connection_counters());

  block_stop_signals();
  notifier.start();
  if (auto s = server.start(); !s) {
    std::fprintf(stderr, "ingestor store: %s\n", s.error().message.c_str());
    notifier.stop();
    return 1;
  }
  log::info("store: listening on {}:{} ({}), data in {}", so.host, server.port(),
            so.tls_cert.empty() ? "http" : "https", a.data_dir);
  if (!a.status_file.empty()) {
    std::string js = "{\"pid\":" + std::to_string(::getpid()) +
                     ",\"port\":" + std::to_string(server.port()) + ",\"scheme\":\"" +
                     (so.tls_cert.empty() ? "http" : "https") + "\"}\n";
    if (!write_file_atomic(a.status_file, js))
      log::warn("cannot write status file {}", a.status_file);
  }
  int sig = wait_for_stop_signal();
  log::info("signal {} received, stopping", sig);
  server.stop();
  notifier.stop();
  (*st)->db().set_outbox_listener(nullptr);
  return 0;
}

}  // namespace ingestor::cli
