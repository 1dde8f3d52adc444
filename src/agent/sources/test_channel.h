#pragma once
// For the sources' unit tests: a started MemoryChannel (no byte limit) with a ChannelProcessor
// that puts into it (no interceptors), and drain(), which takes everything it holds.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "agent/channels/memory_channel.h"
#include "core/channel_processor.h"

namespace ingestor {

struct TestChannel {
  TestChannel(int64_t capacity, int64_t transaction_capacity) {
    MemoryChannelOptions co;
    co.capacity = capacity;
    co.transaction_capacity = transaction_capacity;
    co.byte_capacity = 0;
    channel = std::make_unique<MemoryChannel>("c1", co);
    EXPECT_TRUE(channel->start());
    ChannelSelector sel;
    sel.required.push_back(channel.get());
    processor = std::make_shared<ChannelProcessor>(std::vector<std::unique_ptr<Interceptor>>{},
                                                   std::move(sel));
  }

  // Takes every event, one transaction at a time, appending the bodies to `bodies`; returns how
  // many. Fails the test when an event has headers.
  size_t drain(std::vector<std::string>& bodies) {
    size_t total = 0;
    for (;;) {
      Tx tx = channel->begin();
      EXPECT_TRUE(tx.take(channel->transaction_capacity()));
      for (const auto& e : tx.taken()) {
        bodies.push_back(e.body.str());
        EXPECT_TRUE(e.headers.empty());
      }
      const size_t n = tx.taken().size();
      EXPECT_TRUE(tx.commit());
      if (n == 0) return total;
      total += n;
    }
  }

  std::unique_ptr<MemoryChannel> channel;
  std::shared_ptr<ChannelProcessor> processor;
};

}  // namespace ingestor
