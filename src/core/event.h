#pragma once
// Event: Flume's event (headers + body) shaped for batches.
//
// The body is a Slice: a view into a reference-counted Chunk, usually the socket read buffer
// the event was parsed from, so a source makes no copy and no allocation per event. Headers are
// a flat vector of (key, value) pairs; most netcat events have none, and an empty vector does not
// allocate. Flume's headers are a HashMap: keys are unique, and set() replaces.
//
// Thread-safety: a Chunk's reference count is atomic, so events may move between threads (source
// thread -> channel -> sink thread); one Event is used by one thread at a time.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ingestor {

// A heap buffer with an intrusive atomic reference count. Create with Chunk::make(capacity).
class Chunk {
 public:
  static Chunk* make(size_t capacity);
  // A chunk of at least `size` bytes: sizes from 16 KiB to 1 MiB are rounded up to a power of two
  // of at least 64 KiB, so that freed chunks are kept and reused (see make()) rather than given
  // back to the kernel and faulted in again. For buffers built per batch (rewritten bodies).
  static Chunk* make_at_least(size_t size);
  void ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  // Takes `n` references at once: a source that cuts n events out of one read buffer adds their
  // references with one atomic operation instead of n (the sink's thread is releasing earlier
  // events of the same buffer meanwhile, so per-event increments would bounce the cache line).
  void ref(uint32_t n) noexcept { refs_.fetch_add(n, std::memory_order_relaxed); }
  void unref() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy();
  }
  char* data() noexcept { return reinterpret_cast<char*>(this + 1); }
  size_t capacity() const noexcept { return capacity_; }
  uint32_t refs() const noexcept { return refs_.load(std::memory_order_relaxed); }

 private:
  explicit Chunk(size_t cap) : capacity_(cap) {}
  void destroy() noexcept;
  std::atomic<uint32_t> refs_{1};
  size_t capacity_;
};

// A counted reference to a Chunk (like a tiny intrusive_ptr).
class ChunkRef {
 public:
  ChunkRef() = default;
  // Adopts one reference (the one Chunk::make returns, or one taken with Chunk::ref(n)).
  static ChunkRef adopt(Chunk* c) { ChunkRef r; r.c_ = c; return r; }
  ChunkRef(const ChunkRef& o) noexcept : c_(o.c_) { if (c_) c_->ref(); }
  ChunkRef(ChunkRef&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  ChunkRef& operator=(ChunkRef o) noexcept { std::swap(c_, o.c_); return *this; }
  ~ChunkRef() { if (c_) c_->unref(); }
  Chunk* get() const noexcept { return c_; }
  Chunk* operator->() const noexcept { return c_; }
  explicit operator bool() const noexcept { return c_ != nullptr; }

 private:
  Chunk* c_ = nullptr;
};

// An immutable byte range kept alive by a reference to the chunk that holds it.
class Slice {
 public:
  Slice() = default;
  Slice(ChunkRef chunk, const char* data, size_t size)
      : chunk_(std::move(chunk)), data_(data), size_(size) {}
  // Copies `bytes` into a new chunk of its own (for tests, headers, small bodies).
  static Slice copy_of(std::string_view bytes);

  const char* data() const noexcept { return data_; }
  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::string_view view() const noexcept { return {data_, size_}; }
  std::string str() const { return std::string(data_, size_); }
  const ChunkRef& chunk() const noexcept { return chunk_; }

 private:
  ChunkRef chunk_;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

using Header = std::pair<std::string, std::string>;

// Flume's header map as a flat vector: unique keys, insertion order kept (Flume's order is
// unspecified; keeping ours makes output deterministic).
class Headers {
 public:
  Headers() = default;
  Headers(std::initializer_list<Header> init);

  const std::string* find(std::string_view key) const noexcept;
  bool contains(std::string_view key) const noexcept { return find(key) != nullptr; }
  // Sets or replaces.
  void set(std::string key, std::string value);
  // Adds a header whose key is known to be absent (a parser filling fresh headers): no lookup.
  // Precondition: !contains(key).
  void append(std::string key, std::string value) {
    kv_.emplace_back(std::move(key), std::move(value));
  }
  // Sets only when absent. Returns true when it set.
  bool set_if_absent(std::string_view key, std::string value);
  bool erase(std::string_view key);
  template <class Pred>
  size_t erase_if(Pred pred) {
    size_t before = kv_.size();
    std::erase_if(kv_, [&](const Header& h) { return pred(h.first); });
    return before - kv_.size();
  }

  // Room for n headers without reallocating (a source that knows how many it sets).
  void reserve(size_t n) { kv_.reserve(n); }
  bool empty() const noexcept { return kv_.empty(); }
  size_t size() const noexcept { return kv_.size(); }
  auto begin() const noexcept { return kv_.begin(); }
  auto end() const noexcept { return kv_.end(); }
  bool operator==(const Headers& o) const;

 private:
  std::vector<Header> kv_;
};

struct Event {
  Headers headers;
  Slice body;
  // The event's position in a durable channel (the file channel's sequence number), set when it
  // is taken; 0 when the channel has no positions (memory). A channel with one sink hands that
  // sink its events in increasing position order, redeliveries after a crash included, which is
  // what lets the S3 sink recognise events it already staged.
  uint64_t seq = 0;

  Event() = default;
  explicit Event(Slice b) : body(std::move(b)) {}
  Event(Headers h, Slice b) : headers(std::move(h)), body(std::move(b)) {}
  // Convenience for tests and small producers: copies the body.
  static Event of(std::string_view body, Headers h = {}) {
    return Event(std::move(h), Slice::copy_of(body));
  }
  // Body bytes counted against byteCapacity and sizes.
  size_t body_size() const noexcept { return body.size(); }
};

using Batch = std::vector<Event>;

}  // namespace ingestor
