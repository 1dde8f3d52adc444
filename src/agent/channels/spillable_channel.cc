#include "agent/channels/spillable_channel.h"

#include <algorithm>

#include "base/log.h"

namespace ingestor {

const ComponentSpec& spillable_channel_spec() {
  static const ComponentSpec spec = [] {
    std::vector<KeySpec> keys{
        {"memoryCapacity", KeyType::kLong, "10000", false,
         "Events held in memory; 0: every put goes to the overflow"},
        {"overflowCapacity", KeyType::kLong, "100000000", false,
         "Events held in the overflow (a file channel); 0: no overflow"},
        {"overflowTimeout", KeyType::kLong, "3", false,
         "Seconds memory stays full before puts spill to the overflow"},
        {"overflowDeactivationThreshold", KeyType::kLong, "5", false,
         "Percent of memory a take must leave free to end spilling", 0, 100},
        {"byteCapacity", KeyType::kLong, "134217728", false,
         "Body bytes held in memory, counted in slots of avgEventSize (Flume: 80% of the JVM "
         "heap; here 128 MiB); below one slot: no byte limit"},
        {"byteCapacityBufferPercentage", KeyType::kLong, "20", false,
         "Percent of byteCapacity kept back for headers", 0, 99},
        {"avgEventSize", KeyType::kLong, "500", false, "Bytes of body per memory slot", 1},
    };
    for (KeySpec k : file_channel_spec().keys) {
      if (k.key == "capacity") k.help = "Ignored: overflowCapacity is the overflow's capacity";
      if (k.key == "keep-alive") k.help = "Ignored: the overflow's keep-alive is 0";
      if (k.key == "transactionCapacity")
        k.help = "Maximum events one transaction may put or take (both stores)";
      keys.push_back(k);
    }
    return ComponentSpec{"channel", "spillablememory",
                         "org.apache.flume.channel.SpillableMemoryChannel",
                         "Events in memory, spilling to a file channel when memory is full; "
                         "only the overflow survives a restart.",
                         std::move(keys)};
  }();
  return spec;
}

Result<SpillableChannelOptions> spillable_channel_options(const Settings& s, Diagnostics& diags,
                                                          const std::string& name) {
  SpillableChannelOptions o;
  o.memory_capacity = s.i64("memoryCapacity");
  if (o.memory_capacity < 0) {
    diags.warning("channel", name, "memoryCapacity",
                  "Invalid memoryCapacity specified, initializing " + name +
                      " channel to default value of 10000");
    o.memory_capacity = 10000;
  }
  o.overflow_capacity = s.i64("overflowCapacity");
  if (o.overflow_capacity < 0) o.overflow_capacity = 100000000;
  if (o.memory_capacity == 0 && o.overflow_capacity == 0) {
    diags.warning("channel", name, "overflowCapacity",
                  "memoryCapacity and overflowCapacity are both 0; using overflowCapacity "
                  "100000000");
    o.overflow_capacity = 100000000;
  }
  o.overflow_timeout = std::chrono::seconds(std::max<int64_t>(s.i64("overflowTimeout"), 0));
  o.deactivation_threshold_pct = s.i64("overflowDeactivationThreshold");
  o.byte_capacity = std::max<int64_t>(s.i64("byteCapacity"), 0);
  o.byte_capacity_buffer_percentage = s.i64("byteCapacityBufferPercentage");
  o.avg_event_size = s.i64("avgEventSize");
  auto f = file_channel_options(s, diags, name);
  if (!f) return f.error();
  o.overflow = std::move(*f);
  o.overflow.capacity = std::max<int64_t>(o.overflow_capacity, 1);
  o.overflow.keep_alive = std::chrono::milliseconds(0);
  return o;
}

// ---------------------------------------------------------------------------------------------

class SpillableChannel::SpillTransaction final : public Transaction {
 public:
  explicit SpillTransaction(SpillableChannel& ch) : ch_(ch) {}
  ~SpillTransaction() override {
    if (!finished_) rollback(nullptr);
  }

