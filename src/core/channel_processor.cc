#include "core/channel_processor.h"

#include <algorithm>
#include <condition_variable>
#include <limits>
#include <mutex>

#include "base/log.h"

namespace ingestor {

ChannelProcessor::ChannelProcessor(std::vector<std::unique_ptr<Interceptor>> interceptors,
                                   ChannelSelector selector)
    : interceptors_(std::move(interceptors)), selector_(std::move(selector)) {
  max_batch_ = std::numeric_limits<size_t>::max();
  for (Channel* c : selector_.required) max_batch_ = std::min(max_batch_, c->transaction_capacity());
  if (selector_.required.empty()) {
    for (Channel* c : selector_.optional)
      max_batch_ = std::min(max_batch_, c->transaction_capacity());
  }
}

void ChannelProcessor::put_optional(const Batch& events) {
  for (Channel* c : selector_.optional) {
    Batch copy(events);
    Tx tx = c->begin();
    Status s = tx.put(copy);
    if (s) s = tx.commit();
    if (!s) {
      log::warn("Unable to put batch on optional channel {}: {}", c->name(), s.error().message);
      tx.rollback();
    }
  }
}

void ChannelProcessor::process_async(Batch& events, PutProgress& progress,
                                     std::function<void(Status)> done) {
  if (!progress.intercepted) {
    for (auto& i : interceptors_) i->intercept(events);
    progress.intercepted = true;
  }
  if (events.empty()) {
    done({});
    return;
  }
  commit_next(events, progress, std::move(done));
}

void ChannelProcessor::commit_next(Batch& events, PutProgress& progress,
                                   std::function<void(Status)> done) {
  const size_t n = selector_.required.size();
  // Required channels but the last get copies (one reference per body, no byte copied).
  while (progress.required_done + 1 < n) {
    Channel* c = selector_.required[progress.required_done];
    Batch copy(events);
    Tx tx = c->begin();
    Status s = tx.put(copy);
    if (s) s = tx.commit();
    if (!s) {
      tx.rollback();
      done(std::move(s));
      return;
    }
    ++progress.required_done;
  }
  if (!progress.optional_done) {
    if (!selector_.optional.empty()) put_optional(events);
    progress.optional_done = true;
  }
  if (progress.required_done == n) {
    events.clear();
    done({});
    return;
  }
  // The last required channel takes the events themselves; a failure hands them back.
  Channel* last = selector_.required[progress.required_done];
  progress.tx = last->begin();
  Status s = progress.tx.put(events);  // moves on success, untouched on failure
  if (!s) {
    progress.tx.rollback();
    done(std::move(s));
    return;
  }
  progress.tx.commit_async([&events, &progress, done = std::move(done)](Status st) {
    if (!st) {
      progress.tx.rollback(&events);
      done(std::move(st));
      return;
    }
    ++progress.required_done;
    events.clear();
    done({});
  });
}

Status ChannelProcessor::process(Batch& events, PutProgress& progress) {
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  Status result;
  process_async(events, progress, [&](Status s) {
    std::lock_guard<std::mutex> lk(mu);
    result = std::move(s);
    finished = true;
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lk(mu);
  cv.wait(lk, [&] { return finished; });
  return result;
}

}  // namespace ingestor
