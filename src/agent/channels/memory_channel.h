#pragma once
// MemoryChannel: Flume's `memory` channel (flume.md 3.5). A FIFO of events in memory; nothing
// survives a crash.
//
// Bounds (what bounds memory): at most `capacity` events, and at most `byteCapacity` body bytes,
// counted as Flume does in 100-byte slots (`slot_bytes`) (an empty body takes one slot) with
// `byteCapacityBufferPercentage` kept back for headers. Bodies are slices of shared read buffers,
// so the memory held can exceed the body bytes by up to one read buffer per source connection.
//
// Unlike Flume, commit() does not wait `keep-alive` for space: it fails at once with kChannelFull
// and leaves the transaction open; sources retry on their own timers (up to keep-alive) without
// blocking a thread. keep_alive() is exposed for that.
//
// Thread-safety: all methods may be called from any thread. One lock guards the queue; it is
// taken once per batch (put commit, take), never per event.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "core/channel.h"
#include "core/config/spec.h"
#include "core/ring_queue.h"

namespace ingestor {

struct MemoryChannelOptions {
  int64_t capacity = 100;
  int64_t transaction_capacity = 100;
  std::chrono::milliseconds keep_alive{3000};
  int64_t byte_capacity = 128LL * 1024 * 1024;  // 0: no byte limit
  int64_t byte_capacity_buffer_percentage = 20;
  // Bytes of body per slot (Flume: 100 for memory; avgEventSize for spillablememory).
  int64_t slot_bytes = 100;
};

const ComponentSpec& memory_channel_spec();
// Reads the options, applying Flume's fallbacks (capacity <= 0 -> 100 with a warning, ...).
// transactionCapacity > capacity is an error, as in Flume.
Result<MemoryChannelOptions> memory_channel_options(const Settings& s, Diagnostics& diags,
                                                    const std::string& name);

class MemoryChannel final : public Channel {
 public:
  MemoryChannel(std::string name, MemoryChannelOptions options);
  ~MemoryChannel() override;

  Status start() override;
  void stop() override;

  Tx begin() override;
  bool wait_for_events(std::chrono::milliseconds timeout) override;
  void wake() override;
  size_t size() const override;
  size_t capacity() const override { return static_cast<size_t>(opts_.capacity); }
  size_t transaction_capacity() const override {
    return static_cast<size_t>(opts_.transaction_capacity);
  }
  std::chrono::milliseconds keep_alive() const override { return opts_.keep_alive; }
  // Byte slots in use (for tests).
  int64_t byte_slots_used() const;

 private:
  class MemoryTransaction;
  friend class MemoryTransaction;
  int64_t slots_of(const Event& e) const {
    const auto b = static_cast<int64_t>(e.body.size());
    return b == 0 ? 1 : (b + opts_.slot_bytes - 1) / opts_.slot_bytes;
  }

  const MemoryChannelOptions opts_;
  const int64_t slot_limit_;  // 0: unlimited
  mutable std::mutex mu_;
  std::condition_variable cv_;
  RingQueue<Event> queue_;
  int64_t slots_used_ = 0;
  int waiters_ = 0;
  uint64_t wake_gen_ = 0;
};

}  // namespace ingestor
