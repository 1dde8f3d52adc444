#include "consumer/consumer.h"

#include <fmt/format.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <ctime>
#include <filesystem>
#include <random>

#include "base/file.h"
#include "base/hash.h"
#include "base/log.h"
#include "consumer/fetch.h"
#include "consumer/path_safety.h"
#include "consumer/verify.h"
#include "s3/s3_client.h"

namespace ingestor::consumer {

namespace json = boost::json;

namespace {

// Longest wait between two tries of a failed ledger write (one cheap statement).
constexpr std::chrono::milliseconds kLedgerRetryMax{1000};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

net::HttpResponse json_response(int status, const json::value& v) {
  net::HttpResponse r;
  r.status = status;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = json::serialize(v);
  return r;
}

net::HttpResponse error_response(int status, std::string_view message) {
  return json_response(status, json::object{{"error", message}});
}

json::object item_json(const Item& it) {
  json::object o;
  o["id"] = it.id;
  o["bucket"] = it.notice.bucket;
  o["key"] = it.notice.key;
  o["etag"] = it.notice.etag;
  o["size"] = it.notice.size;
  o["state"] = state_name(it.state);
  o["attempts"] = it.attempts;
  o["deliveries"] = it.deliveries;
  o["eventTime"] = it.notice.event_time;
  o["receivedMs"] = it.received_ms;
  if (!it.path.empty()) o["path"] = it.path;
  if (it.done_ms) o["doneMs"] = it.done_ms;
  if (!it.last_error.empty()) o["lastError"] = it.last_error;
  return o;
}

// "%XX" decoding of a URL path ('+' stays '+'); nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(s[i + 2])))
      return std::nullopt;
    out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
    i += 2;
  }
  return out;
}

// "2026-11-26T09:04:52.123Z" (also without 'Z', as moto sends) -> epoch ms.
std::optional<int64_t> event_time_ms(const std::string& s) {
  int y, mo, d, h, mi, sec;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  int64_t ms = static_cast<int64_t>(timegm(&tm)) * 1000;
  if (s.size() > 20 && s[19] == '.') {
    int frac = 0, digits = 0;
    for (size_t i = 20; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
      if (digits < 3) frac = frac * 10 + (s[i] - '0'), ++digits;
    }
    while (digits < 3) frac *= 10, ++digits;
    ms += frac;
  }
  return ms;
}

constexpr const char* kDefaultDataDir = ".ingestor-consumer";

// A ledger where a download can land (in or under the download dir, its temp dir included) could
// be overwritten by an object: refused, but for the default <download-dir>/.ingestor-consumer,
// which no bucket can name (bucket names cannot start with '.').
Status check_data_dir(const std::string& download_dir, const std::string& data_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto real = [&](const std::string& p) {
    fs::path a = fs::absolute(p, ec).lexically_normal();
    fs::path c = fs::weakly_canonical(a, ec);
    return ec ? a : c.lexically_normal();
  };
  const fs::path dl = real(download_dir), data = real(data_dir);
  fs::path rel = data.lexically_relative(dl);
  if (rel.empty() || *rel.begin() == "..") return {};  // outside
  if (*rel.begin() == kDefaultDataDir) return {};
  return make_error(Errc::kConfig,
                    "--data-dir " + data_dir + (rel == "." ? " is" : " is inside") +
                        " --download-dir " + download_dir +
                        ": a download could overwrite the ledger; choose a directory outside it "
                        "(or leave --data-dir out: DOWNLOAD_DIR/" +
                        kDefaultDataDir + ")");
}

}  // namespace

Consumer::Consumer(net::IoPool& pool, ConsumerOptions options)
    : pool_(pool), options_(std::move(options)) {}

Consumer::~Consumer() { stop(); }

uint16_t Consumer::port() const { return server_ ? server_->port() : 0; }

