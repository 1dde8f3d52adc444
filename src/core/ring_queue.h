#pragma once
// RingQueue<T>: a FIFO over one growable circular buffer (power-of-two sized), with push_front
// for rollbacks. Unlike std::deque it allocates only when it grows (doubling) and releases memory
// when it shrinks to a quarter, so a channel that cycles batches does no allocation per event.
// Not thread-safe: the owner locks.

#include <cstddef>
#include <memory>
#include <utility>

namespace ingestor {

template <class T>
class RingQueue {
 public:
  RingQueue() = default;
  RingQueue(const RingQueue&) = delete;
  RingQueue& operator=(const RingQueue&) = delete;
  ~RingQueue() { clear(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return cap_; }

  void push_back(T&& v) {
    if (size_ == cap_) grow(cap_ ? cap_ * 2 : 64);
    new (slot((head_ + size_) & (cap_ - 1))) T(std::move(v));
    ++size_;
  }
  void push_front(T&& v) {
    if (size_ == cap_) grow(cap_ ? cap_ * 2 : 64);
    head_ = (head_ + cap_ - 1) & (cap_ - 1);
    new (slot(head_)) T(std::move(v));
    ++size_;
  }
  T& front() { return *slot(head_); }
  void pop_front() {
    slot(head_)->~T();
    head_ = (head_ + 1) & (cap_ - 1);
    --size_;
    if (cap_ > 1024 && size_ < cap_ / 4) grow(cap_ / 2);
  }
  // Makes room for `n` more elements at once.
  void reserve_more(size_t n) {
    size_t need = size_ + n;
    if (need <= cap_) return;
    size_t c = cap_ ? cap_ : 64;
    while (c < need) c *= 2;
    grow(c);
  }
  void clear() {
    while (size_) pop_front_no_shrink();
    ::operator delete(buf_);
    buf_ = nullptr;
    cap_ = head_ = 0;
  }

 private:
  T* slot(size_t i) { return reinterpret_cast<T*>(buf_) + i; }
  void pop_front_no_shrink() {
    slot(head_)->~T();
    head_ = (head_ + 1) & (cap_ - 1);
    --size_;
  }
  void grow(size_t new_cap) {
    void* nb = ::operator new(new_cap * sizeof(T));
    T* dst = reinterpret_cast<T*>(nb);
    for (size_t i = 0; i < size_; ++i) {
      T* src = slot((head_ + i) & (cap_ - 1));
      new (dst + i) T(std::move(*src));
      src->~T();
    }
    ::operator delete(buf_);
    buf_ = nb;
    cap_ = new_cap;
    head_ = 0;
  }

  void* buf_ = nullptr;
  size_t cap_ = 0;  // a power of two, or 0
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace ingestor
