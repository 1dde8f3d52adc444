// Model-based test of FileChannel: random put / take / commit / rollback / checkpoint / crash /
// power cut / reopen sequences, compared after every step with an in-memory model of what the
// channel promises (committed puts in order; an uncommitted take returns to the head; the
// position updates of committed puts, of two sources, some without events, applied in order).
#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <map>
#include <random>

#include "agent/channels/file_channel.h"
#include "base/fault_fs.h"

namespace ingestor {
namespace {

namespace stdfs = std::filesystem;

class Model {
 public:
  std::deque<std::string> queue;                 // committed, not taken (head first)
  std::vector<std::string> taking;               // held by the open take transaction
  std::map<std::string, PositionMap> positions;  // committed, by source
  // Events of the open take go back to the head (rollback, or a crash before the commit).
  void give_back() {
    queue.insert(queue.begin(), taking.begin(), taking.end());
    taking.clear();
  }
};

struct Params {
  uint32_t seed;
  int steps;
  bool fsync;
};

class FileChannelModel : public ::testing::TestWithParam<Params> {};

TEST_P(FileChannelModel, RandomOperationsMatchTheModel) {
  const Params prm = GetParam();
  // tmpfs when there is one: the test is about logic, not the disk's fsync latency.
  stdfs::path base =
      stdfs::exists("/dev/shm") ? stdfs::path("/dev/shm") : stdfs::temp_directory_path();
  const std::string dir =
      (base / ("ingestor-fcmodel-" + std::to_string(::getpid()) + "-" + std::to_string(prm.seed)))
          .string();
  stdfs::remove_all(dir);
  FaultFs fs;
  fs.set_free_space(uint64_t{10} << 30);
  FileChannelOptions o;
  o.checkpoint_dir = dir + "/ckpt";
  o.data_dirs = {dir + "/d1", dir + "/d2"};
  o.capacity = 300;
  o.transaction_capacity = 40;
  o.max_file_size = 6000;  // many segments: rolls and deletions
  o.minimum_required_space = 1 << 20;
  o.fsync_per_transaction = prm.fsync;
  o.checkpoint_interval = std::chrono::hours(1);  // checkpoints come from the test
  o.space_check_interval = std::chrono::milliseconds(0);

  std::mt19937 rng(prm.seed);
  auto rnd = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  Model m;
  uint64_t next_id = 0;
  auto ch = std::make_unique<FileChannel>("c1", o, fs);
  ASSERT_TRUE(ch->start());
  Tx take_tx;  // at most one open take transaction

  auto body_of = [&](uint64_t id) {
    std::string b = "id" + std::to_string(id) + ":";
    b.append(static_cast<size_t>(rnd(4) == 0 ? rnd(1500) : rnd(40)),
             static_cast<char>('a' + id % 26));
    return b;
  };
  // Takes everything in one transaction, compares with the model, rolls back.
  auto check_all = [&](const char* when, int step) {
    if (take_tx.open()) return;
    ASSERT_EQ(ch->size(), m.queue.size()) << when << " at step " << step;
    Tx tx = ch->begin();
    std::vector<std::string> got;
    while (got.size() < m.queue.size()) {
      size_t before = tx.taken().size();
      auto n = tx.take(o.transaction_capacity);
      ASSERT_TRUE(n);
      if (*n == 0) break;
      for (size_t i = before; i < tx.taken().size(); ++i) got.push_back(tx.taken()[i].body.str());
      if (tx.taken().size() >= static_cast<size_t>(o.transaction_capacity)) {
        tx.rollback();
        // Compare what we have so far and stop (the rest was compared by size).
        break;
      }
    }
    if (tx.open()) tx.rollback();
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], m.queue[i]) << when << " at step " << step << ", event " << i;
  };