Status Consumer::start() {
  if (options_.download_dir.empty()) return make_error(Errc::kConfig, "--download-dir is required");
  if (options_.max_attempts < 1) return make_error(Errc::kConfig, "--max-attempts must be >= 1");
  std::error_code ec;
  std::string dl = std::filesystem::absolute(options_.download_dir, ec).lexically_normal().string();
  if (!ec) options_.download_dir = dl;
  while (options_.download_dir.size() > 1 && options_.download_dir.back() == '/')
    options_.download_dir.pop_back();
  if (options_.data_dir.empty()) {
    options_.data_dir = options_.download_dir + "/" + kDefaultDataDir;
  } else if (auto st = check_data_dir(options_.download_dir, options_.data_dir); !st) {
    return st;
  }
  tmp_dir_ = options_.download_dir + "/.ingestor-tmp";
  for (const auto& d : {options_.download_dir, options_.data_dir, tmp_dir_}) {
    if (auto st = make_dirs(d); !st) return st;
  }
  // Partial downloads of a previous run: their rows are downloading, so they start over.
  for (const auto& e : std::filesystem::directory_iterator(tmp_dir_, ec)) {
    std::error_code rm;
    std::filesystem::remove(e.path(), rm);
  }
  auto ledger = Ledger::open(options_.data_dir + "/consumer.db");
  if (!ledger) return ledger.error();
  ledger_ = std::move(*ledger);
  if (ledger_->resumed() > 0)
    log::info("consumer: {} interrupted download(s) back in the queue", ledger_->resumed());

  s3::S3ClientOptions so;
  so.endpoint = options_.s3_endpoint;
  so.region = options_.region;
  so.credentials = options_.credentials;
  so.max_attempts = 1;  // the queue owns retries and backoff
  so.http.timeout = options_.s3_timeout;
  so.http.connect_timeout = std::chrono::seconds(10);
  auto client = s3::S3Client::create(std::move(so));
  if (!client) return client.error();
  s3_ = std::move(*client);

  net::HttpServerOptions ho;
  ho.bind = options_.bind;
  ho.port = options_.port;
  ho.body_limit = options_.body_limit;
  server_ = std::make_unique<net::HttpServer>(pool_, ho,
                                              [this](net::HttpRequest&& req, net::Respond respond) {
                                                handle(std::move(req), std::move(respond));
                                              });
  {
    std::lock_guard lk(mu_);
    stopping_ = false;
  }
  if (auto st = server_->start(); !st) return st;
  for (size_t i = 0; i < std::max<size_t>(options_.workers, 1); ++i)
    workers_.emplace_back([this] { worker(); });
  log::info("consumer: listening on {}:{}, downloading to {} with {} worker(s){}", options_.bind,
            server_->port(), options_.download_dir, workers_.size(),
            options_.secret.empty() ? " (signatures not required)" : "");
  return {};
}

void Consumer::stop() {
  if (server_) server_->stop();
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void Consumer::handle(net::HttpRequest&& req, net::Respond respond) {
  const std::string& p = req.path;
  if (req.method == "POST" && (p == "/objects" || p == "/objects/"))
    return respond(post_object(req));
  if (req.method == "GET" || req.method == "HEAD") {
    if (p == "/healthz") return respond(net::HttpResponse::text(200, "ok\n"));
    if (p == "/metrics") {
      net::HttpResponse r;
      r.headers = {{"Content-Type", "application/json"}};
      r.body = metrics_json();
      return respond(std::move(r));
    }
    if (p == "/prometheus")
      return respond(net::HttpResponse::text(200, metrics_prometheus(),
                                             "text/plain; version=0.0.4; charset=utf-8"));
    // The ledger's rows name buckets, keys, paths and S3's errors: with a secret, only for those
    // who hold it (the counters above are numbers only, scraped like the store's).
    if (p == "/objects" || p.rfind("/objects/", 0) == 0) {
      if (!status_authorized(req)) {
        counters_.unauthorized++;
        auto r = error_response(401, "Authorization: Bearer <the consumer's secret> is required");
        r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ingestor-consumer\"");
        return respond(std::move(r));
      }
      if (p == "/objects" || p == "/objects/") return respond(list_objects(req.query));
      return respond(get_object(p.substr(9)));
    }
  }
  respond(error_response(404, "no such endpoint: " + req.method + " " + p));
}

bool Consumer::status_authorized(const net::HttpRequest& req) const {
  if (options_.secret.empty()) return true;
  const std::string* auth = req.header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  return auth && auth->size() > kBearer.size() && auth->compare(0, kBearer.size(), kBearer) == 0 &&
         constant_time_equal(std::string_view(*auth).substr(kBearer.size()), options_.secret);
}

