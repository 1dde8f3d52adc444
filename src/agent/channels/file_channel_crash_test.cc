// Crash test of positions in the file channel (DESIGN.md guarantee 8): a child process plays a
// resumable source, putting batches of numbered lines with the position after each batch, and is
// killed with SIGKILL at random moments (during puts, group commits, checkpoints, segment rolls
// and deletions, start-up replay). After each kill the parent reopens the channel and checks
// that the committed position and the committed events never disagree: the events of the round
// are exactly the lines between the previous position and the committed one (none lost, none
// twice, none past it), and the child resumes from that position.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "agent/channels/file_channel.h"

namespace ingestor {
namespace {

namespace stdfs = std::filesystem;

constexpr char kSource[] = "tail";

// The input: lines 1, 2, 3, ...; a batch starting at line `s` holds lines_in(s) lines and is
// dropped whole by the interceptors when dropped(s) (then the update commits alone).
uint64_t mix(uint64_t s) {
  s ^= s >> 33;
  s *= 0xff51afd7ed558ccdULL;
  s ^= s >> 33;
  return s;
}
uint64_t lines_in(uint64_t s) { return 1 + mix(s) % 40; }
bool dropped(uint64_t s) { return mix(s) % 7 == 0; }

uint64_t number(std::string_view v) {
  uint64_t n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n);
  return n;
}

FileChannelOptions options(const std::string& dir) {
  FileChannelOptions o;
  o.checkpoint_dir = dir + "/checkpoint";
  o.data_dirs = {dir + "/data"};
  o.capacity = 10000000;
  o.transaction_capacity = 100;
  o.minimum_required_space = 0;
  o.max_file_size = 64 * 1024;                            // rolls often
  o.checkpoint_interval = std::chrono::milliseconds(15);  // checkpoints (and deletions) often
  return o;
}

// The child: resumes after the committed position and puts batches until it is killed.
[[noreturn]] void run_source(const std::string& dir, int ready_fd) {
  FileChannel ch("c1", options(dir));
  if (!ch.start()) _exit(2);
  uint64_t next = 1;
  if (auto m = ch.committed_positions(kSource)) {
    auto it = m->find("offset");
    if (it == m->end()) _exit(3);
    next = number(it->second) + 1;
  }
  char one = 1;
  if (::write(ready_fd, &one, 1) != 1) _exit(4);
  for (;;) {
    const uint64_t m = lines_in(next);
    Tx tx = ch.begin();
    if (!dropped(next)) {
      Batch b;
      for (uint64_t i = next; i < next + m; ++i)
        b.push_back(Event::of("line " + std::to_string(i)));
      if (!tx.put(b)) _exit(5);
    }
    tx.set_position(kSource,
                    {{"offset", std::to_string(next + m - 1)}, {"start", std::to_string(next)}});
    if (!tx.commit()) _exit(6);
    next += m;
  }
}

class FileChannelCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (stdfs::temp_directory_path() / ("ingestor-fccrash-" + std::to_string(::getpid())))
               .string();
    stdfs::remove_all(dir_);
    stdfs::create_directories(dir_);
  }
  void TearDown() override { stdfs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(FileChannelCrashTest, SigkillNeverSeparatesEventsFromTheirPosition) {
  std::mt19937 rng(std::random_device{}());
  uint64_t offset = 0;  // the position verified so far (last line read)
  int killed_while_putting = 0;
  constexpr int kKills = 40;
  for (int round = 0; round < kKills; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      run_source(dir_, fds[1]);
    }
    ::close(fds[1]);
    // Most kills land while the source puts (after a random delay); some during start-up.
    const bool early = round % 6 == 5;
    if (!early) {
      pollfd p{fds[0], POLLIN, 0};
      ASSERT_EQ(::poll(&p, 1, 20000), 1) << "the child did not start";
      char c;
      ASSERT_EQ(::read(fds[0], &c, 1), 1) << "the child failed before putting";
      std::this_thread::sleep_for(
          std::chrono::microseconds(std::uniform_int_distribution<int>(2000, 60000)(rng)));
    } else {
      std::this_thread::sleep_for(
          std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(rng)));
    }
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ::close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child exited by itself with " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1);

    // Reopen; the position must be exactly where the committed events end.
    FileChannel ch("c1", options(dir_));
    ASSERT_TRUE(ch.start());
    auto map = ch.committed_positions(kSource);
    uint64_t committed = offset;
    if (map) {
      ASSERT_TRUE(map->contains("offset") && map->contains("start"));
      committed = number(map->at("offset"));
      ASSERT_EQ(map->size(), 2u);
    } else {
      ASSERT_EQ(offset, 0u) << "positions lost after round " << round;
    }
    ASSERT_GE(committed, offset) << "the position went back";
    std::vector<std::string> got;
    for (;;) {
      Tx tx = ch.begin();
      auto n = tx.take(100);
      ASSERT_TRUE(n);
      if (*n == 0) break;
      for (const auto& e : tx.taken()) got.push_back(e.body.str());
      ASSERT_TRUE(tx.commit());
    }
    // The lines the source read between the two positions, without the dropped batches.
    std::vector<std::string> want;
    uint64_t s = offset + 1, last_start = 0;
    while (s <= committed) {
      const uint64_t m = lines_in(s);
      if (!dropped(s))
        for (uint64_t i = s; i < s + m; ++i) want.push_back("line " + std::to_string(i));
      last_start = s;
      s += m;
    }
    ASSERT_EQ(s, committed + 1) << "the position is not at a batch boundary";
    if (committed > offset) {
      ++killed_while_putting;
      EXPECT_EQ(number(map->at("start")), last_start);
    }
    ASSERT_EQ(got, want) << "events and position disagree after kill " << round << " (position "
                         << offset << " -> " << committed << ")";
    offset = committed;
    if (round % 2 == 0)
      ch.stop();  // a checkpoint on close
    else
      ch.crash_for_test();  // the next start replays the take records
  }
  EXPECT_GT(offset, 0u);
  RecordProperty("lines_read", std::to_string(offset));
  RecordProperty("kills_while_putting", killed_while_putting);
  std::printf("%d kills, %d while putting, %llu lines read\n", kKills, killed_while_putting,
              static_cast<unsigned long long>(offset));
  EXPECT_GE(killed_while_putting, kKills / 2) << "the kills did not land while putting";
}

}  // namespace
}  // namespace ingestor
