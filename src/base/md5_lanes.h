#pragma once
// Md5Lanes: the MD5 of many concurrent byte streams, computed on one worker thread that hashes up
// to eight streams at once with AVX2 (one 32-bit lane of a 256-bit register per stream).
//
// MD5 is serial within a stream (~4.5 cycles per byte, OpenSSL's 640 MB/s on this project's
// machines), but the store hashes every byte it receives for the ETag, and 16 concurrent 8 MiB
// PUTs spent a third of the store's CPU there. Eight streams in lock-step cost about what one
// costs alone, so the worker keeps every lane busy while streams have data: with eight or more
// uploads at once the CPU per hashed byte falls several-fold, and the hashing moves off the
// threads that receive the bodies. With one stream it hashes that stream alone (scalar), as
// OpenSSL would. Without AVX2 (checked once at run time) it runs the scalar code for every stream.
//
// Use: a stream submits 64-byte multiples in order and keeps each submitted buffer unchanged until
// that submission is done (wait_done()); finish() hashes the tail and the padding on the calling
// thread. Submission, waiting and finishing are for one thread at a time per stream; any number
// of streams share the worker. Correctness: compared against OpenSSL over random lengths, splits
// and concurrent streams (md5_lanes_test.cc).

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "base/hash.h"

namespace ingestor {

class Md5Lanes;

class Md5Stream {
 public:
  explicit Md5Stream(Md5Lanes& lanes);
  ~Md5Stream();  // waits until the worker is done with every submitted buffer
  Md5Stream(const Md5Stream&) = delete;
  Md5Stream& operator=(const Md5Stream&) = delete;

  // Queues `data` (non-empty, a multiple of 64 bytes) after everything submitted before.
  // Returns its sequence number (1, 2, ...).
  uint64_t submit(std::string_view data);
  // Blocks until submission `seq` (and so every earlier one) is hashed: its buffer is free again.
  void wait_done(uint64_t seq);
  // Waits for every submission, then hashes `tail` (any length) and the padding. Once.
  Md5Digest finish(std::string_view tail);

 private:
  friend class Md5Lanes;
  void wait(std::unique_lock<std::mutex>& lk, uint64_t seq);  // lk holds lanes_.mu_
  struct Job {
    const uint8_t* data;
    size_t blocks;
  };
  Md5Lanes& lanes_;
  // Guarded by lanes_.mu_:
  uint32_t h_[4];
  std::deque<Job> jobs_;
  uint64_t submitted_ = 0;
  uint64_t done_ = 0;
  bool in_lane_ = false;
  std::condition_variable cv_;
  uint64_t bytes_ = 0;  // submitted so far (this stream's thread only)
};

// The MD5 of a byte stream delivered in pieces of any size, each only valid during the call (an
// HTTP client's read buffer): whole 64-byte blocks are hashed in place on the worker while
// `write` runs on the piece (writing it to a file, say), a block that straddles two pieces goes
// through a small carry buffer, and feed() returns once the worker is done with the piece.
class Md5Pieces {
 public:
  explicit Md5Pieces(Md5Lanes& lanes) : stream_(lanes) {}

  // Hashes `piece` and calls write(piece) meanwhile; returns what write returned.
  template <class Write>
  auto feed(std::string_view piece, Write&& write) {
    const Submitted s = submit(piece);
    auto result = write(piece);
    if (s.seq > 0) stream_.wait_done(s.seq);
    // The carry buffer is free again: keep the piece's last bytes that make no whole block.
    std::memcpy(carry_ + carried_, piece.data() + piece.size() - s.tail, s.tail);
    carried_ += s.tail;
    return result;
  }
  Md5Digest finish() { return stream_.finish({carry_, carried_}); }

 private:
  struct Submitted {
    uint64_t seq;  // the last submission's sequence number, or 0
    size_t tail;   // bytes at the end of the piece left for the carry buffer
  };
  Submitted submit(std::string_view piece);

  Md5Stream stream_;
  alignas(64) char carry_[64];
  size_t carried_ = 0;
};

// Md5Pieces on `lanes`, or with nullptr OpenSSL's MD5 on the calling thread: without AVX2 the
// lanes worker is scalar and would hash every caller's stream in turn, one core for them all.
class Md5Feed {
 public:
  explicit Md5Feed(Md5Lanes* lanes) {
    if (lanes) pieces_.emplace(*lanes);
  }
  template <class Write>
  auto feed(std::string_view piece, Write&& write) {
    if (pieces_) return pieces_->feed(piece, write);
    inline_.update(piece);
    return write(piece);
  }
  Md5Digest finish() { return pieces_ ? pieces_->finish() : inline_.finish(); }

 private:
  std::optional<Md5Pieces> pieces_;
  Md5 inline_;
};

class Md5Lanes {
 public:
  // The process-wide worker, started on first use (and never stopped: it sleeps when idle).
  static Md5Lanes& shared();
  explicit Md5Lanes(bool use_avx2);
  ~Md5Lanes();
  Md5Lanes(const Md5Lanes&) = delete;
  Md5Lanes& operator=(const Md5Lanes&) = delete;

  static bool cpu_has_avx2();

  // The raw block functions, exposed for tests: `state` is {a, b, c, d} per lane.
  static void compress_scalar(uint32_t state[4], const uint8_t* data, size_t blocks);
  // Eight lanes, `blocks` 64-byte blocks from each of data[0..7]. Needs AVX2.
  static void compress_x8(uint32_t state[4][8], const uint8_t* const data[8], size_t blocks);

 private:
  friend class Md5Stream;
  void run();
  uint64_t enqueue(Md5Stream& s, Md5Stream::Job job);  // the job's sequence number

  const bool avx2_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<Md5Stream*> ready_;  // streams with jobs and no lane
  int waiters_ = 0;               // streams blocked until their submissions are hashed
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace ingestor