net::HttpResponse Consumer::post_object(const net::HttpRequest& req) {
  counters_.received++;
  if (!options_.secret.empty()) {
    const std::string* sig = req.header(s3::kSignatureHeader);
    if (!sig || !s3::verify_signature(options_.secret, req.body, *sig)) {
      counters_.unauthorized++;
      return error_response(401, sig ? "X-Ingestor-Signature does not match the body"
                                     : "X-Ingestor-Signature is required");
    }
  }
  auto notice = s3::parse_notice_json(req.body);
  if (!notice) {
    counters_.rejected++;
    return error_response(400, notice.error().message);
  }
  if (auto p = object_path(options_.download_dir, notice->bucket, notice->key); !p) {
    counters_.rejected++;
    log::warn("consumer: refused {}: {}", log::escape(notice->bucket + "/" + notice->key),
              log::escape(p.error().message));
    return error_response(422, "unsafe object name: " + p.error().message);
  }
  auto r = ledger_->enqueue(*notice, now_ms());
  if (!r) {
    log::error("consumer: {}", log::escape(r.error().message));
    return error_response(503, r.error().message);
  }
  json::object o = item_json(r->item);
  if (r->inserted || r->revived) {
    counters_.queued++;
    {
      std::lock_guard lk(mu_);
      ++wake_gen_;
    }
    cv_.notify_all();
    if (r->revived) o["revived"] = true;
    return json_response(202, o);
  }
  counters_.duplicates++;
  o["duplicate"] = true;
  return json_response(200, o);
}

net::HttpResponse Consumer::get_object(const std::string& rest) {
  auto decoded = percent_decode(rest);
  if (!decoded) return error_response(400, "bad %-escape in the path");
  auto slash = decoded->find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == decoded->size())
    return error_response(400, "expected /objects/{bucket}/{key}");
  std::string bucket = decoded->substr(0, slash), key = decoded->substr(slash + 1);
  auto rows = ledger_->find(bucket, key);
  if (!rows) return error_response(503, rows.error().message);
  if (rows->empty()) return error_response(404, "unknown object " + bucket + "/" + key);
  json::object o = item_json(rows->front());
  o["versions"] = rows->size();
  return json_response(200, o);
}

net::HttpResponse Consumer::list_objects(const std::string& query) {
  ItemState state = ItemState::kFailed;
  if (query.rfind("state=", 0) == 0) {
    std::string s = query.substr(6);
    bool found = false;
    for (auto st : {ItemState::kPending, ItemState::kDownloading, ItemState::kDone,
                    ItemState::kFailed, ItemState::kSuperseded}) {
      if (s == state_name(st)) state = st, found = true;
    }
    if (!found) return error_response(400, "unknown state '" + s + "'");
  }
  auto rows = ledger_->list(state, 1000);
  if (!rows) return error_response(503, rows.error().message);
  json::array a;
  for (const auto& it : *rows) a.push_back(item_json(it));
  return json_response(200, json::object{{"state", state_name(state)}, {"objects", a}});
}

void Consumer::worker() {
  for (;;) {
    uint64_t gen = 0;
    {
      std::lock_guard lk(mu_);
      if (stopping_) return;
      gen = wake_gen_;  // a POST after this point ends the wait below at once
    }
    auto claimed = ledger_->claim(now_ms());
    if (claimed && *claimed) {
      process(std::move(**claimed));
      continue;
    }
    if (!claimed) log::error("consumer: {}", log::escape(claimed.error().message));
    // Nothing due: sleep until the next due row, a new POST, or stop (at most 1 s).
    auto wait = std::chrono::milliseconds(1000);
    if (claimed) {
      if (auto due = ledger_->next_due_ms(); due && *due)
        wait = std::clamp(std::chrono::milliseconds(**due - now_ms()), std::chrono::milliseconds(1),
                          wait);
    }
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, wait, [&] { return stopping_ || wake_gen_ != gen; });
  }
}

bool Consumer::record(const Item& item, const char* outcome, const std::function<Status()>& write) {
  auto delay = std::clamp(options_.retry_base, std::chrono::milliseconds(1), kLedgerRetryMax);
  const std::string what = log::escape(item.notice.bucket + "/" + item.notice.key);
  for (int tries = 1;; ++tries) {
    auto st = write();
    if (st) {
      if (tries > 1)
        log::info("consumer: {} {}: recorded in the ledger after {} tries", what, outcome, tries);
      return true;
    }
    counters_.ledger_write_failures++;
    if (tries == 1) {
      log::warn("consumer: {} {}, but the ledger cannot record it ({}); retrying", what, outcome,
                log::escape(st.error().message));
    } else {
      log::debug("consumer: {} {}: ledger write {} failed: {}", what, outcome, tries,
                 log::escape(st.error().message));
    }
    std::unique_lock lk(mu_);
    if (cv_.wait_for(lk, delay, [&] { return stopping_; })) {
      log::warn(
          "consumer: stopping before {} ({}) was recorded; it is downloaded again at the next "
          "start",
          what, outcome);
      return false;
    }
    delay = std::min(delay * 2, kLedgerRetryMax);
  }
}

