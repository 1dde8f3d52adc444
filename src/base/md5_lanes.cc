#include "base/md5_lanes.h"

#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>

namespace ingestor {
namespace {

static_assert(std::endian::native == std::endian::little, "MD5 words are read as little-endian");

// The 64 steps of RFC 1321: round function, the registers in their rotating order, the message
// word, the constant (floor(abs(sin(i + 1)) * 2^32)) and the left rotation.
// clang-format off
#define MD5_STEPS(STEP)                                                                            \
  STEP(F, a, b, c, d, 0, 0xd76aa478, 7) STEP(F, d, a, b, c, 1, 0xe8c7b756, 12)                     \
  STEP(F, c, d, a, b, 2, 0x242070db, 17) STEP(F, b, c, d, a, 3, 0xc1bdceee, 22)                    \
  STEP(F, a, b, c, d, 4, 0xf57c0faf, 7) STEP(F, d, a, b, c, 5, 0x4787c62a, 12)                     \
  STEP(F, c, d, a, b, 6, 0xa8304613, 17) STEP(F, b, c, d, a, 7, 0xfd469501, 22)                    \
  STEP(F, a, b, c, d, 8, 0x698098d8, 7) STEP(F, d, a, b, c, 9, 0x8b44f7af, 12)                     \
  STEP(F, c, d, a, b, 10, 0xffff5bb1, 17) STEP(F, b, c, d, a, 11, 0x895cd7be, 22)                  \
  STEP(F, a, b, c, d, 12, 0x6b901122, 7) STEP(F, d, a, b, c, 13, 0xfd987193, 12)                   \
  STEP(F, c, d, a, b, 14, 0xa679438e, 17) STEP(F, b, c, d, a, 15, 0x49b40821, 22)                  \
  STEP(G, a, b, c, d, 1, 0xf61e2562, 5) STEP(G, d, a, b, c, 6, 0xc040b340, 9)                      \
  STEP(G, c, d, a, b, 11, 0x265e5a51, 14) STEP(G, b, c, d, a, 0, 0xe9b6c7aa, 20)                   \
  STEP(G, a, b, c, d, 5, 0xd62f105d, 5) STEP(G, d, a, b, c, 10, 0x02441453, 9)                     \
  STEP(G, c, d, a, b, 15, 0xd8a1e681, 14) STEP(G, b, c, d, a, 4, 0xe7d3fbc8, 20)                   \
  STEP(G, a, b, c, d, 9, 0x21e1cde6, 5) STEP(G, d, a, b, c, 14, 0xc33707d6, 9)                     \
  STEP(G, c, d, a, b, 3, 0xf4d50d87, 14) STEP(G, b, c, d, a, 8, 0x455a14ed, 20)                    \
  STEP(G, a, b, c, d, 13, 0xa9e3e905, 5) STEP(G, d, a, b, c, 2, 0xfcefa3f8, 9)                     \
  STEP(G, c, d, a, b, 7, 0x676f02d9, 14) STEP(G, b, c, d, a, 12, 0x8d2a4c8a, 20)                   \
  STEP(H, a, b, c, d, 5, 0xfffa3942, 4) STEP(H, d, a, b, c, 8, 0x8771f681, 11)                     \
  STEP(H, c, d, a, b, 11, 0x6d9d6122, 16) STEP(H, b, c, d, a, 14, 0xfde5380c, 23)                  \
  STEP(H, a, b, c, d, 1, 0xa4beea44, 4) STEP(H, d, a, b, c, 4, 0x4bdecfa9, 11)                     \
  STEP(H, c, d, a, b, 7, 0xf6bb4b60, 16) STEP(H, b, c, d, a, 10, 0xbebfbc70, 23)                   \
  STEP(H, a, b, c, d, 13, 0x289b7ec6, 4) STEP(H, d, a, b, c, 0, 0xeaa127fa, 11)                    \
  STEP(H, c, d, a, b, 3, 0xd4ef3085, 16) STEP(H, b, c, d, a, 6, 0x04881d05, 23)                    \
  STEP(H, a, b, c, d, 9, 0xd9d4d039, 4) STEP(H, d, a, b, c, 12, 0xe6db99e5, 11)                    \
  STEP(H, c, d, a, b, 15, 0x1fa27cf8, 16) STEP(H, b, c, d, a, 2, 0xc4ac5665, 23)                   \
  STEP(I, a, b, c, d, 0, 0xf4292244, 6) STEP(I, d, a, b, c, 7, 0x432aff97, 10)                     \
  STEP(I, c, d, a, b, 14, 0xab9423a7, 15) STEP(I, b, c, d, a, 5, 0xfc93a039, 21)                   \
  STEP(I, a, b, c, d, 12, 0x655b59c3, 6) STEP(I, d, a, b, c, 3, 0x8f0ccc92, 10)                    \
  STEP(I, c, d, a, b, 10, 0xffeff47d, 15) STEP(I, b, c, d, a, 1, 0x85845dd1, 21)                   \
  STEP(I, a, b, c, d, 8, 0x6fa87e4f, 6) STEP(I, d, a, b, c, 15, 0xfe2ce6e0, 10)                    \
  STEP(I, c, d, a, b, 6, 0xa3014314, 15) STEP(I, b, c, d, a, 13, 0x4e0811a1, 21)                   \
  STEP(I, a, b, c, d, 4, 0xf7537e82, 6) STEP(I, d, a, b, c, 11, 0xbd3af235, 10)                    \
  STEP(I, c, d, a, b, 2, 0x2ad7d2bb, 15) STEP(I, b, c, d, a, 9, 0xeb86d391, 21)
// clang-format on

constexpr uint32_t kInit[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
// Blocks one lane set hashes between two looks at the queue: a stream that becomes ready waits
// at most this long (32 KiB of each lane) for a free lane to take it.
constexpr size_t kMaxRun = 512;
// Starting from idle with fewer than kFewLanes streams ready and nobody waiting for a result, the
// worker waits up to kLinger once for more: eight lanes cost what one does, and a stream keeps
// receiving while it has free blocks. (With one lane busy, the scalar code would run.) Once it
// hashes, it goes on without waiting until it runs out of work, so a lone stream is not held up.
constexpr auto kLinger = std::chrono::microseconds(1000);
constexpr int kFewLanes = 4;

// ---- scalar ---------------------------------------------------------------------------------

inline uint32_t rotl(uint32_t x, int s) { return (x << s) | (x >> (32 - s)); }
#define SF(b, c, d) ((d) ^ ((b) & ((c) ^ (d))))
#define SG(b, c, d) ((c) ^ ((d) & ((b) ^ (c))))
#define SH(b, c, d) ((b) ^ (c) ^ (d))
#define SI(b, c, d) ((c) ^ ((b) | ~(d)))
#define SCALAR_STEP(f, a, b, c, d, g, k, s) a = b + rotl(a + S##f(b, c, d) + m[g] + k, s);

// ---- AVX2: eight lanes ----------------------------------------------------------------------

#define VF(b, c, d) _mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d)))
#define VG(b, c, d) _mm256_xor_si256(c, _mm256_and_si256(d, _mm256_xor_si256(b, c)))
#define VH(b, c, d) _mm256_xor_si256(_mm256_xor_si256(b, c), d)
#define VI(b, c, d) _mm256_xor_si256(c, _mm256_or_si256(b, _mm256_xor_si256(d, ones)))
#define VECTOR_STEP(f, a, b, c, d, g, k, s)                                                       \
  {                                                                                               \
    __m256i t = _mm256_add_epi32(                                                                 \
        a, _mm256_add_epi32(V##f(b, c, d),                                                        \
                            _mm256_add_epi32(m[g], _mm256_set1_epi32(static_cast<int>(k)))));     \
    a = _mm256_add_epi32(b,                                                                       \
                         _mm256_or_si256(_mm256_slli_epi32(t, s), _mm256_srli_epi32(t, 32 - s))); \
  }

// Words w..w+7 of the current block of each lane, as eight vectors of one word each.
__attribute__((target("avx2"))) inline void transpose8(const uint8_t* const p[8], size_t off,
                                                       __m256i out[8]) {
  __m256i r[8];
  for (int i = 0; i < 8; ++i)
    r[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[i] + off));
  __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
  __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
  __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
  __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
  __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
  __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
  __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
  __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
  out[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
  out[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
  out[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
  out[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
  out[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
  out[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
  out[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
  out[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

}  // namespace

void Md5Lanes::compress_scalar(uint32_t state[4], const uint8_t* data, size_t blocks) {
  uint32_t a0 = state[0], b0 = state[1], c0 = state[2], d0 = state[3];
  for (size_t n = 0; n < blocks; ++n, data += 64) {
    uint32_t m[16];
    std::memcpy(m, data, 64);
    uint32_t a = a0, b = b0, c = c0, d = d0;
    MD5_STEPS(SCALAR_STEP)
    a0 += a;
    b0 += b;
    c0 += c;
    d0 += d;
  }
  state[0] = a0;
  state[1] = b0;
  state[2] = c0;
  state[3] = d0;
}

__attribute__((target("avx2"))) void Md5Lanes::compress_x8(uint32_t state[4][8],
                                                           const uint8_t* const data[8],
                                                           size_t blocks) {
  const __m256i ones = _mm256_set1_epi32(-1);
  __m256i a0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(state[0]));
  __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(state[1]));
  __m256i c0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(state[2]));
  __m256i d0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(state[3]));
  for (size_t n = 0; n < blocks; ++n) {
    __m256i m[16];
    transpose8(data, n * 64, m);
    transpose8(data, n * 64 + 32, m + 8);
    __m256i a = a0, b = b0, c = c0, d = d0;
    MD5_STEPS(VECTOR_STEP)
    a0 = _mm256_add_epi32(a0, a);
    b0 = _mm256_add_epi32(b0, b);
    c0 = _mm256_add_epi32(c0, c);
    d0 = _mm256_add_epi32(d0, d);
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(state[0]), a0);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(state[1]), b0);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(state[2]), c0);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(state[3]), d0);
}

bool Md5Lanes::cpu_has_avx2() { return __builtin_cpu_supports("avx2"); }

Md5Lanes& Md5Lanes::shared() {
  // Never destroyed: streams may still finish while static destructors run at exit.
  static Md5Lanes* lanes = new Md5Lanes(cpu_has_avx2());
  return *lanes;
}

Md5Lanes::Md5Lanes(bool use_avx2) : avx2_(use_avx2 && cpu_has_avx2()) {
  worker_ = std::thread([this] { run(); });
}

Md5Lanes::~Md5Lanes() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  worker_.join();
}

uint64_t Md5Lanes::enqueue(Md5Stream& s, Md5Stream::Job job) {
  std::lock_guard lk(mu_);
  const bool idle = s.jobs_.empty() && !s.in_lane_;
  s.jobs_.push_back(job);
  if (idle) {
    ready_.push_back(&s);
    work_cv_.notify_one();
  }
  return ++s.submitted_;
}

void Md5Lanes::run() {
  struct Lane {
    Md5Stream* s = nullptr;
    const uint8_t* p = nullptr;
    size_t blocks = 0;
  };
  const int nlanes = avx2_ ? 8 : 1;
  Lane lane[8];
  alignas(32) uint32_t st[4][8] = {};
  bool busy = false;  // hashing since the worker was last idle
  std::unique_lock lk(mu_);
  for (;;) {
    int active = 0;
    int first = -1;
    for (int i = 0; i < nlanes; ++i) {
      if (!lane[i].s && !ready_.empty()) {
        Md5Stream* s = ready_.front();
        ready_.pop_front();
        s->in_lane_ = true;
        lane[i] = {s, s->jobs_.front().data, s->jobs_.front().blocks};
        for (int k = 0; k < 4; ++k) st[k][i] = s->h_[k];
      }
      if (lane[i].s) {
        ++active;
        if (first < 0) first = i;
      }
    }
    if (active == 0) {
      if (stop_) return;
      busy = false;
      work_cv_.wait(lk);
      continue;
    }
    if (!busy && active < kFewLanes && nlanes > 1 && waiters_ == 0 && !stop_) {
      busy = true;  // once: then hash what there is, and keep going while there is more
      work_cv_.wait_for(lk, kLinger);
      continue;
    }
    busy = true;
    lk.unlock();
    size_t n = kMaxRun;
    for (int i = 0; i < nlanes; ++i)
      if (lane[i].s) n = std::min(n, lane[i].blocks);
    if (active == 1) {
      uint32_t one[4] = {st[0][first], st[1][first], st[2][first], st[3][first]};
      compress_scalar(one, lane[first].p, n);
      for (int k = 0; k < 4; ++k) st[k][first] = one[k];
    } else {
      // An idle lane hashes a copy of a busy lane's bytes; its result is never read.
      const uint8_t* ptrs[8];
      for (int i = 0; i < 8; ++i) ptrs[i] = lane[i].s ? lane[i].p : lane[first].p;
      compress_x8(st, ptrs, n);
    }
    for (int i = 0; i < nlanes; ++i) {
      if (!lane[i].s) continue;
      lane[i].p += n * 64;
      lane[i].blocks -= n;
    }
    lk.lock();
    for (int i = 0; i < nlanes; ++i) {
      Lane& l = lane[i];
      if (!l.s || l.blocks > 0) continue;
      Md5Stream* s = l.s;
      for (int k = 0; k < 4; ++k) s->h_[k] = st[k][i];
      s->jobs_.pop_front();
      ++s->done_;
      if (s->jobs_.empty()) {
        s->in_lane_ = false;
        l = Lane{};
      } else {
        l.p = s->jobs_.front().data;
        l.blocks = s->jobs_.front().blocks;
      }
      s->cv_.notify_all();  // under mu_: the stream cannot be destroyed before this returns
    }
  }
}

Md5Stream::Md5Stream(Md5Lanes& lanes) : lanes_(lanes) { std::memcpy(h_, kInit, sizeof h_); }

Md5Stream::~Md5Stream() {
  std::unique_lock lk(lanes_.mu_);
  wait(lk, submitted_);
}

// Waits under lanes_.mu_ until `seq` is done, telling the worker someone is waiting (so it does
// not linger for more streams).
void Md5Stream::wait(std::unique_lock<std::mutex>& lk, uint64_t seq) {
  if (done_ >= seq) return;
  ++lanes_.waiters_;
  lanes_.work_cv_.notify_one();
  cv_.wait(lk, [&] { return done_ >= seq; });
  --lanes_.waiters_;
}

uint64_t Md5Stream::submit(std::string_view data) {
  bytes_ += data.size();
  return lanes_.enqueue(*this,
                        Job{reinterpret_cast<const uint8_t*>(data.data()), data.size() / 64});
}

void Md5Stream::wait_done(uint64_t seq) {
  std::unique_lock lk(lanes_.mu_);
  wait(lk, seq);
}

Md5Digest Md5Stream::finish(std::string_view tail) {
  uint32_t h[4];
  {
    std::unique_lock lk(lanes_.mu_);
    wait(lk, submitted_);
    std::memcpy(h, h_, sizeof h);
  }
  const auto* p = reinterpret_cast<const uint8_t*>(tail.data());
  const size_t full = tail.size() / 64;
  Md5Lanes::compress_scalar(h, p, full);
  uint8_t last[128] = {};
  const size_t rest = tail.size() - full * 64;
  std::memcpy(last, p + full * 64, rest);
  last[rest] = 0x80;
  const size_t len = rest < 56 ? 64 : 128;
  const uint64_t bits = (bytes_ + tail.size()) * 8;
  std::memcpy(last + len - 8, &bits, 8);
  Md5Lanes::compress_scalar(h, last, len / 64);
  Md5Digest out;
  std::memcpy(out.data(), h, 16);
  return out;
}

Md5Pieces::Submitted Md5Pieces::submit(std::string_view piece) {
  uint64_t seq = 0;
  if (carried_ > 0) {
    const size_t k = std::min(sizeof carry_ - carried_, piece.size());
    std::memcpy(carry_ + carried_, piece.data(), k);
    carried_ += k;
    piece.remove_prefix(k);
    if (carried_ < sizeof carry_) return {0, 0};  // the whole piece went into the carry buffer
    seq = stream_.submit({carry_, sizeof carry_});
    carried_ = 0;
  }
  const size_t whole = piece.size() & ~size_t{63};
  if (whole > 0) seq = stream_.submit(piece.substr(0, whole));
  return {seq, piece.size() - whole};
}

}  // namespace ingestor
