#include "core/ring_queue.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <string>

namespace ingestor {
namespace {

TEST(RingQueue, MatchesDequeUnderRandomOperations) {
  RingQueue<std::string> q;
  std::deque<std::string> model;
  std::mt19937 rng(7);
  for (int step = 0; step < 200000; ++step) {
    int op = rng() % 10;
    if (op < 5) {
      std::string v = std::to_string(step);
      model.push_back(v);
      q.push_back(std::move(v));
    } else if (op < 6) {
      std::string v = "f" + std::to_string(step);
      model.push_front(v);
      q.push_front(std::move(v));
    } else if (!model.empty()) {
      ASSERT_EQ(q.front(), model.front());
      q.pop_front();
      model.pop_front();
    }
    ASSERT_EQ(q.size(), model.size());
  }
  while (!model.empty()) {
    ASSERT_EQ(q.front(), model.front());
    q.pop_front();
    model.pop_front();
  }
  EXPECT_TRUE(q.empty());
}

TEST(RingQueue, ShrinksWhenMostlyEmpty) {
  RingQueue<int> q;
  for (int i = 0; i < 100000; ++i) q.push_back(int(i));
  size_t big = q.capacity();
  while (q.size() > 10) q.pop_front();
  EXPECT_LT(q.capacity(), big / 8);
  EXPECT_EQ(q.front(), 99990);
}

}  // namespace
}  // namespace ingestor
