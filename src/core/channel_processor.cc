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
  for (Channel* c : selector_.required)
    max_batch_ = std::min(max_batch_, c->transaction_capacity());
  if (selector_.required.empty()) {
    for (Channel* c : selector_.optional)
      max_batch_ = std::min(max_batch_, c->transaction_capacity());
  }
}

namespace {

bool blank(std::string_view v) {
  return v.find_first_not_of(" \t\n\r\f\v") == std::string_view::npos;
}

bool has(const std::vector<Channel*>& v, const Channel* c) {
  return std::find(v.begin(), v.end(), c) != v.end();
}

log::Throttle no_channel_throttle;

void put_copies(Channel* c, Batch batch) {
  Tx tx = c->begin();
  Status s = tx.put(batch);
  if (s) s = tx.commit();
  if (!s) {
    log::warn("Unable to put batch on optional channel {}: {}", c->name(), s.error().message);
    tx.rollback();
  }
}

// Gives the batch's position update, when there is one, to a required channel's transaction.
void attach_position(Tx& tx, const PutProgress& progress) {
  if (progress.position) tx.set_position(progress.position->first, progress.position->second);
}

// Interceptors dropped the whole batch: the position still moves past it in every required
// channel that stores positions (an update alone, no event).
Status commit_position_only(const std::vector<Channel*>& channels, const PutProgress& progress) {
  if (!progress.position) return {};
  for (Channel* c : channels) {
    if (!c->stores_positions()) continue;
    Tx tx = c->begin();
    attach_position(tx, progress);
    if (Status s = tx.commit(); !s) {
      tx.rollback();
      return s;
    }
  }
  return {};
}

}  // namespace

const std::vector<Channel*>& MultiplexingRules::required_for(const Event& e) const {
  const std::string* v = e.headers.find(header);
  if (v == nullptr || blank(*v)) return defaults;
  auto it = mapping.find(*v);
  return it == mapping.end() ? defaults : it->second;
}

void MultiplexingRules::optional_for(const Event& e, const std::vector<Channel*>& required,
                                     std::vector<Channel*>& out) const {
  const std::string* v = e.headers.find(header);
  if (v == nullptr) return;
  auto it = optional.find(*v);
  if (it == optional.end()) return;
  for (Channel* c : it->second)
    if (!has(required, c)) out.push_back(c);
}

void ChannelProcessor::route(Batch& events, PutProgress& progress) {
  const MultiplexingRules& rules = *selector_.multiplexing;
  progress.routes.assign(selector_.required.size(), Batch{});
  progress.optional_routes.assign(selector_.optional.size(), Batch{});
  // Most batches go to one channel: room for all of them there saves the regrowth.
  if (progress.routes.size() == 1) progress.routes[0].reserve(events.size());
  std::vector<Batch>& optional = progress.optional_routes;
  std::vector<Channel*> opt;
  std::vector<Batch*> to;  // this event's destinations: copies to all but the last, moved there
  size_t unrouted = 0;
  for (Event& e : events) {
    const std::vector<Channel*>& req = rules.required_for(e);
    opt.clear();
    rules.optional_for(e, req, opt);
    to.clear();
    for (Channel* c : req) {
      auto i = std::find(selector_.required.begin(), selector_.required.end(), c);
      to.push_back(&progress.routes[i - selector_.required.begin()]);
    }
    for (Channel* c : opt) {
      auto i = std::find(selector_.optional.begin(), selector_.optional.end(), c);
      to.push_back(&optional[i - selector_.optional.begin()]);
    }
    if (to.empty()) {
      ++unrouted;
      continue;
    }
    for (size_t k = 0; k + 1 < to.size(); ++k) to[k]->push_back(e);
    to.back()->push_back(std::move(e));
  }
  if (unrouted > 0 && no_channel_throttle.allow()) {
    log::warn(
        "{} event(s) matched no channel of the multiplexing selector on header '{}' (no "
        "mapping and no selector.default) and were dropped{}",
        unrouted, log::escape(rules.header), [&] {
          uint64_t n = no_channel_throttle.take_suppressed();
          return n ? fmt::format(" ({} more such batches)", n) : std::string();
        }());
  }
  progress.routed = true;
}

void ChannelProcessor::commit_routes(Batch& events, PutProgress& progress,
                                     std::function<void(Status)> done) {
  if (!progress.routed) route(events, progress);
  const size_t n = selector_.required.size();
  size_t last = n;  // the last channel with events: committed asynchronously
  for (size_t i = n; i-- > 0;)
    if (!progress.routes[i].empty()) {
      last = i;
      break;
    }
  while (progress.required_done < n && progress.required_done != last) {
    Batch& b = progress.routes[progress.required_done];
    if (!b.empty()) {
      Channel* c = selector_.required[progress.required_done];
      Tx tx = c->begin();
      Status s = tx.put(b);
      attach_position(tx, progress);
      if (s) s = tx.commit();
      if (!s) {
        tx.rollback(&b);
        done(std::move(s));
        return;
      }
      b.clear();
    }
    ++progress.required_done;
  }
  // Optional channels once, after the required ones but the last (as the replicating path):
  // their failures are ignored and never retried.
  if (!progress.optional_done) {
    for (size_t i = 0; i < progress.optional_routes.size(); ++i)
      if (!progress.optional_routes[i].empty())
        put_copies(selector_.optional[i], std::move(progress.optional_routes[i]));
    progress.optional_done = true;
  }
  if (progress.required_done >= n) {
    events.clear();
    done({});
    return;
  }
  Batch& b = progress.routes[last];
  progress.tx = selector_.required[last]->begin();
  Status s = progress.tx.put(b);
  attach_position(progress.tx, progress);
  if (!s) {
    progress.tx.rollback();
    done(std::move(s));
    return;
  }
  progress.tx.commit_async([&events, &progress, &b, n, done = std::move(done)](Status st) {
    if (!st) {
      progress.tx.rollback(&b);
      done(std::move(st));
      return;
    }
    b.clear();
    progress.required_done = n;
    events.clear();
    done({});
  });
}

void ChannelProcessor::put_optional(const Batch& events) {
  for (Channel* c : selector_.optional) put_copies(c, events);
}

void ChannelProcessor::process_async(Batch& events, PutProgress& progress,
                                     std::function<void(Status)> done) {
  if (!progress.intercepted) {
    for (auto& i : interceptors_) i->intercept(events);
    progress.intercepted = true;
  }
  if (events.empty()) {
    done(commit_position_only(selector_.required, progress));
    return;
  }
  if (selector_.multiplexing) {
    commit_routes(events, progress, std::move(done));
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
    attach_position(tx, progress);
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
  attach_position(progress.tx, progress);
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
