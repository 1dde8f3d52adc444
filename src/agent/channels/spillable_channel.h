#pragma once
// SpillableChannel: Flume's `spillablememory` channel (flume-components.md 5.1), built from our
// two channels: a MemoryChannel as the primary store and a FileChannel as the overflow.
//
//  - A put transaction goes whole to memory or whole to the overflow, never split. When memory
//    is full (memoryCapacity events, or byteCapacity counted in slots of avgEventSize bytes),
//    the puts spill to the overflow once memory has stayed full for overflowTimeout seconds, and
//    at once while the overflow is active; it deactivates when a take leaves at least
//    overflowDeactivationThreshold percent of memory free. Unlike Flume, a commit never blocks
//    its thread for overflowTimeout: it fails with kChannelFull and the source retries (its
//    keep-alive covers overflowTimeout).
//  - Events leave in the order they entered, across both stores: a drain-order queue of runs
//    ("n in memory", "n in the overflow") says which store holds the oldest event. One take
//    transaction reads from one store: a batch ends at a store boundary (a short batch).
//  - Only the overflow survives a restart; its events are drained first.
//  - memoryCapacity 0: every put goes to the overflow; overflowCapacity 0: no overflow, a full
//    memory fails puts with Flume's message.
//  - It does not store positions (stores_positions() stays false, set_position is ignored, its
//    overflow's records carry none): a batch committed to memory is lost by a crash, so a
//    position committed with it would skip those events at restart. A resumable source on this
//    channel keeps its own position file (core/source_position.h): at-least-once.
// ChannelSize counts both stores, ChannelCapacity is memoryCapacity + overflowCapacity.
// Thread-safety: as any Channel. One lock (order_mu_) orders put commits and takes against the
// drain order; an overflow put commit holds it through the file channel's fsync.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

#include "agent/channels/file_channel.h"
#include "agent/channels/memory_channel.h"
#include "core/channel.h"

namespace ingestor {

struct SpillableChannelOptions {
  int64_t memory_capacity = 10000;
  int64_t overflow_capacity = 100000000;
  std::chrono::milliseconds overflow_timeout{3000};
  int64_t deactivation_threshold_pct = 5;
  int64_t byte_capacity = 128LL * 1024 * 1024;
  int64_t byte_capacity_buffer_percentage = 20;
  int64_t avg_event_size = 500;
  FileChannelOptions overflow;  // its capacity is overflow_capacity, its keep-alive 0
};

const ComponentSpec& spillable_channel_spec();
// Flume's fallbacks with warnings (negative memoryCapacity -> 10000, both capacities 0 -> the
// default overflow), and the file channel's keys for the overflow.
Result<SpillableChannelOptions> spillable_channel_options(const Settings& s, Diagnostics& diags,
                                                          const std::string& name);

class SpillableChannel final : public Channel {
 public:
  SpillableChannel(std::string name, SpillableChannelOptions options, Fs& fs = Fs::posix());
  ~SpillableChannel() override;

  Status start() override;
  void stop() override;
  Tx begin() override;
  bool wait_for_events(std::chrono::milliseconds timeout) override;
  void wake() override;
  size_t size() const override;
  size_t capacity() const override;
  size_t transaction_capacity() const override {
    return static_cast<size_t>(opts_.overflow.transaction_capacity);
  }
  std::chrono::milliseconds keep_alive() const override;

  // For tests.
  size_t memory_size() const { return memory_ ? memory_->size() : 0; }
  size_t overflow_size() const { return overflow_ ? overflow_->size() : 0; }
  bool overflow_active() const;

 private:
  class SpillTransaction;
  friend class SpillTransaction;
  enum class Store { kMemory, kOverflow };
  struct Run {
    Store store;
    size_t count;
  };
  // Commits `events` to one store (order_mu_ held); on failure they are handed back.
  Status put_locked(Batch& events);
  Status put_into(Channel& ch, Batch& events);
  void push_run_back(Store s, size_t n);   // order_mu_ held
  void push_run_front(Store s, size_t n);  // order_mu_ held
  void after_take_commit();
  void notify();

  const SpillableChannelOptions opts_;
  std::unique_ptr<MemoryChannel> memory_;  // null when memoryCapacity is 0
  std::unique_ptr<FileChannel> overflow_;  // null when overflowCapacity is 0

  mutable std::mutex order_mu_;
  std::deque<Run> order_;
  bool overflow_active_ = false;
  std::chrono::steady_clock::time_point memory_full_since_{};
  bool memory_full_ = false;

  std::mutex wait_mu_;
  std::condition_variable wait_cv_;
  uint64_t gen_ = 0;
};

}  // namespace ingestor
