// `ingestor relay`: S3 notifications -> POST to the consumer, as a webhook endpoint (--listen) or
// as an AWS Lambda custom runtime (AWS_LAMBDA_RUNTIME_API, or the binary named `bootstrap`).
// src/relay/README.md.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/log.h"
#include "cli/commands.h"
#include "net/bearer_token.h"
#include "net/io_pool.h"
#include "relay/lambda_runtime.h"
#include "relay/webhook_relay.h"

namespace ingestor::cli {

void add_relay_command(CLI::App& app, RelayArgs& a) {
  CLI::App* sub = app.add_subcommand(
      "relay",
      "Relay S3 ObjectCreated notifications to the consumer: a webhook endpoint (--listen) or, "
      "with AWS_LAMBDA_RUNTIME_API set, an AWS Lambda custom runtime");
  sub->add_option("--listen", a.listen,
                  "HOST:PORT for the webhook endpoint (port 0: any free port)")
      ->check(listen_address());
  sub->add_option("--target", a.target,
                  "Consumer URL to POST each record to, e.g. http://127.0.0.1:9200/objects "
                  "(env INGESTOR_TARGET_URL)");
  sub->add_option(
         "--secret", a.secret,
         "Shared secret: sign each POST with X-Ingestor-Signature (env INGESTOR_SECRET, or "
         "INGESTOR_SECRET_SSM_PARAMETER=<name>: read from SSM Parameter Store at start)")
      ->each([&a](const std::string&) { a.secret_given = true; });
  sub->add_option("--webhook-token-file", a.webhook_token_file,
                  "Webhook: file holding the token every POST must carry as `Authorization: "
                  "Bearer <token>` (env INGESTOR_RELAY_WEBHOOK_TOKEN; the store's "
                  "--notify-token-file). Required unless --insecure-no-webhook-token");
  sub->add_flag("--insecure-no-webhook-token", a.insecure_no_webhook_token,
                "Webhook: accept POSTs without a token (anybody who reaches the port has "
                "notifications signed and relayed)");
  sub->add_option("--timeout-ms", a.timeout_ms,
                  "Deadline for relaying one notification, retries included "
                  "(env INGESTOR_RELAY_TIMEOUT_MS; default 4000)")
      ->transform(whole_number(1, relay::kMaxTimeoutMs, "milliseconds"));
  sub->add_option("--attempt-timeout-ms", a.attempt_timeout_ms,
                  "Timeout of one POST (env INGESTOR_RELAY_ATTEMPT_TIMEOUT_MS; default 2000)")
      ->transform(whole_number(1, relay::kMaxTimeoutMs, "milliseconds"));
  sub->add_option("--workers", a.workers, "Webhook: notifications relayed concurrently")
      ->capture_default_str()
      ->transform(whole_number(1, kMaxThreads));
  sub->add_flag("--lambda", a.lambda,
                "Run as an AWS Lambda custom runtime (needs AWS_LAMBDA_RUNTIME_API)");
  sub->add_option("--io-threads", a.io_threads, "Network threads (default, or 0: one per core)")
      ->transform(whole_number(0, kMaxThreads));
  sub->add_option("--status-file", a.status_file,
                  "Write a JSON file with the bound port once listening");
}

namespace {

// Flags, then the environment, then the secret from SSM when INGESTOR_SECRET_SSM_PARAMETER names
// it: a network call at start, so that a relay that was told to sign never starts unsigned.
Status build_relay_options(const RelayArgs& a, relay::RelayOptions& o) {
  o.target_url = a.target;
  if (a.secret_given && a.secret.empty())
    return make_error(Errc::kConfig, relay::empty_secret_message("--secret"));
  o.secret = a.secret;
  // Zero when the flag was not given (flags are 1 or more): the environment, else the default.
  o.timeout = std::chrono::milliseconds(a.timeout_ms);
  o.attempt_timeout = std::chrono::milliseconds(a.attempt_timeout_ms);
  o.workers = a.workers;
  if (auto st = relay::apply_relay_env(o); !st) return st;
  return relay::load_relay_secret(o);
}

}  // namespace

int run_relay_lambda(const RelayArgs& a) {
  relay::LambdaOptions lo;
  const char* api = std::getenv("AWS_LAMBDA_RUNTIME_API");
  lo.runtime_api = api ? api : "";
  if (lo.runtime_api.empty()) {
    std::fprintf(stderr, "ingestor relay: Lambda mode needs AWS_LAMBDA_RUNTIME_API (host:port)\n");
    return 2;
  }
  // Reported through /init/error, so Lambda shows it and fails the invocation.
  if (auto st = build_relay_options(a, lo.relay); !st) lo.config_error = st.error().message;
  relay::LambdaRuntime runtime(std::move(lo));
  return runtime.run();
}

int run_relay(const RelayArgs& a) {
  if (a.listen.empty()) {
    if (a.lambda || std::getenv("AWS_LAMBDA_RUNTIME_API")) return run_relay_lambda(a);
    std::fprintf(stderr,
                 "ingestor relay: give --listen HOST:PORT (webhook) or run under Lambda "
                 "(AWS_LAMBDA_RUNTIME_API)\n");
    return 2;
  }
  relay::RelayOptions o;
  if (auto st = build_relay_options(a, o); !st) {
    std::fprintf(stderr, "ingestor relay: %s\n", st.error().message.c_str());
    return st.error().code == Errc::kConfig ? 2 : 1;
  }
  {
    auto token = net::load_bearer_token("--webhook-token-file", a.webhook_token_file,
                                        "INGESTOR_RELAY_WEBHOOK_TOKEN");
    if (!token) {
      std::fprintf(stderr, "ingestor relay: %s\n", token.error().message.c_str());
      return 2;
    }
    if (!token->empty() && a.insecure_no_webhook_token) {
      std::fprintf(stderr,
                   "ingestor relay: --insecure-no-webhook-token and a webhook token "
                   "(--webhook-token-file or INGESTOR_RELAY_WEBHOOK_TOKEN) contradict each "
                   "other: give one\n");
      return 2;
    }
    o.webhook_token = std::move(*token);
    o.insecure_no_webhook_token = a.insecure_no_webhook_token;
  }
  if (!split_listen(a.listen, o.bind, o.port)) {
    std::fprintf(stderr, "ingestor relay: --listen must be HOST:PORT, got '%s'\n",
                 a.listen.c_str());
    return 2;
  }
  block_stop_signals();
  net::IoPool pool(a.io_threads);
  pool.start();
  relay::WebhookRelay relay(pool, o);
  if (auto st = relay.start(); !st) {
    std::fprintf(stderr, "ingestor relay: %s\n", st.error().message.c_str());
    return st.error().code == Errc::kConfig ? 2 : 1;
  }
  if (!a.status_file.empty()) {
    std::string js = "{\"role\":\"relay\",\"pid\":" + std::to_string(::getpid()) +
                     ",\"port\":" + std::to_string(relay.port()) + "}\n";
    if (!write_file_atomic(a.status_file, js))
      log::warn("cannot write status file {}", a.status_file);
  }
  int sig = wait_for_stop_signal();
  log::info("signal {} received, stopping", sig);
  relay.stop();
  pool.stop();
  return 0;
}

bool invoked_as_bootstrap(const char* argv0) {
  if (!argv0) return false;
  std::string s(argv0);
  auto slash = s.rfind('/');
  return (slash == std::string::npos ? s : s.substr(slash + 1)) == "bootstrap";
}

int run_bootstrap() {
  RelayArgs a;
  return run_relay_lambda(a);
}

}  // namespace ingestor::cli
