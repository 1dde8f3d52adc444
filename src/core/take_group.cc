#include "core/take_group.h"

#include <condition_variable>
#include <mutex>

namespace ingestor {

Tx& TakeGroup::begin() {
  txs_.push_back(channel_.begin());
  return txs_.back();
}

void TakeGroup::drop_last() {
  if (txs_.empty()) return;
  txs_.back().rollback();
  txs_.pop_back();
}

Status TakeGroup::commit() {
  std::mutex mu;
  std::condition_variable cv;
  size_t left = txs_.size();
  Status first_error;
  for (Tx& tx : txs_) {
    tx.commit_async([&](Status s) {
      std::lock_guard<std::mutex> lk(mu);
      if (!s && first_error) first_error = std::move(s);
      --left;
      cv.notify_one();
    });
  }
  std::unique_lock<std::mutex> lk(mu);
  cv.wait(lk, [&] { return left == 0; });
  return first_error;
}

void TakeGroup::rollback() {
  for (auto it = txs_.rbegin(); it != txs_.rend(); ++it) it->rollback();
  txs_.clear();
}

}  // namespace ingestor