  for (int step = 0; step < prm.steps; ++step) {
    int op = rnd(100);
    if (op < 35) {  // put and commit (or roll back), half of them with a position update
      Tx tx = ch->begin();
      Batch b;
      std::vector<std::string> bodies;
      const bool with_pos = rnd(2) == 0;
      const std::string source = rnd(2) == 0 ? "s1" : "s2";
      PositionUpdate update;
      if (with_pos) {
        for (int i = 0, k = 1 + rnd(3); i < k; ++i)  // set or erase (empty value) a few keys
          update.emplace_back("k" + std::to_string(rnd(5)),
                              rnd(4) == 0 ? "" : std::to_string(next_id));
      }
      const int n = with_pos && rnd(5) == 0 ? 0 : 1 + rnd(10);  // 0: the update alone
      for (int i = 0; i < n; ++i) {
        bodies.push_back(body_of(next_id++));
        b.push_back(Event::of(bodies.back()));
      }
      if (n > 0) {
        ASSERT_TRUE(tx.put(b));
      }
      if (with_pos) tx.set_position(source, update);
      if (rnd(8) == 0) {
        tx.rollback();
        continue;
      }
      auto s = tx.commit();
      if (m.queue.size() + m.taking.size() + bodies.size() > static_cast<size_t>(o.capacity) &&
          !s) {
        ASSERT_EQ(s.error().code, Errc::kChannelFull);
        tx.rollback();
        continue;
      }
      ASSERT_TRUE(s) << s.error().message << " at step " << step;
      for (auto& x : bodies) m.queue.push_back(x);
      if (with_pos) apply_position_update(m.positions[source], update);
    } else if (op < 60) {  // take into the open take transaction
      if (!take_tx.open()) take_tx = ch->begin();
      size_t before = take_tx.taken().size();
      size_t room = o.transaction_capacity - before;
      if (room == 0) continue;
      auto n = take_tx.take(1 + rnd(static_cast<int>(room)));
      ASSERT_TRUE(n);
      for (size_t i = before; i < take_tx.taken().size(); ++i) {
        ASSERT_FALSE(m.queue.empty()) << "took more than the model holds at step " << step;
        ASSERT_EQ(take_tx.taken()[i].body.str(), m.queue.front()) << "step " << step;
        m.taking.push_back(m.queue.front());
        m.queue.pop_front();
      }
    } else if (op < 75) {  // commit the take
      if (!take_tx.open()) continue;
      ASSERT_TRUE(take_tx.commit()) << "step " << step;
      m.taking.clear();
    } else if (op < 82) {  // roll back the take
      if (!take_tx.open()) continue;
      take_tx.rollback();
      m.give_back();
    } else if (op < 87) {
      ASSERT_TRUE(ch->checkpoint_for_test());
    } else if (op < 94) {  // crash (optionally with a power cut) and reopen
      const bool power_cut = prm.fsync && rnd(2) == 0;
      ch->crash_for_test();
      if (take_tx.open()) take_tx.rollback();  // the process died: its memory is gone
      take_tx = Tx();
      m.give_back();
      if (power_cut) fs.power_cut();
      ch = std::make_unique<FileChannel>("c1", o, fs);
      ASSERT_TRUE(ch->start()) << "step " << step;
      ASSERT_FALSE(ch->unhealthy()) << "step " << step;
      check_all("after crash", step);
    } else if (op < 97) {  // clean stop and reopen
      if (take_tx.open()) {
        take_tx.rollback();
        m.give_back();
      }
      take_tx = Tx();
      ch->stop();
      ch = std::make_unique<FileChannel>("c1", o, fs);
      ASSERT_TRUE(ch->start());
      check_all("after restart", step);
    } else {
      check_all("check", step);
    }
    ASSERT_EQ(ch->size(), m.queue.size()) << "step " << step;
    for (const char* source : {"s1", "s2"}) {
      auto it = m.positions.find(source);
      ASSERT_EQ(ch->committed_positions(source),
                it == m.positions.end() ? std::nullopt : std::optional<PositionMap>(it->second))
          << source << " at step " << step;
    }
    if (HasFatalFailure()) return;
  }
  if (take_tx.open()) {
    take_tx.rollback();
    m.give_back();
  }
  take_tx = Tx();
  check_all("end", prm.steps);
  // Everything consumed: after a checkpoint only the newest segments remain.
  while (m.queue.size() > 0) {
    Tx tx = ch->begin();
    auto n = tx.take(o.transaction_capacity);
    ASSERT_TRUE(n);
    ASSERT_TRUE(tx.commit());
    for (size_t i = 0; i < *n; ++i) m.queue.pop_front();
  }
  ASSERT_TRUE(ch->checkpoint_for_test());
  size_t segs = 0;
  for (const auto& d : o.data_dirs)
    for (const auto& e : stdfs::directory_iterator(d))
      if (e.path().filename().string().rfind("log-", 0) == 0) ++segs;
  EXPECT_LE(segs, 2u);
  ch->stop();
  stdfs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Seeds, FileChannelModel,
                         ::testing::Values(Params{1, 2500, true}, Params{2, 2500, true},
                                           Params{3, 2500, false}, Params{42, 2500, true}),
                         [](const auto& info) {
                           return "seed" + std::to_string(info.param.seed) +
                                  (info.param.fsync ? "_fsync" : "_nofsync");
                         });

}  // namespace
}  // namespace ingestor
