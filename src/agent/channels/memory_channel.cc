#include "agent/channels/memory_channel.h"

#include <algorithm>
#include <utility>

#include "base/log.h"

namespace ingestor {

const ComponentSpec& memory_channel_spec() {
  static const ComponentSpec spec{
      "channel",
      "memory",
      "org.apache.flume.channel.MemoryChannel",
      "Events in memory; fast, nothing survives a crash.",
      {
          {"capacity", KeyType::kInt, "100", false, "Maximum number of events in the channel"},
          {"transactionCapacity", KeyType::kInt, "100", false,
           "Maximum events one transaction may put or take"},
          {"keep-alive", KeyType::kInt, "3", false,
           "Seconds a source keeps retrying a put into a full channel before it fails"},
          {"byteCapacity", KeyType::kLong, "134217728", false,
           "Maximum body bytes held (Flume: 80% of the JVM heap; here a fixed 128 MiB). 0: no "
           "byte limit"},
          {"byteCapacityBufferPercentage", KeyType::kInt, "20", false,
           "Percent of byteCapacity kept back for headers", 0, 99},
      }};
  return spec;
}

Result<MemoryChannelOptions> memory_channel_options(const Settings& s, Diagnostics& diags,
                                                    const std::string& name) {
  MemoryChannelOptions o;
  o.capacity = s.i64("capacity");
  if (o.capacity <= 0) {
    diags.warning("channel", name, "capacity",
                  "capacity " + std::to_string(o.capacity) + " is not positive; using 100");
    o.capacity = 100;
  }
  o.transaction_capacity = s.i64("transactionCapacity");
  if (o.transaction_capacity <= 0) {
    diags.warning("channel", name, "transactionCapacity",
                  "transactionCapacity " + std::to_string(o.transaction_capacity) +
                      " is not positive; using 100");
    o.transaction_capacity = 100;
  }
  if (o.transaction_capacity > o.capacity) {
    return make_error(Errc::kConfig, "transactionCapacity (" +
                                         std::to_string(o.transaction_capacity) +
                                         ") must be smaller than or equal to capacity (" +
                                         std::to_string(o.capacity) + ")");
  }
  int64_t ka = s.i64("keep-alive");
  o.keep_alive = std::chrono::milliseconds(ka < 0 ? 0 : ka * 1000);
  o.byte_capacity = s.i64("byteCapacity");
  if (o.byte_capacity < 0) o.byte_capacity = 0;
  o.byte_capacity_buffer_percentage = s.i64("byteCapacityBufferPercentage");
  return o;
}

// ---------------------------------------------------------------------------------------------

class MemoryChannel::MemoryTransaction final : public Transaction {
 public:
  explicit MemoryTransaction(MemoryChannel& ch) : ch_(ch) {}
  ~MemoryTransaction() override {
    if (!finished_) rollback(nullptr);
  }

  Status put(Batch& events) override {
    ch_.counters_.event_put_attempt.add(static_cast<int64_t>(events.size()));
    if (!takes_.empty())
      return make_error(Errc::kInvalidArgument, "a transaction may hold puts or takes, not both");
    if (puts_.size() + events.size() > ch_.transaction_capacity()) {
      return make_error(Errc::kChannelFull,
                        "Put queue for MemoryTransaction of capacity " +
                            std::to_string(ch_.transaction_capacity()) +
                            " full, consider committing more frequently, increasing capacity or "
                            "increasing thread count");
    }
    // Move the events, not the vector: the caller keeps its capacity for the next batch.
    puts_.reserve(puts_.size() + events.size());
    for (auto& e : events) puts_.push_back(std::move(e));
    events.clear();
    return {};
  }

  const Batch& taken() const override { return takes_; }

  Result<size_t> take(size_t max) override {
    if (!puts_.empty())
      return make_error(Errc::kInvalidArgument, "a transaction may hold puts or takes, not both");
    size_t room = ch_.transaction_capacity() - takes_.size();
    if (max > room) {
      if (room == 0) {
        return make_error(Errc::kChannelFull,
                          "Take list for MemoryTransaction, capacity " +
                              std::to_string(ch_.transaction_capacity()) +
                              " full, consider committing more frequently, increasing capacity, "
                              "or increasing thread count");
      }
      max = room;
    }
    size_t n = 0;
    {
      std::lock_guard<std::mutex> lk(ch_.mu_);
      n = std::min(max, ch_.queue_.size());
      takes_.reserve(takes_.size() + n);
      for (size_t i = 0; i < n; ++i) {
        takes_.push_back(std::move(ch_.queue_.front()));
        ch_.queue_.pop_front();
      }
    }
    ch_.counters_.event_take_attempt.add(static_cast<int64_t>(n + (n < max ? 1 : 0)));
    return n;
  }

