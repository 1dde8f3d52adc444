#include "agent/sink_runner.h"

#include <algorithm>
#include <exception>

#include "base/log.h"

namespace ingestor {

using Clock = std::chrono::steady_clock;

SinkRunner::SinkRunner(Sink& sink, std::chrono::milliseconds drain_timeout)
    : sink_(sink), drain_timeout_(drain_timeout) {}

SinkRunner::~SinkRunner() { stop(); }

std::chrono::milliseconds SinkRunner::backoff_for(int n) {
  return std::chrono::milliseconds(std::min<int64_t>(std::max(n, 1) * 1000LL, 5000));
}

void SinkRunner::start() {
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void SinkRunner::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (sink_.channel()) sink_.channel()->wake();
  thread_.join();
}

void SinkRunner::wait_until(Clock::time_point t, bool for_events) {
  t = std::min(t, sink_.next_timer());
  auto now = Clock::now();
  if (t <= now || stopping_) return;
  if (for_events && sink_.channel()) {
    sink_.channel()->wait_for_events(
        std::chrono::duration_cast<std::chrono::milliseconds>(t - now));
    return;
  }
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait_until(lk, t, [&] { return stopping_.load(); });
}

void SinkRunner::run() {
  int backoffs = 0;
  int errors = 0;
  Clock::time_point drain_deadline = Clock::time_point::max();
  for (;;) {
    if (stopping_ && drain_deadline == Clock::time_point::max())
      drain_deadline = Clock::now() + drain_timeout_;
    if (stopping_ && (Clock::now() >= drain_deadline || !sink_.channel() ||
                      sink_.channel()->size() == 0 || errors > 0 || backoffs > 0)) {
      break;
    }
    Result<SinkStatus> r = make_error(Errc::kInternal, "not run");
    const int64_t empties_before = sink_.counters().batch_empty.get();
    try {
      r = sink_.process();
    } catch (const std::exception& e) {
      r = make_error(Errc::kInternal, std::string("exception: ") + e.what());
    } catch (...) {
      r = make_error(Errc::kInternal, "unknown exception");
    }
    if (!r) {
      ++errors;
      backoffs = 0;
      sink_.counters().process_error.add();
      sink_.counters().consecutive_errors.set(errors);
      sink_.counters().backing_off.set(0);
      log::error("sink {}: Unable to deliver event ({} in a row): {}", sink_.name(), errors,
                 r.error().message);
      if (stopping_) break;
      wait_until(Clock::now() + backoff_for(errors), false);
      continue;
    }
    errors = 0;
    sink_.counters().consecutive_errors.set(0);
    if (*r == SinkStatus::kReady) {
      backoffs = 0;
      sink_.counters().backing_off.set(0);
      continue;
    }
    ++backoffs;
    if (stopping_) break;
    // A sink that found its channel empty wakes as soon as events arrive (at once if some came
    // while it was looking: judging by the channel's size now would mistake those for a
    // destination pushing back and sleep a whole step with the channel filling). A sink that
    // backs off for another reason (a destination pushing back) waits the full step.
    const bool found_empty = sink_.counters().batch_empty.get() != empties_before;
    sink_.counters().backing_off.set(found_empty ? 0 : 1);
    wait_until(Clock::now() + backoff_for(backoffs), found_empty);
    if (found_empty && sink_.channel() && sink_.channel()->size() > 0) backoffs = 0;
  }
}

}  // namespace ingestor