  Status put(Batch& events) override {
    ch_.counters_.event_put_attempt.add(static_cast<int64_t>(events.size()));
    if (took_)
      return make_error(Errc::kInvalidArgument, "a transaction may hold puts or takes, not both");
    if (puts_.size() + events.size() > ch_.transaction_capacity())
      return make_error(Errc::kChannelFull,
                        "Put queue of capacity " + std::to_string(ch_.transaction_capacity()) +
                            " full, consider committing more frequently or increasing "
                            "transactionCapacity");
    for (auto& e : events) puts_.push_back(std::move(e));
    events.clear();
    return {};
  }

  Result<size_t> take(size_t max) override {
    if (!puts_.empty())
      return make_error(Errc::kInvalidArgument, "a transaction may hold puts or takes, not both");
    std::lock_guard<std::mutex> lk(ch_.order_mu_);
    if (ch_.order_.empty()) return size_t{0};
    const Run head = ch_.order_.front();
    if (!took_) {
      store_ = head.store;
      inner_ = (store_ == Store::kMemory ? static_cast<Channel&>(*ch_.memory_)
                                         : static_cast<Channel&>(*ch_.overflow_))
                   .begin();
      took_ = true;
    } else if (head.store != store_) {
      return size_t{0};  // a store boundary ends the batch
    }
    auto n = inner_.take(std::min(max, head.count));
    if (!n) return n;
    ch_.counters_.event_take_attempt.add(static_cast<int64_t>(*n));
    if (*n > 0) {
      taken_ += *n;
      ch_.order_.front().count -= *n;
      if (ch_.order_.front().count == 0) ch_.order_.pop_front();
    }
    return n;
  }

  const Batch& taken() const override {
    static const Batch none;
    return took_ ? inner_.taken() : none;
  }

  Status commit() override {
    if (!puts_.empty()) {
      std::lock_guard<std::mutex> lk(ch_.order_mu_);
      const auto n = static_cast<int64_t>(puts_.size());
      if (auto s = ch_.put_locked(puts_); !s) return s;
      ch_.counters_.event_put_success.add(n);
      ch_.notify();
    } else if (took_) {
      if (auto s = inner_.commit(); !s) return s;
      ch_.counters_.event_take_success.add(static_cast<int64_t>(taken_));
      ch_.after_take_commit();
    }
    finished_ = true;
    return {};
  }

  void rollback(Batch* puts_out) override {
    if (finished_) return;
    finished_ = true;
    if (puts_out)
      for (auto& e : puts_) puts_out->push_back(std::move(e));
    puts_.clear();
    if (took_) {
      {
        std::lock_guard<std::mutex> lk(ch_.order_mu_);
        inner_.rollback();  // back to the head of its store
        if (taken_ > 0) ch_.push_run_front(store_, taken_);
      }
      if (taken_ > 0) ch_.notify();
    }
  }

