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
//  - rollback(&batch) of a put transaction hands the uncommitted events back (appended to
//    `batch`, in order), so a source can retry them without having kept a copy.
//  - take() never blocks: it returns what is there, up to `max`. Sink runners wait for data with
//    Channel::wait_for_events().
//  - Tx is RAII: destroying a Tx that was neither committed nor rolled back rolls it back.
//
// Thread-safety: a Channel is used by many threads at once; one Tx by one thread at a time.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "core/component.h"
#include "core/event.h"
#include "core/metrics.h"
#include "core/source_position.h"

namespace ingestor {

class Transaction {
 public:
  virtual ~Transaction() = default;
  // Moves the events into the transaction. On error none of them was added (`events` unchanged).
  [[nodiscard]] virtual Status put(Batch& events) = 0;
  // Takes up to `max` more events; returns how many. The events stay owned by the transaction
  // (no copy): read them with taken(), which holds every event taken so far, in order, until
  // the transaction finishes.
  [[nodiscard]] virtual Result<size_t> take(size_t max) = 0;
  virtual const Batch& taken() const = 0;
  [[nodiscard]] virtual Status commit() = 0;
  // Asynchronous commit for callers on an event loop: `done` runs when the commit is durable (it
  // may run on another thread, or inline). On failure the transaction stays open, as with
  // commit(). The default commits synchronously.
  virtual void commit_async(std::function<void(Status)> done) { done(commit()); }
  // Undoes the transaction: taken events return to the head of the queue in order; put events are
  // discarded, or appended to `puts_out` when it is given.
  virtual void rollback(Batch* puts_out) = 0;
  // A put transaction may carry a source's position update (core/source_position.h); a channel
  // that stores positions writes it with the events when the transaction commits, others ignore
  // it. Called before commit, at most once per transaction (a later call replaces the update).
  virtual void set_position(std::string_view source, PositionUpdate update) {
    (void)source;
    (void)update;
  }
};

class Tx {
 public:
  Tx() = default;
  explicit Tx(std::unique_ptr<Transaction> t) : t_(std::move(t)) {}
  Tx(Tx&& o) noexcept : t_(std::move(o.t_)), done_(o.done_) {}
  Tx& operator=(Tx&& o) noexcept {
    finish_rollback();
    t_ = std::move(o.t_);
    done_ = o.done_;
    return *this;
  }
  ~Tx() { finish_rollback(); }

  [[nodiscard]] Status put(Batch& events) { return t_->put(events); }
  [[nodiscard]] Status put(Event e) {
    Batch b;
    b.push_back(std::move(e));
    return t_->put(b);
  }
  [[nodiscard]] Result<size_t> take(size_t max) { return t_->take(max); }
  const Batch& taken() const { return t_->taken(); }
  void set_position(std::string_view source, PositionUpdate update) {
    t_->set_position(source, std::move(update));
  }
  // On success the transaction is finished; on error it stays open (see the contract above).
  [[nodiscard]] Status commit() {
    Status s = t_->commit();
    if (s) done_ = true;
    return s;
  }
  // `done` runs when the commit is durable or failed; the Tx must stay alive and unmoved until
  // then. On success the Tx is finished; on failure it stays open (retry or roll back).
  void commit_async(std::function<void(Status)> done);
  void rollback(Batch* puts_out = nullptr) {
    if (t_ && !done_) t_->rollback(puts_out);
    done_ = true;
  }
  // True while the transaction is neither committed nor rolled back.
  bool open() const { return t_ != nullptr && !done_; }

 private:
  void finish_rollback() {
    if (t_ && !done_) t_->rollback(nullptr);
  }
  std::unique_ptr<Transaction> t_;
  bool done_ = false;  // committed or rolled back
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
  // How long a source keeps retrying a put into this channel while it is full (Flume's
  // keep-alive) before it reports the failure upstream.
  virtual std::chrono::milliseconds keep_alive() const { return std::chrono::seconds(3); }
  // True when put transactions commit a source's position update with the events, durably (the
  // file channel). committed_positions() is then the map of everything committed for `source`,
  // nullopt when no update for it was ever committed (a channel older than positions, or a new
  // source). Others store nothing.
  virtual bool stores_positions() const { return false; }
  virtual std::optional<PositionMap> committed_positions(std::string_view source) const {
    (void)source;
    return std::nullopt;
  }
  ChannelCounters& counters() { return counters_; }
  const char* metrics_group() const override { return "CHANNEL"; }
  void collect_metrics(MetricList& out) const override;

 protected:
  ChannelCounters counters_;
};

}  // namespace ingestor
