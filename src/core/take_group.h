#pragma once
// TakeGroup: several take transactions of one sink, committed together.
//
// A sink whose delivery has a fixed cost per commit (the S3 sink's two fsyncs) takes one batch per
// transaction, as Flume does, but when the channel holds more than a batch it may go on taking
// further batches in further transactions and make them all safe with one commit of its own,
// then commit every take. Each transaction stays within the channel's transactionCapacity.
//
// Rollback order matters: a rolled-back take returns its events to the head of the queue, so the
// group rolls back its transactions newest first, which leaves the queue in its original order.
// Thread-safety: one thread, as a Tx.

#include <deque>

#include "core/channel.h"

namespace ingestor {

class TakeGroup {
 public:
  explicit TakeGroup(Channel& channel) : channel_(channel) {}
  ~TakeGroup() { rollback(); }
  TakeGroup(const TakeGroup&) = delete;
  TakeGroup& operator=(const TakeGroup&) = delete;

  // Begins one more transaction (references stay valid while the group lives).
  Tx& begin();
  // Rolls back and forgets the newest transaction (one that took nothing).
  void drop_last();
  size_t size() const { return txs_.size(); }
  bool empty() const { return txs_.empty(); }

  // Commits every transaction, concurrently where the channel supports it (the file channel
  // group-commits the take records), and waits. The first error is returned; transactions that
  // failed stay open and are rolled back by rollback() or the destructor.
  [[nodiscard]] Status commit();
  // Rolls back every open transaction, newest first.
  void rollback();

 private:
  Channel& channel_;
  std::deque<Tx> txs_;  // a deque: commit_async needs each Tx to stay where it is
};

}  // namespace ingestor
