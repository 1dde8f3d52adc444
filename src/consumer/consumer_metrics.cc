// Consumer: its counters and the lag histogram, as JSON (GET /metrics) and Prometheus text
// (GET /prometheus). The rest of the class is in consumer.cc.

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>

#include "consumer/consumer.h"
#include "consumer/verify.h"

namespace ingestor::consumer {

namespace json = boost::json;

namespace {
// Last lags kept for the percentiles of GET /metrics.
constexpr size_t kLagWindow = 4096;
// Upper bounds (ms) of the lag histogram's buckets; the last bucket of lag_buckets_ is +Inf.
constexpr int64_t kLagBucketsMs[] = {100,   250,   500,   1000,   2500,  5000,
                                     10000, 30000, 60000, 120000, 300000};
}  // namespace

void Consumer::record_lag(int64_t ms) {
  std::lock_guard lk(lag_mu_);
  static_assert(std::tuple_size_v<decltype(lag_buckets_)> == std::size(kLagBucketsMs) + 1);
  size_t b = 0;
  while (b < std::size(kLagBucketsMs) && ms > kLagBucketsMs[b]) ++b;
  lag_buckets_[b]++;
  lag_count_++;
  lag_sum_ms_ += std::max<int64_t>(ms, 0);
  if (lags_.size() < kLagWindow) {
    lags_.push_back(ms);
  } else {
    lags_[lag_next_] = ms;
    lag_next_ = (lag_next_ + 1) % kLagWindow;
  }
}

std::string Consumer::metrics_json() {
  json::object c;
  c["received"] = counters_.received.load();
  c["queued"] = counters_.queued.load();
  c["duplicates"] = counters_.duplicates.load();
  c["rejected"] = counters_.rejected.load();
  c["unauthorized"] = counters_.unauthorized.load();
  c["downloads"] = counters_.downloads.load();
  c["bytesDownloaded"] = counters_.bytes.load();
  c["attemptFailures"] = counters_.attempt_failures.load();
  c["deadLetters"] = counters_.dead_letters.load();
  c["superseded"] = counters_.superseded.load();
  c["execRuns"] = counters_.exec_runs.load();
  c["execFailures"] = counters_.exec_failures.load();
  c["ledgerWriteFailures"] = counters_.ledger_write_failures.load();
  json::object by;
  for (auto v : kAllVerified)
    by[verified_name(v)] = counters_.verified[static_cast<size_t>(v)].load();
  c["verified"] = std::move(by);
  if (ledger_) {
    if (auto counts = ledger_->counts()) {
      json::object s;
      for (auto& [st, n] : *counts) s[state_name(st)] = n;
      c["states"] = s;
    }
  }
  {
    std::vector<int64_t> v;
    {
      std::lock_guard lk(lag_mu_);
      v = lags_;
    }
    if (!v.empty()) {
      std::sort(v.begin(), v.end());
      auto pct = [&](double p) {
        return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
      };
      c["lagMsP50"] = pct(0.50);
      c["lagMsP99"] = pct(0.99);
      c["lagMsMax"] = v.back();
      c["lagSamples"] = v.size();
    }
  }
  return json::serialize(json::object{{"consumer", c}});
}

std::string Consumer::metrics_prometheus() {
  std::string out;
  auto metric = [&](const char* name, const char* type, uint64_t v, const char* help) {
    out += fmt::format(
        "# HELP ingestor_consumer_{0} {3}\n# TYPE ingestor_consumer_{0} {1}\n"
        "ingestor_consumer_{0} {2}\n",
        name, type, v, help);
  };
  metric("received_total", "counter", counters_.received, "POST /objects requests");
  metric("queued_total", "counter", counters_.queued, "Objects queued (new or revived)");
  metric("duplicates_total", "counter", counters_.duplicates, "Repeated notifications (no-ops)");
  metric("rejected_total", "counter", counters_.rejected, "Requests refused with 400/422");
  metric("unauthorized_total", "counter", counters_.unauthorized, "Requests refused with 401");
  metric("downloads_total", "counter", counters_.downloads, "Objects downloaded and verified");
  metric("downloaded_bytes_total", "counter", counters_.bytes, "Bytes of downloaded objects");
  metric("attempt_failures_total", "counter", counters_.attempt_failures, "Failed attempts");
  metric("dead_letters_total", "counter", counters_.dead_letters, "Objects given up on");
  metric("superseded_total", "counter", counters_.superseded, "Versions replaced before download");
  metric("exec_failures_total", "counter", counters_.exec_failures, "--exec runs that failed");
  metric("ledger_write_failures_total", "counter", counters_.ledger_write_failures,
         "Failed writes of an attempt's outcome to the ledger (retried)");
  out +=
      "# HELP ingestor_consumer_verified_total Downloads by what vouched for their bytes: the "
      "object's checksum, its ETag as an MD5, or only its size and ETag (If-Match)\n"
      "# TYPE ingestor_consumer_verified_total counter\n";
  for (auto v : kAllVerified)
    out += fmt::format("ingestor_consumer_verified_total{{by=\"{}\"}} {}\n", verified_name(v),
                       counters_.verified[static_cast<size_t>(v)].load());
  if (ledger_) {
    if (auto counts = ledger_->counts()) {
      out +=
          "# HELP ingestor_consumer_objects Ledger rows by state\n"
          "# TYPE ingestor_consumer_objects gauge\n";
      for (auto& [st, n] : *counts)
        out += fmt::format("ingestor_consumer_objects{{state=\"{}\"}} {}\n", state_name(st), n);
    }
  }
  {
    std::lock_guard lk(lag_mu_);
    out +=
        "# HELP ingestor_consumer_lag_seconds End-to-end lag of each download: the object's "
        "eventTime to its file being in place\n"
        "# TYPE ingestor_consumer_lag_seconds histogram\n";
    uint64_t cumulative = 0;
    for (size_t b = 0; b < std::size(kLagBucketsMs); ++b) {
      cumulative += lag_buckets_[b];
      out += fmt::format("ingestor_consumer_lag_seconds_bucket{{le=\"{}\"}} {}\n",
                         kLagBucketsMs[b] / 1000.0, cumulative);
    }
    out += fmt::format("ingestor_consumer_lag_seconds_bucket{{le=\"+Inf\"}} {}\n", lag_count_);
    out += fmt::format("ingestor_consumer_lag_seconds_sum {}\n", lag_sum_ms_ / 1000.0);
    out += fmt::format("ingestor_consumer_lag_seconds_count {}\n", lag_count_);
  }
  return out;
}

}  // namespace ingestor::consumer