  Status commit() override {
    if (!puts_.empty()) {
      int64_t slots = 0;
      if (ch_.slot_limit_ > 0)
        for (const auto& e : puts_) slots += ch_.slots_of(e);
      bool wake = false;
      {
        std::lock_guard<std::mutex> lk(ch_.mu_);
        if (ch_.queue_.size() + puts_.size() > ch_.capacity()) {
          return make_error(Errc::kChannelFull,
                            "Space for commit to queue couldn't be acquired. Sinks are likely not "
                            "keeping up with sources, or the buffer size is too tight");
        }
        if (ch_.slot_limit_ > 0 && ch_.slots_used_ + slots > ch_.slot_limit_) {
          return make_error(
              Errc::kChannelFull,
              "Cannot commit transaction. Byte capacity allocated to store event body " +
                  std::to_string(ch_.slot_limit_ * ch_.opts_.slot_bytes) +
                  "reached. Please increase heap space/byte capacity allocated to the channel as "
                  "the sinks may not be keeping up with the sources");
        }
        ch_.queue_.reserve_more(puts_.size());
        for (auto& e : puts_) ch_.queue_.push_back(std::move(e));
        ch_.slots_used_ += slots;
        wake = ch_.waiters_ > 0;
      }
      ch_.counters_.event_put_success.add(static_cast<int64_t>(puts_.size()));
      puts_.clear();
      if (wake) ch_.cv_.notify_all();
    } else if (!takes_.empty()) {
      int64_t slots = 0;
      if (ch_.slot_limit_ > 0) {
        for (const auto& e : takes_) slots += ch_.slots_of(e);
        std::lock_guard<std::mutex> lk(ch_.mu_);
        ch_.slots_used_ -= slots;
      }
      ch_.counters_.event_take_success.add(static_cast<int64_t>(takes_.size()));
      takes_.clear();
    }
    finished_ = true;
    return {};
  }

  void rollback(Batch* puts_out) override {
    if (finished_) return;
    finished_ = true;
    if (!puts_.empty()) {
      if (puts_out) {
        for (auto& e : puts_) puts_out->push_back(std::move(e));
      }
      puts_.clear();
    }
    if (!takes_.empty()) {
      bool wake = false;
      {
        std::lock_guard<std::mutex> lk(ch_.mu_);
        // Back to the head, in the original order.
        for (auto it = takes_.rbegin(); it != takes_.rend(); ++it)
          ch_.queue_.push_front(std::move(*it));
        wake = ch_.waiters_ > 0;
      }
      takes_.clear();
      if (wake) ch_.cv_.notify_all();
    }
  }

 private:
  MemoryChannel& ch_;
  Batch puts_;
  Batch takes_;
  bool finished_ = false;
};

// ---------------------------------------------------------------------------------------------

MemoryChannel::MemoryChannel(std::string name, MemoryChannelOptions options)
    : Channel(std::move(name), "memory"),
      opts_(options),
      slot_limit_(options.byte_capacity > 0
                      ? options.byte_capacity * (100 - options.byte_capacity_buffer_percentage) /
                            100 / std::max<int64_t>(options.slot_bytes, 1)
                      : 0) {}

MemoryChannel::~MemoryChannel() = default;

Status MemoryChannel::start() {
  counters_.started();
  return {};
}

void MemoryChannel::stop() {
  counters_.stopped();
  wake();
}

Tx MemoryChannel::begin() { return Tx(std::make_unique<MemoryTransaction>(*this)); }

bool MemoryChannel::wait_for_events(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(mu_);
  if (!queue_.empty()) return true;
  uint64_t gen = wake_gen_;
  ++waiters_;
  cv_.wait_for(lk, timeout, [&] { return !queue_.empty() || wake_gen_ != gen; });
  --waiters_;
  return !queue_.empty();
}

void MemoryChannel::wake() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    ++wake_gen_;
  }
  cv_.notify_all();
}

size_t MemoryChannel::size() const {
  std::lock_guard<std::mutex> lk(mu_);
  return queue_.size();
}

int64_t MemoryChannel::byte_slots_used() const {
  std::lock_guard<std::mutex> lk(mu_);
  return slots_used_;
}

}  // namespace ingestor
