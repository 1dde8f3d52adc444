#include "relay/forwarder.h"

#include <cstdlib>
#include <random>

#include "base/log.h"
#include "core/config/spec.h"
#include "s3/ssm_client.h"

namespace ingestor::relay {

namespace {

// `out` zero: not set by a flag, so the variable, else `dflt`.
Status env_ms(const char* name, std::chrono::milliseconds& out, std::chrono::milliseconds dflt) {
  if (out.count() != 0) return {};
  out = dflt;
  const char* v = std::getenv(name);
  if (!v || !*v) return {};
  auto n = parse_whole_number(v, 1, kMaxTimeoutMs);
  if (!n)
    return make_error(Errc::kConfig, std::string(name) + ": " +
                                         expected_whole_number(1, kMaxTimeoutMs, "milliseconds") +
                                         ", got '" + v + "'");
  out = std::chrono::milliseconds(*n);
  return {};
}

std::chrono::milliseconds jittered(std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                   int attempt) {
  int64_t d = base.count();
  for (int i = 1; i < attempt && d < cap.count(); ++i) d *= 2;
  d = std::min<int64_t>(d, cap.count());
  thread_local std::mt19937_64 rng{std::random_device{}()};
  // Equal jitter: half fixed, half random, so a retry never fires at once.
  std::uniform_int_distribution<int64_t> dist(0, std::max<int64_t>(d / 2, 1));
  return std::chrono::milliseconds(d / 2 + dist(rng));
}

}  // namespace

std::string empty_secret_message(std::string_view where) {
  return std::string(where) +
         " is empty: an HMAC with an empty key is one anybody can compute. Give the secret the "
         "consumer checks (e.g. `openssl rand -hex 32`), or give none (and leave INGESTOR_SECRET "
         "unset) to relay unsigned";
}

Status apply_relay_env(RelayOptions& o) {
  RelayOptions d;
  if (o.target_url.empty()) {
    if (const char* v = std::getenv("INGESTOR_TARGET_URL")) o.target_url = v;
  }
  if (o.secret.empty()) {
    if (const char* v = std::getenv("INGESTOR_SECRET")) {
      if (!*v) return make_error(Errc::kConfig, empty_secret_message("INGESTOR_SECRET"));
      o.secret = v;
    }
  }
  if (o.secret_ssm_parameter.empty()) {
    if (const char* v = std::getenv(s3::kSecretSsmParameterEnv)) o.secret_ssm_parameter = v;
  }
  if (auto st = env_ms("INGESTOR_RELAY_TIMEOUT_MS", o.timeout, d.timeout); !st) return st;
  return env_ms("INGESTOR_RELAY_ATTEMPT_TIMEOUT_MS", o.attempt_timeout, d.attempt_timeout);
}

Status load_relay_secret(RelayOptions& o) {
  if (o.secret_ssm_parameter.empty()) return {};
  if (!o.secret.empty()) {
    log::warn("{} is ignored: the secret is given by --secret or INGESTOR_SECRET",
              s3::kSecretSsmParameterEnv);
    return {};
  }
  auto value = s3::read_secret_parameter(o.secret_ssm_parameter);
  if (!value) return value.error();
  o.secret = std::move(*value);
  return {};
}

s3::ObjectNotice to_notice(const s3::S3EventRecord& c) {
  return s3::ObjectNotice{c.bucket, c.key, c.size, c.etag, c.event_time, c.sequencer};
}

Result<std::unique_ptr<Forwarder>> Forwarder::create(RelayOptions options) {
  if (options.target_url.empty())
    return make_error(Errc::kConfig,
                      "no target URL: set --target or INGESTOR_TARGET_URL "
                      "(e.g. http://consumer:9200/objects)");
  auto url = net::parse_url(options.target_url);
  if (!url)
    return make_error(Errc::kConfig,
                      "target URL '" + options.target_url + "': " + url.error().message);
  return std::unique_ptr<Forwarder>(new Forwarder(std::move(options), std::move(*url)));
}

Forwarder::Forwarder(RelayOptions options, net::ParsedUrl url)
    : options_(std::move(options)), url_(std::move(url)), http_([&] {
        net::HttpClientOptions h;
        h.connect_timeout = options_.attempt_timeout;
        h.timeout = options_.attempt_timeout;
        h.max_body = 64 * 1024;
        return h;
      }()) {}

void Forwarder::cancel() {
  std::lock_guard lk(mu_);
  cancelled_ = true;
  cv_.notify_all();
}

bool Forwarder::backoff_wait(std::chrono::milliseconds d) {
  std::unique_lock lk(mu_);
  return !cv_.wait_for(lk, d, [&] { return cancelled_; });
}

Status Forwarder::post(const s3::ObjectNotice& notice, Clock::time_point deadline) {
  const std::string body = s3::notice_json(notice);
  net::ClientRequest req;
  req.method = "POST";
  req.endpoint = url_.endpoint;
  req.target = url_.target;
  req.headers = {{"Content-Type", "application/json"},
                 {std::string(s3::kIdempotencyHeader), s3::idempotency_key(notice)}};
  if (!options_.secret.empty())
    req.headers.push_back(
        {std::string(s3::kSignatureHeader), s3::sign_body(options_.secret, body)});
  req.body = body;
  const std::string what = notice.bucket + "/" + notice.key;
  Error last(Errc::kTimeout, "deadline passed before the first attempt");
  for (int attempt = 1;; ++attempt) {
    {
      std::lock_guard lk(mu_);
      if (cancelled_) return make_error(Errc::kUnavailable, "relay stopping");
    }
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0) break;
    req.timeout = std::min(remaining, options_.attempt_timeout);
    if (attempt > 1) counters_.retries++;
    auto r = http_.request(req);
    if (r) {
      int st = r->status;
      if (st >= 200 && st < 300) {
        counters_.posted++;
        log::debug("relayed {} (status {})", log::escape(what), st);
        return {};
      }
      std::string msg = "consumer answered " + std::to_string(st) + " for " + what;
      if (!r->body.empty()) msg += ": " + r->body.substr(0, 300);
      if (st >= 500 || st == 408 || st == 429) {
        last = Error(Errc::kUnavailable, msg);
      } else {
        return make_error(st == 401 || st == 403 ? Errc::kAuth : Errc::kInvalidArgument, msg);
      }
    } else {
      last = Error(r.error().code,
                   "POST " + options_.target_url + " for " + what + ": " + r.error().message);
    }
    auto wait = jittered(options_.retry_base, options_.retry_max, attempt);
    if (Clock::now() + wait >= deadline) break;
    log::debug("attempt {} failed ({}); retrying in {} ms", attempt, log::escape(last.message),
               wait.count());
    if (!backoff_wait(wait)) return make_error(Errc::kUnavailable, "relay stopping");
  }
  return make_error(last.code == Errc::kTimeout ? Errc::kTimeout : Errc::kUnavailable,
                    last.message + " (gave up at the deadline)");
}

Result<RelayReport> Forwarder::relay(const s3::ParsedNotification& n, Clock::time_point deadline) {
  counters_.notifications++;
  RelayReport rep;
  rep.skipped = n.skipped;
  rep.test_event = n.test_event;
  if (n.test_event) counters_.test_events++;
  for (const auto& obj : n.objects) {
    if (auto st = post(to_notice(obj), deadline); !st) {
      counters_.failed++;
      return st.error();
    }
    rep.posted++;
  }
  return rep;
}

}  // namespace ingestor::relay