 private:
  SpillableChannel& ch_;
  Batch puts_;
  bool took_ = false;
  Store store_ = Store::kMemory;
  Tx inner_;
  size_t taken_ = 0;
  bool finished_ = false;
};

// ---------------------------------------------------------------------------------------------

SpillableChannel::SpillableChannel(std::string name, SpillableChannelOptions options, Fs& fs)
    : Channel(std::move(name), "spillablememory"), opts_(std::move(options)) {
  if (opts_.memory_capacity > 0) {
    MemoryChannelOptions m;
    m.capacity = opts_.memory_capacity;
    m.transaction_capacity = opts_.overflow.transaction_capacity;
    m.keep_alive = std::chrono::milliseconds(0);
    m.byte_capacity = opts_.byte_capacity;
    m.byte_capacity_buffer_percentage = opts_.byte_capacity_buffer_percentage;
    m.slot_bytes = std::max<int64_t>(opts_.avg_event_size, 1);
    memory_ = std::make_unique<MemoryChannel>(this->name() + ".memory", m);
  }
  if (opts_.overflow_capacity > 0)
    overflow_ = std::make_unique<FileChannel>(this->name(), opts_.overflow, fs);
}

SpillableChannel::~SpillableChannel() { stop(); }

Status SpillableChannel::start() {
  if (memory_)
    if (auto s = memory_->start(); !s) return s;
  if (overflow_) {
    if (auto s = overflow_->start(); !s) return s;
    // What the overflow kept across the restart leaves first.
    std::lock_guard<std::mutex> lk(order_mu_);
    order_.clear();
    if (size_t n = overflow_->size(); n > 0) order_.push_back({Store::kOverflow, n});
  }
  counters_.started();
  return {};
}

void SpillableChannel::stop() {
  if (overflow_) overflow_->stop();
  if (memory_) memory_->stop();
  counters_.stopped();
  wake();
}

Tx SpillableChannel::begin() { return Tx(std::make_unique<SpillTransaction>(*this)); }

Status SpillableChannel::put_into(Channel& ch, Batch& events) {
  Tx tx = ch.begin();
  if (auto s = tx.put(events); !s) return s;
  if (auto s = tx.commit(); !s) {
    tx.rollback(&events);  // hand them back for the retry
    return s;
  }
  return {};
}

Status SpillableChannel::put_locked(Batch& events) {
  const size_t n = events.size();
  if (memory_) {
    Status s = put_into(*memory_, events);
    if (s) {
      memory_full_ = false;
      push_run_back(Store::kMemory, n);
      return {};
    }
    if (s.error().code != Errc::kChannelFull) return s;
    if (!overflow_) {
      const bool bytes = s.error().message.find("Byte capacity") != std::string::npos;
      return make_error(
          Errc::kChannelFull,
          bytes ? "Spillable Memory Channel's memory capacity has been reached. Its byte "
                  "capacity is full and overflow is disabled. Consider increasing byteCapacity "
                  "or capacity."
                : "Spillable Memory Channel's memory capacity has been reached and overflow is "
                  "disabled. Consider increasing memoryCapacity.");
    }
    // Spill at once while the overflow is active; else once memory has stayed full for
    // overflowTimeout (the source retries meanwhile; Flume blocks its thread instead).
    const auto now = std::chrono::steady_clock::now();
    if (!overflow_active_) {
      if (!memory_full_) {
        memory_full_ = true;
        memory_full_since_ = now;
      }
      if (now - memory_full_since_ < opts_.overflow_timeout)
        return make_error(Errc::kChannelFull,
                          "Spillable Memory Channel's memory is full; spilling to the overflow "
                          "after overflowTimeout");
      overflow_active_ = true;
      log::info("channel {}: Overflow Activated", name());
    }
  }
  if (auto s = put_into(*overflow_, events); !s) return s;
  push_run_back(Store::kOverflow, n);
  return {};
}

void SpillableChannel::push_run_back(Store s, size_t n) {
  if (!order_.empty() && order_.back().store == s)
    order_.back().count += n;
  else
    order_.push_back({s, n});
}

void SpillableChannel::push_run_front(Store s, size_t n) {
  if (!order_.empty() && order_.front().store == s)
    order_.front().count += n;
  else
    order_.push_front({s, n});
}

void SpillableChannel::after_take_commit() {
  if (!memory_) return;
  std::lock_guard<std::mutex> lk(order_mu_);
  if (!overflow_active_) return;
  const auto free_pct =
      100.0 * static_cast<double>(opts_.memory_capacity - static_cast<int64_t>(memory_->size())) /
      static_cast<double>(opts_.memory_capacity);
  if (free_pct >= static_cast<double>(opts_.deactivation_threshold_pct)) {
    overflow_active_ = false;
    memory_full_ = false;
    log::info("channel {}: Overflow Deactivated", name());
  }
}

bool SpillableChannel::overflow_active() const {
  std::lock_guard<std::mutex> lk(order_mu_);
  return overflow_active_;
}

void SpillableChannel::notify() {
  {
    std::lock_guard<std::mutex> lk(wait_mu_);
    ++gen_;
  }
  wait_cv_.notify_all();
}

bool SpillableChannel::wait_for_events(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(wait_mu_);
  if (size() > 0) return true;
  const uint64_t gen = gen_;
  wait_cv_.wait_for(lk, timeout, [&] { return gen_ != gen; });
  return size() > 0;
}

void SpillableChannel::wake() { notify(); }

size_t SpillableChannel::size() const {
  return (memory_ ? memory_->size() : 0) + (overflow_ ? overflow_->size() : 0);
}

size_t SpillableChannel::capacity() const {
  return static_cast<size_t>(opts_.memory_capacity) +
         (overflow_ ? static_cast<size_t>(opts_.overflow_capacity) : 0);
}

std::chrono::milliseconds SpillableChannel::keep_alive() const {
  return opts_.overflow_timeout + std::chrono::seconds(3);
}

}  // namespace ingestor
