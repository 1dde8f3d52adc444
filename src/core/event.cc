#include "core/event.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <new>
#include <vector>

namespace ingestor {

namespace {

// Freed read buffers of the sources' sizes (64 KiB .. 1 MiB, powers of two), kept for the next
// make() instead of going back to malloc. Without it a source reading at 150 MB/s took a fresh
// buffer for every read while the sink's thread freed the old ones; glibc returned the freed
// memory to the kernel (trimming the arenas with madvise/munmap) and every new buffer
// page-faulted its pages in again: ~75000 minor faults and ~0.5 s of kernel time per GB written
// (bench/bench_local_write.py). Bounded: at most kPoolBytes of idle buffers.
class ChunkPool {
 public:
  static constexpr size_t kMin = 64 * 1024, kMax = 1024 * 1024;
  static constexpr size_t kPoolBytes = 32u << 20;
  static ChunkPool& instance() {
    static ChunkPool* p = new ChunkPool();  // never destroyed: chunks may die after main
    return *p;
  }
  static int cls(size_t cap) {
    if (cap < kMin || cap > kMax || (cap & (cap - 1)) != 0) return -1;
    int c = 0;
    for (size_t s = kMin; s < cap; s <<= 1) ++c;
    return c;
  }
  void* get(int c) {
    std::lock_guard<std::mutex> lk(mu_);
    auto& l = free_[static_cast<size_t>(c)];
    if (l.empty()) return nullptr;
    void* m = l.back();
    l.pop_back();
    bytes_ -= kMin << c;
    return m;
  }
  bool put(int c, void* m) {
    std::lock_guard<std::mutex> lk(mu_);
    if (bytes_ + (kMin << c) > kPoolBytes) return false;
    free_[static_cast<size_t>(c)].push_back(m);
    bytes_ += kMin << c;
    return true;
  }

 private:
  std::mutex mu_;
  std::array<std::vector<void*>, 5> free_;
  size_t bytes_ = 0;
};

}  // namespace

Chunk* Chunk::make(size_t capacity) {
  void* mem = nullptr;
  if (int c = ChunkPool::cls(capacity); c >= 0) mem = ChunkPool::instance().get(c);
  if (!mem) mem = ::operator new(sizeof(Chunk) + capacity);
  return new (mem) Chunk(capacity);
}

Chunk* Chunk::make_at_least(size_t size) {
  if (size < 16 * 1024 || size > ChunkPool::kMax) return make(size);
  size_t cap = ChunkPool::kMin;
  while (cap < size) cap <<= 1;
  return make(cap);
}

void Chunk::destroy() noexcept {
  const size_t cap = capacity_;
  this->~Chunk();
  if (int c = ChunkPool::cls(cap); c >= 0) {
    bool kept = false;
    try {
      kept = ChunkPool::instance().put(c, this);
    } catch (...) {  // vector growth failed: free it instead
    }
    if (kept) return;
  }
  ::operator delete(this);
}

Slice Slice::copy_of(std::string_view bytes) {
  if (bytes.empty()) return Slice();
  Chunk* c = Chunk::make(bytes.size());
  std::memcpy(c->data(), bytes.data(), bytes.size());
  return Slice(ChunkRef::adopt(c), c->data(), bytes.size());
}

Headers::Headers(std::initializer_list<Header> init) {
  for (const auto& h : init) set(h.first, h.second);
}

const std::string* Headers::find(std::string_view key) const noexcept {
  for (const auto& h : kv_)
    if (h.first == key) return &h.second;
  return nullptr;
}

void Headers::set(std::string key, std::string value) {
  for (auto& h : kv_) {
    if (h.first == key) {
      h.second = std::move(value);
      return;
    }
  }
  // Room for two at the first: interceptors usually add a pair (timestamp and host, uuid and a
  // route), and growing 1 -> 2 would move the first header.
  if (kv_.capacity() == 0) kv_.reserve(2);
  kv_.emplace_back(std::move(key), std::move(value));
}

bool Headers::set_if_absent(std::string_view key, std::string value) {
  if (find(key)) return false;
  if (kv_.capacity() == 0) kv_.reserve(2);
  kv_.emplace_back(std::string(key), std::move(value));
  return true;
}

bool Headers::erase(std::string_view key) {
  auto it = std::find_if(kv_.begin(), kv_.end(), [&](const Header& h) { return h.first == key; });
  if (it == kv_.end()) return false;
  kv_.erase(it);
  return true;
}

bool Headers::operator==(const Headers& o) const {
  if (kv_.size() != o.kv_.size()) return false;
  for (const auto& h : kv_) {
    const std::string* v = o.find(h.first);
    if (!v || *v != h.second) return false;
  }
  return true;
}

}  // namespace ingestor
