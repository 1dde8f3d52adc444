#pragma once
// IoPool: one Asio io_context per thread (one per core by default), each run by its own thread.
// Listeners accept on one context and hand each new connection to the next context round-robin,
// so there is no thread per connection and no lock shared by the contexts.

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace ingestor::net {

class IoPool {
 public:
  // threads == 0 means std::thread::hardware_concurrency() (at least 1).
  explicit IoPool(size_t threads = 0);
  ~IoPool();  // stops and joins
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  void start();
  // Stops every context and joins the threads. Idempotent.
  void stop();

  size_t size() const { return contexts_.size(); }
  boost::asio::io_context& at(size_t i) { return *contexts_[i]; }
  // Round-robin over the contexts.
  boost::asio::io_context& next();

 private:
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
  bool started_ = false;
};

}  // namespace ingestor::net