void Consumer::fail(const Item& item, const std::string& error) {
  counters_.attempt_failures++;
  const std::string what = log::escape(item.notice.bucket + "/" + item.notice.key);
  if (item.attempts >= options_.max_attempts) {
    counters_.dead_letters++;
    log::warn("consumer: {} failed after {} attempt(s), dead letter: {}", what, item.attempts,
              log::escape(error));
    record(item, "is a dead letter",
           [&] { return ledger_->mark_final(item.id, ItemState::kFailed, error, now_ms()); });
    return;
  }
  int64_t d = options_.retry_base.count();
  for (int i = 1; i < item.attempts && d < options_.retry_max.count(); ++i) d *= 2;
  d = std::min<int64_t>(d, options_.retry_max.count());
  thread_local std::mt19937_64 rng{std::random_device{}()};
  d = d / 2 + std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(d / 2, 1))(rng);
  log::info("consumer: {} attempt {} failed ({}); retry in {} ms", what, item.attempts,
            log::escape(error), d);
  record(item, "failed an attempt",
         [&] { return ledger_->mark_retry(item.id, error, now_ms() + d); });
}

void Consumer::process(Item item) {
  const auto& n = item.notice;
  const std::string what = log::escape(n.bucket + "/" + n.key);
  auto path = object_path(options_.download_dir, n.bucket, n.key);
  if (!path) {  // checked at POST time; a row from an older rule
    item.attempts = options_.max_attempts;
    return fail(item, path.error().message);
  }
  std::string tmp = fmt::format("{}/{}.{}.part", tmp_dir_, item.id, item.attempts);
  // The notification is a hint: S3 says whether this version exists and how large it is, and the
  // ledger keeps what S3 said.
  auto learned = [&](uint64_t size) {
    if (size == n.size) return;
    log::warn("consumer: {} etag {}: the notification said {} bytes, S3 says {}", what,
              log::escape(n.etag), n.size, size);
    if (auto st = ledger_->set_size(item.id, size); !st)
      log::warn("consumer: {}: {}", what, log::escape(st.error().message));
  };
  Fetched got = fetch_object(*s3_, n, tmp, learned);
  if (got.outcome != Fetched::Outcome::kDownloaded) ::unlink(tmp.c_str());
  switch (got.outcome) {
    case Fetched::Outcome::kDownloaded:
      break;
    case Fetched::Outcome::kSuperseded: {
      counters_.superseded++;
      log::info("consumer: {} etag {} superseded: {}", what, log::escape(n.etag),
                log::escape(got.error));
      record(item, "is superseded", [&] {
        return ledger_->mark_final(item.id, ItemState::kSuperseded, got.error, now_ms());
      });
      return;
    }
    case Fetched::Outcome::kUnverifiable:
      item.attempts = std::max(item.attempts, options_.max_attempts);  // retrying cannot help
      return fail(item, got.error);
    case Fetched::Outcome::kRetry:
      return fail(item, got.error);
  }
  std::string parent = std::filesystem::path(*path).parent_path().string();
  if (auto st = make_dirs(parent); !st) {
    ::unlink(tmp.c_str());
    return fail(item, st.error().message);
  }
  if (::rename(tmp.c_str(), path->c_str()) != 0) {
    auto err = errno_error("rename to " + *path, errno);
    ::unlink(tmp.c_str());
    return fail(item, err.message);
  }
  if (auto st = fsync_dir(parent); !st) return fail(item, st.error().message);
  int64_t done = now_ms();
  if (!record(item, "is downloaded",
              [&] { return ledger_->mark_done(item.id, *path, got.size, done); }))
    return;
  counters_.downloads++;
  counters_.bytes += got.size;
  counters_.verified[static_cast<size_t>(got.verified)]++;
  if (auto t = event_time_ms(n.event_time)) record_lag(done - *t);
  log::debug("consumer: {} downloaded ({} bytes, {})", what, got.size,
             got.checksum ? s3::checksum_name(*got.checksum) : verified_name(got.verified));
  if (!options_.exec.empty()) {
    counters_.exec_runs++;
    auto rc = run_exec(options_.exec, *path);
    if (!rc) {
      counters_.exec_failures++;
      log::warn("consumer: --exec for {}: {}", log::escape(*path), log::escape(rc.error().message));
    } else {
      if (*rc != 0) counters_.exec_failures++;
      log::info("consumer: --exec {} {} exited with {}", log::escape(options_.exec[0]),
                log::escape(*path), *rc);
    }
  }
}

}  // namespace ingestor::consumer
