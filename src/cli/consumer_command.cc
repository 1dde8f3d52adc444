// `ingestor consumer`: POST /objects -> durable queue -> verified downloads under
// <download-dir>/<bucket>/<key>. src/consumer/README.md.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "base/log.h"
#include "cli/commands.h"
#include "consumer/consumer.h"
#include "consumer/verify.h"
#include "net/io_pool.h"
#include "s3/ssm_client.h"

namespace ingestor::cli {

void add_consumer_command(CLI::App& app, ConsumerArgs& a) {
  CLI::App* sub = app.add_subcommand(
      "consumer", "Take POST /objects from the relay and download each object once, verified");
  sub->add_option("--listen", a.listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str()
      ->check(listen_address());
  sub->add_option("--download-dir", a.download_dir, "Where objects land: DIR/<bucket>/<key>")
      ->required();
  sub->add_option("--s3-endpoint", a.s3_endpoint,
                  "S3 endpoint URL (default: AWS, https://s3.<region>.amazonaws.com)");
  sub->add_option("--region", a.region, "S3 region")->capture_default_str();
  sub->add_option(
      "--secret", a.secret,
      "Shared secret: require X-Ingestor-Signature on POST /objects "
      "(env INGESTOR_SECRET, or INGESTOR_SECRET_SSM_PARAMETER=<name>: read from SSM Parameter "
      "Store at start)");
  sub->add_option("--workers", a.workers, "Concurrent downloads")
      ->capture_default_str()
      ->transform(whole_number(1, kMaxThreads));
  sub->add_option("--max-attempts", a.max_attempts,
                  "Download attempts before an object becomes a dead letter")
      ->capture_default_str()
      ->transform(whole_number(1, std::numeric_limits<int>::max()));
  sub->add_option("--retry-base-ms", a.retry_base_ms,
                  "First retry delay (doubles, jittered), at most --retry-max-ms")
      ->capture_default_str()
      ->transform(whole_number(1, kMaxDelayMs, "milliseconds"));
  sub->add_option("--retry-max-ms", a.retry_max_ms, "Longest retry delay")
      ->capture_default_str()
      ->transform(whole_number(1, kMaxDelayMs, "milliseconds"));
  sub->add_option("--exec", a.exec,
                  "Command run per downloaded file, with its path as the last argument (split on "
                  "spaces, no shell)");
  sub->add_option("--data-dir", a.data_dir,
                  "Directory of the ledger (consumer.db); default DOWNLOAD_DIR/.ingestor-consumer");
  sub->add_option("--io-threads", a.io_threads, "Network threads (default, or 0: one per core)")
      ->transform(whole_number(0, kMaxThreads));
  sub->add_option("--status-file", a.status_file,
                  "Write a JSON file with the bound port once listening");
  // A first retry delay longer than the longest is a contradiction when --retry-base-ms is
  // chosen; --retry-max-ms alone under the default base caps the first delay too.
  sub->final_callback([sub, &a] {
    if (sub->count("--secret") > 0 && a.secret.empty())
      throw CLI::ValidationError(
          "--secret is empty: give the shared secret, or leave --secret out to accept unsigned "
          "notifications");
    if (a.retry_base_ms <= a.retry_max_ms || sub->count("--retry-base-ms") == 0) return;
    throw CLI::ValidationError("--retry-base-ms " + std::to_string(a.retry_base_ms) +
                               " is more than --retry-max-ms " + std::to_string(a.retry_max_ms) +
                               (sub->count("--retry-max-ms") ? "" : " (its default)") +
                               ": the first retry delay cannot be longer than the longest");
  });
}

namespace {

// INGESTOR_SECRET_SSM_PARAMETER, when no secret was given: read it from SSM at start (region from
// the AWS environment, else --region). A consumer told to require signatures must not start
// without them, so a failure stops it.
Status load_secret_from_ssm(const ConsumerArgs& a, std::string& secret) {
  const char* name = std::getenv(s3::kSecretSsmParameterEnv);
  if (!name || !*name) return {};
  if (!secret.empty()) {
    log::warn("{} is ignored: the secret is given by --secret or INGESTOR_SECRET",
              s3::kSecretSsmParameterEnv);
    return {};
  }
  auto value = s3::read_secret_parameter(name, a.region);
  if (!value) return value.error();
  secret = std::move(*value);
  return {};
}

}  // namespace

int run_consumer(const ConsumerArgs& a) {
  consumer::ConsumerOptions o;
  if (!split_listen(a.listen, o.bind, o.port)) {
    std::fprintf(stderr, "ingestor consumer: --listen must be HOST:PORT, got '%s'\n",
                 a.listen.c_str());
    return 2;
  }
  o.download_dir = a.download_dir;
  o.data_dir = a.data_dir;
  o.s3_endpoint = a.s3_endpoint;
  o.region = a.region;
  o.secret = a.secret;
  if (o.secret.empty()) {
    if (const char* s = std::getenv("INGESTOR_SECRET")) {
      if (!*s) {
        std::fprintf(stderr,
                     "ingestor consumer: INGESTOR_SECRET is set but empty: give the shared "
                     "secret, or unset it to accept unsigned notifications\n");
        return 2;
      }
      o.secret = s;
    }
  }
  if (auto st = load_secret_from_ssm(a, o.secret); !st) {
    std::fprintf(stderr, "ingestor consumer: %s\n", st.error().message.c_str());
    return st.error().code == Errc::kConfig ? 2 : 1;
  }
  o.workers = a.workers;
  o.max_attempts = a.max_attempts;
  o.retry_base = std::chrono::milliseconds(a.retry_base_ms);
  o.retry_max = std::chrono::milliseconds(a.retry_max_ms);
  if (!a.exec.empty()) {
    o.exec = consumer::split_command(a.exec);
    if (o.exec.empty()) {
      std::fprintf(stderr, "ingestor consumer: --exec is empty\n");
      return 2;
    }
  }
  block_stop_signals();
  net::IoPool pool(a.io_threads);
  pool.start();
  consumer::Consumer c(pool, o);
  if (auto st = c.start(); !st) {
    std::fprintf(stderr, "ingestor consumer: %s\n", st.error().message.c_str());
    return st.error().code == Errc::kConfig ? 2 : 1;
  }
  if (!a.status_file.empty()) {
    std::string js = "{\"role\":\"consumer\",\"pid\":" + std::to_string(::getpid()) +
                     ",\"port\":" + std::to_string(c.port()) + "}\n";
    if (!write_file_atomic(a.status_file, js))
      log::warn("cannot write status file {}", a.status_file);
  }
  int sig = wait_for_stop_signal();
  log::info("signal {} received, stopping", sig);
  c.stop();
  pool.stop();
  return 0;
}

}  // namespace ingestor::cli
