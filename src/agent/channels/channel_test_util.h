#pragma once
// Helpers shared by the channel tests (header-only, tests only): a directory per test, the small
// file channel options the tests start from, and put/take of bodies in one transaction.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "agent/channels/file_channel_options.h"
#include "core/channel.h"

namespace ingestor::test {

// An empty directory named after `tag`, the process and the running test.
inline std::string per_test_dir(std::string_view tag) {
  auto d = std::filesystem::temp_directory_path() /
           ("ingestor-" + std::string(tag) + "-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d.string();
}

// A file channel in `dir`/checkpoint and `dir`/data: capacity 1000, transactions of 100, 1 MiB
// of required space, free space read at every put.
inline FileChannelOptions file_channel_options(const std::string& dir) {
  FileChannelOptions o;
  o.checkpoint_dir = dir + "/checkpoint";
  o.data_dirs = {dir + "/data"};
  o.capacity = 1000;
  o.transaction_capacity = 100;
  o.minimum_required_space = 1 << 20;
  o.space_check_interval = std::chrono::milliseconds(0);
  return o;
}

// Puts `bodies` in one transaction and commits it.
inline Status put_bodies(Channel& ch, std::vector<std::string> bodies) {
  Tx tx = ch.begin();
  Batch b;
  for (auto& s : bodies) b.push_back(Event::of(s));
  if (auto s = tx.put(b); !s) return s;
  return tx.commit();
}

// Takes up to `max` events in one transaction, committed (or rolled back), and returns the bodies.
inline std::vector<std::string> take_bodies(Channel& ch, size_t max, bool commit = true) {
  Tx tx = ch.begin();
  auto n = tx.take(max);
  EXPECT_TRUE(n);
  std::vector<std::string> out;
  for (const auto& e : tx.taken()) out.push_back(e.body.str());
  if (commit) {
    EXPECT_TRUE(tx.commit());
  } else {
    tx.rollback();
  }
  return out;
}

}  // namespace ingestor::test
