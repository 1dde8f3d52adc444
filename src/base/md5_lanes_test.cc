#include "base/md5_lanes.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace ingestor {
namespace {

std::string random_bytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Hashes `data` through `lanes` the way the store does: 64-byte multiples submitted in pieces of
// random size from a ring of `ring` buffers that are reused once their submission is done, then
// the rest as the tail.
Md5Digest via_stream(Md5Lanes& lanes, const std::string& data, std::mt19937_64& rng,
                     size_t ring = 3) {
  Md5Stream s(lanes);
  std::vector<std::string> bufs(ring);
  size_t off = 0;
  uint64_t seq = 0;
  for (;;) {
    size_t piece = 64 * (1 + rng() % 300);
    if (off + piece >= data.size()) break;
    auto& b = bufs[seq % ring];
    if (seq >= ring) s.wait_done(seq + 1 - ring);
    b.assign(data, off, piece);
    seq = s.submit(b);
    off += piece;
  }
  return s.finish(std::string_view(data).substr(off));
}

TEST(Md5Lanes, ScalarMatchesOpenSslAtEveryLengthAroundThePadding) {
  Md5Lanes lanes(false);
  std::mt19937_64 rng(1);
  for (size_t n = 0; n < 300; ++n) {
    std::string d = random_bytes(rng, n);
    Md5Stream s(lanes);
    EXPECT_EQ(s.finish(d), md5(d)) << n;
  }
}

TEST(Md5Lanes, KnownVectors) {
  Md5Lanes lanes(true);
  {
    Md5Stream s(lanes);
    EXPECT_EQ(to_hex(s.finish("")), "d41d8cd98f00b204e9800998ecf8427e");
  }
  {
    Md5Stream s(lanes);
    EXPECT_EQ(to_hex(s.finish("abc")), "900150983cd24fb0d6963f7d28e17f72");
  }
}

TEST(Md5Lanes, EightLanesMatchScalarPerLane) {
  if (!Md5Lanes::cpu_has_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937_64 rng(2);
  std::vector<std::string> data;
  const uint8_t* ptrs[8];
  for (int i = 0; i < 8; ++i) {
    data.push_back(random_bytes(rng, 64 * 5));
    ptrs[i] = reinterpret_cast<const uint8_t*>(data.back().data());
  }
  alignas(32) uint32_t st[4][8];
  for (int i = 0; i < 8; ++i)
    for (int k = 0; k < 4; ++k) st[k][i] = static_cast<uint32_t>(rng());
  uint32_t expect[8][4];
  for (int i = 0; i < 8; ++i) {
    for (int k = 0; k < 4; ++k) expect[i][k] = st[k][i];
    Md5Lanes::compress_scalar(expect[i], ptrs[i], 5);
  }
  Md5Lanes::compress_x8(st, ptrs, 5);
  for (int i = 0; i < 8; ++i)
    for (int k = 0; k < 4; ++k) EXPECT_EQ(st[k][i], expect[i][k]) << "lane " << i << " word " << k;
}

TEST(Md5Lanes, OneStreamInPiecesMatchesOpenSsl) {
  for (bool avx2 : {false, true}) {
    Md5Lanes lanes(avx2);
    std::mt19937_64 rng(3);
    for (size_t n : {size_t{0}, size_t{63}, size_t{64}, size_t{65}, size_t{100000}, size_t{1} << 20,
                     (size_t{3} << 20) + 17}) {
      std::string d = random_bytes(rng, n);
      EXPECT_EQ(via_stream(lanes, d, rng), md5(d)) << n << " avx2 " << avx2;
    }
  }
}

// More streams than lanes, of different lengths, submitting concurrently: lanes fill, drain and
// refill with other streams while others wait, and every digest is still that stream's own.
TEST(Md5Lanes, ConcurrentStreamsEachGetTheirOwnDigest) {
  for (bool avx2 : {false, true}) {
    Md5Lanes lanes(avx2);
    constexpr int kThreads = 12;
    std::vector<std::thread> threads;
    std::vector<int> bad(kThreads, 0);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937_64 rng(100 + t);
        for (int round = 0; round < 6; ++round) {
          std::string d = random_bytes(rng, rng() % (1 << 20));
          if (via_stream(lanes, d, rng, 1 + t % 4) != md5(d)) ++bad[t];
        }
      });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < kThreads; ++t) EXPECT_EQ(bad[t], 0) << "thread " << t << " avx2 " << avx2;
  }
}

// Feeds `data` to Md5Pieces in pieces of random size (often not multiples of 64, sometimes
// empty or a few bytes), each from a scratch buffer that is overwritten as soon as feed()
// returns, as an HTTP client reuses its read buffer.
// Through Md5Feed: Md5Pieces on `lanes`, or OpenSSL inline with nullptr.
Md5Digest via_pieces(Md5Lanes* lanes, const std::string& data, std::mt19937_64& rng,
                     std::string* written) {
  Md5Feed h(lanes);
  std::string scratch;
  for (size_t off = 0; off < data.size();) {
    size_t n = rng() % 4 == 0 ? rng() % 70 : rng() % 300000;
    n = std::min(n, data.size() - off);
    scratch.assign(data, off, n);
    bool ok = h.feed(scratch, [&](std::string_view p) {
      written->append(p);
      return true;
    });
    EXPECT_TRUE(ok);
    std::memset(scratch.data(), 0x5a, scratch.size());
    off += n;
  }
  return h.finish();
}

TEST(Md5Lanes, PiecesOfAnySizeMatchOpenSsl) {
  // mode 0: no lanes (Md5Feed's OpenSSL path, for CPUs without AVX2); 1: scalar lanes; 2: AVX2.
  for (int mode : {0, 1, 2}) {
    const bool avx2 = mode == 2;
    if (avx2 && !Md5Lanes::cpu_has_avx2()) continue;
    Md5Lanes worker(avx2);
    Md5Lanes* lanes = mode == 0 ? nullptr : &worker;
    std::mt19937_64 rng(7);
    for (size_t n : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{127},
                     size_t{1000}, size_t{1} << 20, (size_t{5} << 20) + 17}) {
      for (int round = 0; round < 3; ++round) {
        std::string d = random_bytes(rng, n), written;
        EXPECT_EQ(via_pieces(lanes, d, rng, &written), md5(d)) << n << " mode " << mode;
        EXPECT_TRUE(written == d) << n;
      }
    }
    // Several at once, as the consumer's workers download.
    std::vector<std::thread> ts;
    for (int t = 0; t < 6; ++t)
      ts.emplace_back([lanes, t] {
        std::mt19937_64 r(100 + t);
        std::string d = random_bytes(r, (size_t{3} << 20) + 5 * t), written;
        EXPECT_EQ(via_pieces(lanes, d, r, &written), md5(d)) << t;
      });
    for (auto& t : ts) t.join();
  }
}

// A stream destroyed with submissions still queued (a client that went away mid-body) waits for
// the worker to let go of its buffers, and the worker carries on with the other streams.
TEST(Md5Lanes, DestroyingAStreamWithQueuedWorkIsSafe) {
  Md5Lanes lanes(true);
  std::mt19937_64 rng(4);
  std::string big = random_bytes(rng, 4 << 20);
  for (int i = 0; i < 20; ++i) {
    auto s = std::make_unique<Md5Stream>(lanes);
    for (size_t off = 0; off < big.size(); off += 1 << 20)
      s->submit(std::string_view(big).substr(off, 1 << 20));
    s.reset();
  }
  std::string d = random_bytes(rng, 500000);
  EXPECT_EQ(via_stream(lanes, d, rng), md5(d));
}

}  // namespace
}  // namespace ingestor
