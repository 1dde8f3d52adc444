// Chunk: freed read buffers of the sources' sizes are reused (no fresh pages to fault in), other
// sizes are freed; the pool is bounded.
#include "core/event.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace ingestor {
namespace {

TEST(ChunkPool, ReadBufferSizesAreReused) {
  Chunk* a = Chunk::make(64 * 1024);
  a->data()[0] = 'x';
  a->unref();
  Chunk* b = Chunk::make(64 * 1024);
  EXPECT_EQ(a, b);  // the same memory, its pages already in
  EXPECT_EQ(b->refs(), 1u);
  EXPECT_EQ(b->capacity(), 64u * 1024);
  b->unref();
  Chunk* c = Chunk::make(1024 * 1024);
  EXPECT_NE(c, b);  // another size class
  c->unref();
}

TEST(ChunkPool, BoundedAndOtherSizesAreNotPooled) {
  std::vector<Chunk*> many;
  for (int i = 0; i < 64; ++i) many.push_back(Chunk::make(1024 * 1024));
  std::set<Chunk*> freed(many.begin(), many.end());
  for (Chunk* c : many) c->unref();
  // Up to 32 MiB of them stay pooled (about the first 32 freed) and come back first.
  std::vector<Chunk*> again;
  for (int i = 0; i < 30; ++i) {
    again.push_back(Chunk::make(1024 * 1024));
    EXPECT_TRUE(freed.count(again.back())) << i;
  }
  for (Chunk* c : again) c->unref();
  Slice s = Slice::copy_of("odd size");
  EXPECT_EQ(s.view(), "odd size");
}

TEST(ChunkPool, MakeAtLeastRoundsBatchBuffersToPooledSizes) {
  Chunk* small = Chunk::make_at_least(1000);
  EXPECT_EQ(small->capacity(), 1000u);  // below 16 KiB: exact, plain malloc
  small->unref();
  Chunk* a = Chunk::make_at_least(100'000);
  EXPECT_EQ(a->capacity(), 128u * 1024);
  a->unref();
  Chunk* b = Chunk::make_at_least(70'000);
  EXPECT_EQ(b, a);  // reused from the pool
  b->unref();
  Chunk* mid = Chunk::make_at_least(20'000);
  EXPECT_EQ(mid->capacity(), 64u * 1024);  // at least the smallest class
  mid->unref();
  Chunk* big = Chunk::make_at_least(3u << 20);
  EXPECT_EQ(big->capacity(), 3u << 20);  // above 1 MiB: exact
  big->unref();
}

}  // namespace
}  // namespace ingestor
