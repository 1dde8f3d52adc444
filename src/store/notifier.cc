#include "store/notifier.h"

#include <map>
#include <random>
#include <set>

#include "base/log.h"
#include "net/bearer_token.h"
#include "store/object_store.h"
#include "store/webhook_client.h"

namespace ingestor::store {

std::chrono::milliseconds notify_backoff(const NotifierOptions& o, int64_t attempts) {
  int64_t ms = o.min_backoff.count();
  for (int64_t i = 0; i < attempts && ms < o.max_backoff.count(); ++i) ms *= 2;
  return std::chrono::milliseconds(std::min(ms, o.max_backoff.count()));
}

void Notifier::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { loop(); });
}

void Notifier::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Notifier::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Notifier::loop() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      woken_ = false;
    }
    std::optional<int64_t> next = pass();
    std::unique_lock lock(mu_);
    if (stopping_) return;
    if (woken_) continue;
    auto wait = std::chrono::milliseconds(60000);
    if (next) wait = std::chrono::milliseconds(std::max<int64_t>(0, *next - now_ms()));
    if (wait.count() == 0) continue;
    cv_.wait_for(lock, wait, [&] { return stopping_ || woken_; });
  }
}

std::optional<int64_t> Notifier::pass() {
  struct Row {
    int64_t id;
    std::string url, body;
    int64_t attempts;
  };
  std::vector<Row> rows;
  std::optional<int64_t> next;
  {
    auto lease = db_.reader();
    if (!lease) {
      log::warn("store notifier: {}", lease.error().message);
      return now_ms() + 1000;
    }
    auto st = lease->db().prepare(
        "SELECT id, url, body, attempts FROM outbox WHERE next_attempt_ms<=? ORDER BY id LIMIT ?");
    if (!st) return now_ms() + 1000;
    (*st)->bind(1, now_ms()).bind(2, static_cast<int64_t>(options_.batch));
    for (;;) {
      auto r = (*st)->step();
      if (!r || !*r) break;
      rows.push_back(
          {(*st)->col_int(0), (*st)->col_text(1), (*st)->col_text(2), (*st)->col_int(3)});
    }
  }
  if (rows.empty()) {
    auto lease = db_.reader();
    if (!lease) return now_ms() + 1000;
    auto st = lease->db().prepare("SELECT MIN(next_attempt_ms) FROM outbox");
    if (st) {
      auto r = (*st)->step();
      if (r && *r && !(*st)->col_null(0)) next = (*st)->col_int(0);
    }
    return next;
  }
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::vector<int64_t> done;
  struct Retry {
    int64_t id, attempts, next_ms;
    std::string error;
  };
  std::vector<Retry> retry;
  std::map<std::string, std::pair<int64_t, std::string>> down;  // url -> next try, error
  for (const auto& row : rows) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    auto d = down.find(row.url);
    if (d != down.end()) {  // already failed in this pass: do not wait for it again
      retry.push_back({row.id, row.attempts, d->second.first, d->second.second});
      continue;
    }
    auto token = options_.tokens.find(row.url);
    auto status = http_post(
        row.url, row.body, "application/json", options_.timeout,
        token == options_.tokens.end() ? std::string() : net::bearer_authorization(token->second));
    if (status && *status >= 200 && *status < 300) {
      done.push_back(row.id);
      continue;
    }
    std::string why = status ? "HTTP " + std::to_string(*status) : status.error().message;
    if (status && (*status == 401 || *status == 403))
      why += options_.tokens.contains(row.url) ? " (the target refused this store's token)"
                                               : " (the target wants a token: --notify-token-file)";
    auto base = notify_backoff(options_, row.attempts).count();
    std::uniform_int_distribution<int64_t> jitter(-base / 5, base / 5);
    int64_t next_ms = now_ms() + base + jitter(rng);
    if (row.attempts == 0 || row.attempts % 10 == 0)
      log::warn("store notifier: delivery to {} failed ({}), retrying", row.url, log::escape(why));
    failures_++;
    down[row.url] = {next_ms, why};
    retry.push_back({row.id, row.attempts + 1, next_ms, why});
  }
  auto s = db_.write([&](WriteTx& tx) -> ApiStatus {
    auto del = tx.db.prepare("DELETE FROM outbox WHERE id=?");
    auto upd =
        tx.db.prepare("UPDATE outbox SET attempts=?, next_attempt_ms=?, last_error=? WHERE id=?");
    if (!del || !upd) return err::internal("outbox statements");
    for (int64_t id : done) {
      if (auto r = (*del)->reset().bind(1, id).run(); !r) return err::internal(r.error().message);
    }
    for (const auto& r : retry) {
      (*upd)->reset().bind(1, r.attempts).bind(2, r.next_ms).bind(3, r.error).bind(4, r.id);
      if (auto x = (*upd)->run(); !x) return err::internal(x.error().message);
    }
    return {};
  });
  delivered_ += done.size();
  if (!s) {
    // Typically a full disk. The rows just POSTed stay due: looking again at once would POST
    // them again and again, as fast as the target answers, for as long as the disk is full.
    const int64_t n = ++write_failures_in_a_row_;
    outbox_write_failures_++;
    const auto wait = notify_backoff(options_, n - 1);
    if (n == 1 || n % 10 == 0)
      log::warn("store notifier: cannot update the outbox ({} in a row), next pass in {} ms: {}", n,
                wait.count(), s.error().message);
    return now_ms() + wait.count();
  }
  write_failures_in_a_row_ = 0;
  return now_ms();  // look again at once: more rows may be due
}

}  // namespace ingestor::store
