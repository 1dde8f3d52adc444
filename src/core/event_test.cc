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

}  // namespace
}  // namespace ingestor
