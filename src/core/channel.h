#pragma once
// Channel and Transaction: Flume's channel semantics, moved in batches.
//
// Contract (as Flume's BasicTransactionSemantics, minus the thread binding):
//  - A transaction holds puts or takes (a source puts, a sink takes). Nothing it puts is visible
//    to takers until commit(); what it takes is removed from the queue at once and returns to the
//    *head* of the queue, in its original order, on rollback().
//  - put() fails with kChannelFull when the transaction already holds transactionCapacity events.
//    commit() of puts fails with kChannelFull when the channel has no room (count or bytes); the
//    transaction then stays open and the caller may retry commit() later or roll back.
//  - take() never blocks: it returns what is there, up to `max`. Sink runners wait for data with
//    Channel::wait_for_events().
//  - Tx is RAII: destroying a Tx that was neither committed nor rolled back rolls it back.
//
// Thread-safety: a Channel is used by many threads at once; one Tx by one thread at a time.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "core/component.h"
#include "core/event.h"
#include "core/metrics.h"

namespace ingestor {

class Transaction {
 public:
  virtual ~Transaction() = default;
  // Moves the events into the transaction. On error none of them was added (`events` unchanged).
  [[nodiscard]] virtual Status put(Batch& events) = 0;
  // Appends up to `max` events to `out`; returns how many.
  [[nodiscard]] virtual Result<size_t> take(size_t max, Batch& out) = 0;
  [[nodiscard]] virtual Status commit() = 0;
  // Asynchronous commit for callers on an event loop: `done` runs when the commit is durable (it
  // may run on another thread, or inline). The default commits synchronously.
  virtual void commit_async(std::function<void(Status)> done) { done(commit()); }
  virtual void rollback() = 0;
};

class Tx {
 public:
  Tx() = default;
  explicit Tx(std::unique_ptr<Transaction> t) : t_(std::move(t)) {}
  Tx(Tx&&) noexcept = default;
  Tx& operator=(Tx&& o) noexcept {
    finish_rollback();
    t_ = std::move(o.t_);
    return *this;
  }
  ~Tx() { finish_rollback(); }

  [[nodiscard]] Status put(Batch& events) { return t_->put(events); }
  [[nodiscard]] Status put(Event e) {
    Batch b;
    b.push_back(std::move(e));
    return t_->put(b);
  }
  [[nodiscard]] Result<size_t> take(size_t max, Batch& out) { return t_->take(max, out); }
  // On success the transaction is finished; on error it stays open (see the contract above).
  [[nodiscard]] Status commit() {
    Status s = t_->commit();
    if (s) t_.reset();
    return s;
  }
  void commit_async(std::function<void(Status)> done);
  void rollback() {
    if (t_) {
      t_->rollback();
      t_.reset();
    }
  }
  bool open() const { return t_ != nullptr; }

 private:
  void finish_rollback() {
    if (t_) t_->rollback();
  }
  std::unique_ptr<Transaction> t_;
};

class Channel : public Component {
 public:
  using Component::Component;
  [[nodiscard]] virtual Tx begin() = 0;
  // Blocks until the channel may hold events for a taker, `timeout` passes, or wake() is called.
  // Returns true when events are there.
  virtual bool wait_for_events(std::chrono::milliseconds timeout) = 0;
  // Wakes every waiter (used at shutdown).
  virtual void wake() = 0;
  // Committed events in the channel.
  virtual size_t size() const = 0;
  virtual size_t capacity() const = 0;
  virtual size_t transaction_capacity() const = 0;
  ChannelCounters& counters() { return counters_; }
  void collect_metrics(MetricList& out) const override;

 protected:
  ChannelCounters counters_;
};

}  // namespace ingestor
