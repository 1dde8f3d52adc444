#include "net/io_pool.h"

#include <algorithm>

namespace ingestor::net {

IoPool::IoPool(size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  contexts_.reserve(threads);
  // concurrency_hint 1: each context is run by exactly one thread, so Asio can skip locking.
  for (size_t i = 0; i < threads; ++i)
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
}

IoPool::~IoPool() { stop(); }

void IoPool::start() {
  if (started_) return;
  started_ = true;
  guards_.reserve(contexts_.size());
  threads_.reserve(contexts_.size());
  for (auto& ctx : contexts_) {
    if (ctx->stopped()) ctx->restart();
    guards_.emplace_back(boost::asio::make_work_guard(*ctx));
    boost::asio::io_context* c = ctx.get();
    threads_.emplace_back([c] {
      // Handlers do not throw (no exceptions on data paths); should one escape anyway, keep the
      // context running rather than kill the thread silently.
      for (;;) {
        try {
          c->run();
          return;
        } catch (...) {
        }
      }
    });
  }
}

void IoPool::stop() {
  if (!started_) return;
  started_ = false;
  guards_.clear();
  for (auto& ctx : contexts_) ctx->stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

boost::asio::io_context& IoPool::next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

}  // namespace ingestor::net
