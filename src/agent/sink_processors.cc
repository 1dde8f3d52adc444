#include "agent/sink_processors.h"

#include <algorithm>
#include <cctype>
#include <exception>

#include "base/log.h"
#include "base/strings.h"

namespace ingestor {

namespace {

constexpr int kMaxSequentialFailures = 16;  // Flume's OrderSelector.EXP_BACKOFF_COUNTER_LIMIT
constexpr auto kSequentialRange = std::chrono::hours(1);

}  // namespace

const ComponentSpec& default_sink_processor_spec() {
  static const ComponentSpec spec{"sink processor",
                                  "default",
                                  "org.apache.flume.sink.DefaultSinkProcessor",
                                  "A group of one sink (keys under <agent>.sinkgroups.<group>.).",
                                  {{"processor.type", KeyType::kString, "default", false,
                                    "default, failover or load_balance"}}};
  return spec;
}

const ComponentSpec& failover_sink_processor_spec() {
  static const ComponentSpec spec{
      "sink processor",
      "failover",
      "org.apache.flume.sink.FailoverSinkProcessor",
      "Sends every batch to the live sink of highest priority; failed sinks cool down.",
      {
          {"processor.type", KeyType::kString, "default", false,
           "default, failover or load_balance"},
          {"processor.priority.*", KeyType::kPrefix, std::nullopt, false,
           "priority.<sink> = integer, higher wins (missing: -1, -2, ... in listed order)"},
          {"processor.maxpenalty", KeyType::kString, "30000", false,
           "Longest cool-down of a failed sink, ms (2 s, 4 s, 8 s ... up to this)"},
      }};
  return spec;
}

const ComponentSpec& load_balance_sink_processor_spec() {
  static const ComponentSpec spec{
      "sink processor",
      "load_balance",
      "org.apache.flume.sink.LoadBalancingSinkProcessor",
      "Spreads batches over the sinks; a failing sink is skipped (and with backoff, blacklisted).",
      {
          {"processor.type", KeyType::kString, "default", false,
           "default, failover or load_balance"},
          {"processor.selector", KeyType::kString, "round_robin", false, "round_robin or random"},
          {"processor.backoff", KeyType::kBool, "false", false,
           "Blacklist a failing sink, exponentially longer (1 s x 2^k)"},
          {"processor.selector.maxTimeOut", KeyType::kLong, "30000", false,
           "Longest blacklist, ms (0 keeps 30000)", 0},
      }};
  return spec;
}

// SinkGroup ---------------------------------------------------------------------------------------

SinkGroup::SinkGroup(std::string name, std::string type, std::vector<Sink*> members)
    : Sink(std::move(name), std::move(type)), members_(std::move(members)) {
  // The runner waits for events on the group's channel: the first member's (a group's sinks
  // usually share one).
  if (!members_.empty()) set_channel(members_.front()->channel());
}

SinkGroup::Clock::time_point SinkGroup::next_timer() const {
  auto t = Clock::time_point::max();
  for (Sink* s : members_) t = std::min(t, s->next_timer());
  return t;
}

Result<SinkStatus> SinkGroup::call(Sink& m) {
  const int64_t empties_before = m.counters().batch_empty.get();
  Result<SinkStatus> r = make_error(Errc::kInternal, "not run");
  try {
    r = m.process();
  } catch (const std::exception& e) {
    r = make_error(Errc::kInternal, std::string("exception: ") + e.what());
  } catch (...) {
    r = make_error(Errc::kInternal, "unknown exception");
  }
  if (!r) {
    m.counters().process_error.add();
    m.counters().consecutive_errors.add();
    m.counters().backing_off.set(0);
    log::error("sink {} (group {}): Unable to deliver event: {}", m.name(), name(),
               r.error().message);
    return r;
  }
  m.counters().consecutive_errors.set(0);
  const bool empty = m.counters().batch_empty.get() != empties_before;
  if (empty) counters_.batch_empty.add();
  m.counters().backing_off.set(*r == SinkStatus::kBackoff && !empty ? 1 : 0);
  return r;
}

std::optional<Result<SinkStatus>> SinkGroup::service_timers() {
  const auto now = now_();
  std::optional<Result<SinkStatus>> first;
  for (Sink* s : members_) {
    if (s->next_timer() > now) continue;
    auto r = call(*s);
    if (!first) first = std::move(r);
  }
  return first;
}

// Failover ----------------------------------------------------------------------------------------

FailoverSinkProcessor::FailoverSinkProcessor(std::string name, Options o)
    : SinkGroup(std::move(name), "failover", {}), max_penalty_(o.max_penalty) {
  for (auto [s, p] : o.priorities) {
    members_.push_back(s);
    live_[p] = s;
  }
  if (!members_.empty()) set_channel(members_.front()->channel());
}

Sink* FailoverSinkProcessor::active() const {
  return live_.empty() ? nullptr : live_.rbegin()->second;
}

SinkGroup::Clock::duration FailoverSinkProcessor::penalty(int failures) const {
  const int64_t ms = int64_t{1000} << std::min(failures, 40);
  return std::chrono::milliseconds(std::min<int64_t>(max_penalty_.count(), ms));
}

void FailoverSinkProcessor::fail(Sink* s, int priority, int failures) {
  Failed f{s, priority, failures, now_() + penalty(failures)};
  auto at = std::upper_bound(failed_.begin(), failed_.end(), f.refresh,
                             [](Clock::time_point t, const Failed& x) { return t < x.refresh; });
  failed_.insert(at, f);
}

Result<SinkStatus> FailoverSinkProcessor::process() {
  if (auto r = service_timers()) {
    if (*r) return *r;
  }
  // Failed sinks whose cool-down ended first, earliest first, with real events.
  while (!failed_.empty() && failed_.front().refresh <= now_()) {
    Failed cur = failed_.front();
    failed_.erase(failed_.begin());
    auto r = call(*cur.sink);
    if (r) {
      if (*r == SinkStatus::kReady) {
        live_[cur.priority] = cur.sink;
        log::info("sink group {}: sink {} is back", name(), cur.sink->name());
      } else {
        failed_.insert(failed_.begin(), cur);  // still due: probed again next time
      }
      return r;
    }
    fail(cur.sink, cur.priority, cur.failures + 1);
  }
  while (!live_.empty()) {
    auto it = std::prev(live_.end());
    auto r = call(*it->second);
    if (r) return r;
    log::warn("sink group {}: Sink {} failed and has been sent to failover list", name(),
              it->second->name());
    fail(it->second, it->first, 1);
    live_.erase(it);
  }
  return make_error(Errc::kUnavailable, "All sinks failed to process, nothing left to failover to");
}

// Load balancing ----------------------------------------------------------------------------------

LoadBalancingSinkProcessor::LoadBalancingSinkProcessor(std::string name, Options o)
    : SinkGroup(std::move(name), "load_balance", std::move(o.sinks)),
      random_(o.random),
      backoff_(o.backoff),
      max_timeout_(o.max_timeout),
      state_(members_.size()) {}

std::vector<size_t> LoadBalancingSinkProcessor::order() {
  const auto now = now_();
  std::vector<size_t> active;
  for (size_t i = 0; i < members_.size(); ++i)
    if (!backoff_ || state_[i].restore <= now) active.push_back(i);
  if (active.empty()) return active;
  if (random_) {
    std::shuffle(active.begin(), active.end(), rng_);
    return active;
  }
  const size_t n = active.size();
  if (next_head_ >= n) next_head_ = 0;
  const size_t begin = next_head_++;
  if (next_head_ == n) next_head_ = 0;
  std::vector<size_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = active[(begin + i) % n];
  return out;
}

void LoadBalancingSinkProcessor::inform_failure(size_t i) {
  if (!backoff_) return;
  State& st = state_[i];
  const auto now = now_();
  auto length = [&](int k) {
    return std::chrono::milliseconds(std::min<int64_t>(max_timeout_.count(), int64_t{1000} << k));
  };
  if (st.sequential > 0 && now - st.last_fail < length(st.sequential) + kSequentialRange) {
    if (st.sequential < kMaxSequentialFailures) ++st.sequential;
  } else {
    st.sequential = 1;
  }
  st.last_fail = now;
  st.restore = now + length(st.sequential);
}

Result<SinkStatus> LoadBalancingSinkProcessor::process() {
  if (auto r = service_timers()) {
    if (*r) return *r;
  }
  const size_t head = next_head_;
  bool first = true;
  for (size_t i : order()) {
    auto r = call(*members_[i]);
    // Round robin: a sink that found the channel empty keeps its turn. Otherwise, at a low
    // rate, the empty call that follows each delivery always lands on the other sink, and every
    // event goes to the same one (Flume's iterator has the same pattern, hidden by its timing).
    if (r && *r == SinkStatus::kBackoff && first && !random_) next_head_ = head;
    if (r) return r;
    first = false;
    log::warn("sink group {}: Sink {} failed to consume event. Attempting next sink if available.",
              name(), members_[i]->name());
    inform_failure(i);
  }
  return make_error(Errc::kUnavailable, "All configured sinks have failed");
}

// Building ----------------------------------------------------------------------------------------

std::unique_ptr<SinkGroup> build_sink_group(const SinkGroupConfig& g,
                                            const std::map<std::string, Sink*>& sinks,
                                            const std::string& pfx, Diagnostics& diags,
                                            bool lenient) {
  std::string type = "default";
  std::string type_given = "default";
  if (auto it = g.context.find("processor.type"); it != g.context.end()) {
    type_given = it->second;
    type = ascii_lower(it->second);
  }
  const ComponentSpec* spec = nullptr;
  if (type == "default" || type_given == "org.apache.flume.sink.DefaultSinkProcessor")
    spec = &default_sink_processor_spec();
  if (type == "failover" || type_given == "org.apache.flume.sink.FailoverSinkProcessor")
    spec = &failover_sink_processor_spec();
  if (type == "load_balance" || type_given == "org.apache.flume.sink.LoadBalancingSinkProcessor")
    spec = &load_balance_sink_processor_spec();
  if (spec == nullptr) {
    diags.error("sinkgroup", g.name, pfx + "processor.type",
                "sink processor type '" + type_given +
                    "' is not supported (supported: default, failover, load_balance; custom "
                    "processor classes cannot be loaded)");
    return nullptr;
  }
  Settings s = Settings::validate(*spec, g.context, "sinkgroup", g.name, pfx, diags, lenient);
  if (diags.has_errors_for("sinkgroup", g.name)) return nullptr;

  std::vector<Sink*> members;
  for (const auto& n : g.sinks)
    if (auto it = sinks.find(n); it != sinks.end()) members.push_back(it->second);
  if (members.empty()) {
    diags.error("sinkgroup", g.name, pfx + "sinks", "none of its sinks could be built");
    return nullptr;
  }
  // A number Flume would read with Integer/Long.parseLong, or fall back with a warning.
  auto number = [&](const std::string& key, const std::string& v, int64_t& out) {
    int64_t n = 0;
    bool overflow = false;
    if (parse_java_integer(v, n, overflow) && !overflow) {
      out = n;
      return true;
    }
    const std::string msg = "expected an integer, got '" + v + "'";
    if (lenient) {
      diags.warning("sinkgroup", g.name, pfx + key, msg + " (ignored, as Flume)");
    } else {
      diags.error("sinkgroup", g.name, pfx + key, msg);
    }
    return false;
  };

  if (spec == &default_sink_processor_spec()) {
    if (members.size() > 1) {
      diags.error("sinkgroup", g.name, pfx + "processor.type",
                  "the default sink processor can only handle one sink; use failover or "
                  "load_balance for a group of " +
                      std::to_string(members.size()));
    }
    return nullptr;  // one sink: it runs alone
  }

  if (spec == &failover_sink_processor_spec()) {
    FailoverSinkProcessor::Options o;
    int64_t penalty = 30000;
    if (!number("processor.maxpenalty", s.str("processor.maxpenalty"), penalty)) penalty = 30000;
    o.max_penalty = std::chrono::milliseconds(std::max<int64_t>(penalty, 0));
    const Context prio = s.sub("processor.priority.");
    for (const auto& [k, v] : prio) {
      if (std::find(g.sinks.begin(), g.sinks.end(), k) == g.sinks.end())
        diags.warning("sinkgroup", g.name, pfx + "processor.priority." + k,
                      "sink '" + k + "' is not in this group; ignored");
    }
    int next_auto = -1;
    std::map<int64_t, std::string> taken;
    for (Sink* m : members) {
      int64_t p = 0;
      bool given = false;
      if (auto it = prio.find(m->name()); it != prio.end())
        given = number("processor.priority." + m->name(), it->second, p);
      if (given && (p < INT32_MIN || p > INT32_MAX)) given = false;
      if (!given) p = next_auto--;
      if (auto t = taken.find(p); t != taken.end()) {
        diags.warning("sinkgroup", g.name, pfx + "processor.priority." + m->name(),
                      "priority " + std::to_string(p) + " duplicates that of sink " + t->second +
                          ": sink " + m->name() + " is left out of the group, as Flume");
        continue;
      }
      taken[p] = m->name();
      o.priorities.emplace_back(m, static_cast<int>(p));
    }
    if (diags.has_errors_for("sinkgroup", g.name)) return nullptr;
    return std::make_unique<FailoverSinkProcessor>(g.name, std::move(o));
  }

  LoadBalancingSinkProcessor::Options o;
  if (members.size() < 2) {
    diags.error("sinkgroup", g.name, pfx + "sinks",
                "The LoadBalancingSinkProcessor cannot be used for a single sink. Please configure "
                "more than one sinks and try again.");
    return nullptr;
  }
  const std::string sel = s.str("processor.selector");
  const std::string lsel = ascii_lower(sel);
  if (lsel == "random") {
    o.random = true;
  } else if (lsel != "round_robin") {
    diags.error("sinkgroup", g.name, pfx + "processor.selector",
                "Unable to instantiate sink selector: '" + sel +
                    "' (supported: round_robin, random; custom selector classes cannot be loaded)");
    return nullptr;
  }
  o.backoff = s.boolean("processor.backoff");
  int64_t t = s.i64("processor.selector.maxTimeOut");
  o.max_timeout = std::chrono::milliseconds(t == 0 ? 30000 : t);
  o.sinks = std::move(members);
  return std::make_unique<LoadBalancingSinkProcessor>(g.name, std::move(o));
}

}  // namespace ingestor
