#include "agent/sources/pollable_source.h"

#include <algorithm>

#include "base/log.h"

namespace ingestor {

PollableSource::PollableSource(std::string name, std::string type,
                               std::shared_ptr<ChannelProcessor> processor, PollBackoff backoff)
    : Source(std::move(name), std::move(type), std::move(processor)), backoff_(backoff) {}

PollableSource::~PollableSource() { stop_runner(); }

bool PollableSource::put_generated(Batch& batch, PutProgress& progress, bool batch_mode) {
  const auto k = static_cast<int64_t>(batch.size());
  if (Status s = processor().process(batch, progress); !s) {
    counters_.channel_write_fail.add();
    if (put_fail_log_.allow())
      log::error("{} source could not write to channel: {}", name(),
                 log::escape(s.error().message));
    return false;
  }
  batch.clear();
  counters_.event_received.add(k);
  counters_.event_accepted.add(k);
  if (batch_mode) counters_.append_batch_accepted.add();
  return true;
}

Status PollableSource::start() {
  if (thread_.joinable()) return {};
  stopping_ = false;
  counters_.started();
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::exception& e) {
    return make_error(Errc::kInternal, type() + " source " + name() + ": " + e.what());
  }
  return {};
}

void PollableSource::stop() {
  if (!thread_.joinable()) return;
  stop_runner();
  counters_.stopped();
}

void PollableSource::stop_runner() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool PollableSource::wait(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait_for(lk, d, [this] { return stopping_.load(); });
  return !stopping_;
}

void PollableSource::run() {
  int backoffs = 0;
  std::chrono::milliseconds retry{1};
  while (!stopping_) {
    switch (poll()) {
      case PollStatus::kReady:
        backoffs = 0;
        retry = std::chrono::milliseconds(1);
        break;
      case PollStatus::kBackoff:
        ++backoffs;
        wait(std::min(backoff_.increment * backoffs, backoff_.max));
        break;
      case PollStatus::kRetry:
        wait(retry);
        retry = std::min(retry * 2, std::chrono::milliseconds(100));
        break;
    }
  }
}

}  // namespace ingestor
