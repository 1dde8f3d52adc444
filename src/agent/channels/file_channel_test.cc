// FileChannel: Flume's file-channel checklist (flume.md section 9), crash and fault injection
// through FaultFs, locks, disk space, group commit and segment cleanup.
#include "agent/channels/file_channel.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "agent/channels/channel_test_util.h"
#include "agent/channels/wal.h"
#include "base/fault_fs.h"

namespace ingestor {
namespace {

namespace stdfs = std::filesystem;

class FileChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::per_test_dir("fc");
    fs_.set_free_space(uint64_t{10} << 30);
  }
  FileChannelOptions opts() { return test::file_channel_options(dir_); }
  std::unique_ptr<FileChannel> open(FileChannelOptions o) {
    auto ch = std::make_unique<FileChannel>("c1", std::move(o), fs_);
    auto s = ch->start();
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return ch;
  }
  std::unique_ptr<FileChannel> open() { return open(opts()); }

  static Status put(Channel& ch, std::vector<std::string> bodies) {
    return test::put_bodies(ch, std::move(bodies));
  }
  static std::vector<std::string> take(Channel& ch, size_t max, bool commit = true) {
    return test::take_bodies(ch, max, commit);
  }
  std::vector<std::string> segments() {
    std::vector<std::string> out;
    for (const auto& e : stdfs::directory_iterator(dir_ + "/data"))
      if (e.path().filename().string().rfind("log-", 0) == 0) out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string last_segment() {
    auto l = fc::list_segments(fs_, {dir_ + "/data"});
    return l->back().path;
  }

  FaultFs fs_;
  std::string dir_;
};

std::vector<std::string> seq(int from, int to) {
  std::vector<std::string> v;
  for (int i = from; i < to; ++i) v.push_back("e" + std::to_string(i));
  return v;
}

TEST_F(FileChannelTest, PutTakeRoundTripKeepsHeadersAndOrder) {
  auto ch = open();
  Tx tx = ch->begin();
  Batch b;
  b.push_back(Event::of("a", {{"k", ""}, {"h", "v"}}));  // Flume stores a null value as ""
  b.push_back(Event::of(""));
  ASSERT_TRUE(tx.put(b));
  EXPECT_EQ(ch->size(), 0u);  // not visible before commit
  ASSERT_TRUE(tx.commit());
  EXPECT_EQ(ch->size(), 2u);
  Tx t2 = ch->begin();
  ASSERT_EQ(*t2.take(10), 2u);
  EXPECT_EQ(t2.taken()[0].body.str(), "a");
  EXPECT_EQ(*t2.taken()[0].headers.find("k"), "");
  EXPECT_EQ(*t2.taken()[0].headers.find("h"), "v");
  EXPECT_TRUE(t2.taken()[1].body.empty());
  ASSERT_TRUE(t2.commit());
  EXPECT_EQ(ch->size(), 0u);
}

TEST_F(FileChannelTest, CommittedPutsSurviveRestartAndCrash) {
  {
    auto ch = open();
    ASSERT_TRUE(put(*ch, seq(0, 10)));
    ch->stop();  // clean: checkpoint on close
  }
  {
    auto ch = open();
    EXPECT_EQ(ch->size(), 10u);
    ASSERT_TRUE(put(*ch, seq(10, 20)));
    ch->crash_for_test();  // no checkpoint: replay
  }
  auto ch = open();
  EXPECT_EQ(take(*ch, 100), seq(0, 20));
}

TEST_F(FileChannelTest, TransactionCrossingACheckpointSurvives) {
  auto ch = open();
  ASSERT_TRUE(put(*ch, seq(0, 3)));
  Tx tx = ch->begin();
  Batch b{Event::of("late")};
  ASSERT_TRUE(tx.put(b));
  ASSERT_TRUE(ch->checkpoint_for_test());
  ASSERT_TRUE(tx.commit());
  ch->crash_for_test();
  ch = open();
  EXPECT_EQ(take(*ch, 100), (std::vector<std::string>{"e0", "e1", "e2", "late"}));
}

TEST_F(FileChannelTest, UncommittedTakeIsRedeliveredCommittedTakeIsNot) {
  auto ch = open();
  ASSERT_TRUE(put(*ch, seq(0, 10)));
  EXPECT_EQ(take(*ch, 3), seq(0, 3));  // committed
  {
    Tx open_take = ch->begin();
    ASSERT_EQ(*open_take.take(4), 4u);
    ASSERT_TRUE(ch->checkpoint_for_test());  // the checkpoint sees the take in flight
    ch->crash_for_test();
  }
  ch = open();
  EXPECT_EQ(take(*ch, 100), seq(3, 10));
}

TEST_F(FileChannelTest, TakeCommittedAfterCheckpointIsNotRedelivered) {
  auto ch = open();
  ASSERT_TRUE(put(*ch, seq(0, 10)));
  Tx tx = ch->begin();
  ASSERT_EQ(*tx.take(4), 4u);
  ASSERT_TRUE(ch->checkpoint_for_test());
  ASSERT_TRUE(tx.commit());
  ch->crash_for_test();
  ch = open();
  EXPECT_EQ(take(*ch, 100), seq(4, 10));
}

TEST_F(FileChannelTest, RolledBackTakesReturnToTheHeadInOrder) {
  auto ch = open();
  ASSERT_TRUE(put(*ch, seq(0, 5)));
  ASSERT_TRUE(put(*ch, seq(5, 10)));
  EXPECT_EQ(take(*ch, 7, /*commit=*/false), seq(0, 7));
  EXPECT_EQ(ch->size(), 10u);
  EXPECT_EQ(take(*ch, 2), seq(0, 2));
  EXPECT_EQ(take(*ch, 100), seq(2, 10));
}

TEST_F(FileChannelTest, RolledBackPutsAreHandedBack) {
  auto ch = open();
  Tx tx = ch->begin();
  Batch b{Event::of("x"), Event::of("y")};
  ASSERT_TRUE(tx.put(b));
  Batch back;
  tx.rollback(&back);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].body.str(), "y");
  EXPECT_EQ(ch->size(), 0u);
}

TEST_F(FileChannelTest, CapacityIsEnforcedAtCommitAndTransactionCapacityAtPut) {
  auto o = opts();
  o.capacity = 5;
  o.transaction_capacity = 3;
  auto ch = open(o);
  ASSERT_TRUE(put(*ch, {"1", "2", "3"}));
  Tx tx = ch->begin();
  Batch b{Event::of("4"), Event::of("5"), Event::of("6")};
  ASSERT_TRUE(tx.put(b));
  auto s = tx.commit();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kChannelFull);
  EXPECT_NE(s.error().message.find("reached it's capacity"), std::string::npos);
  EXPECT_TRUE(tx.open());  // may be retried after a take
  EXPECT_EQ(take(*ch, 1), std::vector<std::string>{"1"});
  ASSERT_TRUE(tx.commit());
  Tx t2 = ch->begin();
  Batch four{Event::of("a"), Event::of("b"), Event::of("c"), Event::of("d")};
  auto p = t2.put(four);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("Put queue for FileBackedTransaction of capacity 3 full"),
            std::string::npos);
}

TEST_F(FileChannelTest, OptionsKeepFlumeDefaultsAndFallbacks) {
  Diagnostics d;
  Context ctx{{"capacity", "-5"}, {"checkpointDir", "/x/c"}, {"dataDirs", "/x/d1, /x/d2"}};
  auto s = Settings::validate(file_channel_spec(), ctx, "channel", "c1", "a1.channels.c1.", d);
  auto o = file_channel_options(s, d, "c1");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->capacity, 1000000);  // negative falls back to the default, with a warning
  EXPECT_EQ(d.size(), 1u);
  EXPECT_EQ(o->transaction_capacity, 10000);
  EXPECT_EQ(o->checkpoint_interval, std::chrono::milliseconds(30000));
  EXPECT_EQ(o->max_file_size, 2146435071);
  EXPECT_EQ(o->minimum_required_space, 524288000);
  EXPECT_EQ(o->keep_alive, std::chrono::seconds(3));
  EXPECT_TRUE(o->checkpoint_on_close);
  EXPECT_TRUE(o->fsync_per_transaction);
  EXPECT_EQ(o->fsync_interval, std::chrono::seconds(5));
  EXPECT_EQ(o->data_dirs, (std::vector<std::string>{"/x/d1", "/x/d2"}));
  Diagnostics d2;
  Context dual{{"useDualCheckpoints", "true"}, {"checkpointDir", "/x/c"}, {"dataDirs", "/x/d"}};
  auto s2 = Settings::validate(file_channel_spec(), dual, "channel", "c1", "a1.channels.c1.", d2);
  auto o2 = file_channel_options(s2, d2, "c1");
  ASSERT_FALSE(o2);
  EXPECT_NE(o2.error().message.find("backupCheckpointDir"), std::string::npos);
}

TEST_F(FileChannelTest, TwoChannelsCannotLockTheSameDirectories) {
  auto ch = open();
  FileChannel second("c2", opts(), fs_);
  auto s = second.start();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kConflict);
  EXPECT_NE(s.error().message.find("Cannot lock " + dir_ + "/checkpoint"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("already locked"), std::string::npos);
  ch->stop();
  EXPECT_TRUE(second.start());  // free again once the first one stopped
}

TEST_F(FileChannelTest, LowDiskSpaceRefusesPutsAndRecovers) {
  auto ch = open();
  ASSERT_TRUE(put(*ch, {"before"}));
  fs_.set_free_space(1000);
  Tx tx = ch->begin();
  Batch b{Event::of("during")};
  ASSERT_TRUE(tx.put(b));
  auto s = tx.commit();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kChannelFull);
  EXPECT_EQ(s.error().message,
            "Usable space exhausted, only 1000 bytes remaining, required 1048576 bytes");
  EXPECT_EQ(take(*ch, 10), std::vector<std::string>{"before"});  // takes still drain
  fs_.set_free_space(uint64_t{2} << 30);
  ASSERT_TRUE(tx.commit());  // the same transaction succeeds once space is back
  EXPECT_EQ(take(*ch, 10), std::vector<std::string>{"during"});
}

TEST_F(FileChannelTest, FreeSpaceReadingIsLoweredByEachPutUntilTheNextReading) {
  // A burst of commits between two readings must not write past the reserve into ENOSPC.
  auto o = opts();
  o.space_check_interval = std::chrono::hours(1);
  fs_.set_free_space((1 << 20) + 250'000);
  auto ch = open(o);
  ASSERT_TRUE(ch->checkpoint_for_test());  // the start-up one; the next is 30 s away
  const std::string big(100'000, 'x');
  ASSERT_TRUE(put(*ch, {big}));  // 1 MiB + 250 kB -> 1 MiB + ~150 kB
  ASSERT_TRUE(put(*ch, {big}));  // -> 1 MiB + ~50 kB
  ASSERT_TRUE(put(*ch, {big}));  // -> 1 MiB - ~50 kB
  auto s = put(*ch, {big});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kChannelFull);
  EXPECT_EQ(s.error().message.rfind("Usable space exhausted, only ", 0), 0u) << s.error().message;
  EXPECT_EQ(ch->put_errors(), 1);
  EXPECT_EQ(take(*ch, 10).size(), 3u);  // takes go on
}

TEST_F(FileChannelTest, LowSpaceRollsADrainedCurrentSegmentSoTheCheckpointDeletesIt) {
  // maxFileSize is Flume's default: everything is in the current segment.
  auto ch = open();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(put(*ch, {std::string(1000, 'a' + i)}));
  ASSERT_EQ(segments().size(), 1u);
  const std::string first = segments()[0];
  EXPECT_EQ(take(*ch, 7).size(), 7u);
  fs_.set_free_space(1000);
  ASSERT_TRUE(ch->checkpoint_for_test());
  EXPECT_EQ(segments(), std::vector<std::string>{first});  // 3 events still live in it
  auto rest = take(*ch, 10);
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0], std::string(1000, 'h'));
  ASSERT_TRUE(ch->checkpoint_for_test());
  auto left = segments();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_NE(left[0], first);  // rolled and deleted: the space is back
  fs_.set_free_space(uint64_t{2} << 30);
  ASSERT_TRUE(put(*ch, {"after"}));
  ch->crash_for_test();
  ch = open();
  EXPECT_EQ(take(*ch, 10), std::vector<std::string>{"after"});
}

TEST_F(FileChannelTest, ConcurrentCommittersShareFsyncs) {
  auto ch = open();
  ASSERT_TRUE(ch->checkpoint_for_test());
  fs_.set_sync_delay(std::chrono::milliseconds(2));
  const int64_t before = fs_.syncs();
  constexpr int kThreads = 2, kEach = 40;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) ASSERT_TRUE(put(*ch, {"x"}));
    });
  for (auto& t : ts) t.join();
  const int64_t syncs = fs_.syncs() - before;
  EXPECT_LT(syncs, kThreads * kEach * 3 / 4) << "two committers should share fsyncs";
  EXPECT_EQ(ch->size(), static_cast<size_t>(kThreads * kEach));
}

TEST_F(FileChannelTest, CommitAsyncCompletesOnTheLogsThreadWhenDurable) {
  auto ch = open();
  Tx tx = ch->begin();
  Batch b{Event::of("async")};
  ASSERT_TRUE(tx.put(b));
  std::promise<std::pair<Status, std::thread::id>> p;
  tx.commit_async([&](Status s) { p.set_value({std::move(s), std::this_thread::get_id()}); });
  auto [s, tid] = p.get_future().get();
  EXPECT_TRUE(s);
  EXPECT_NE(tid, std::this_thread::get_id());
  EXPECT_FALSE(tx.open());
  ch->crash_for_test();
  fs_.power_cut();  // what was acknowledged was fsynced
  ch = open();
  EXPECT_EQ(take(*ch, 10), std::vector<std::string>{"async"});
}

TEST_F(FileChannelTest, FailedFsyncFailsTheCommitAndARetryIsStoredOnce) {
  auto ch = open();
  ASSERT_TRUE(put(*ch, {"a"}));
  Tx tx = ch->begin();
  Batch b{Event::of("b")};
  ASSERT_TRUE(tx.put(b));
  fs_.fail_next_syncs(1, "/log-");  // the log segment, not a checkpoint written meanwhile
  auto s = tx.commit();
  ASSERT_FALSE(s);
  EXPECT_EQ(ch->put_errors(), 1);
  ASSERT_TRUE(tx.commit());
  ASSERT_TRUE(put(*ch, {"c"}));
  ch->crash_for_test();
  fs_.power_cut();
  ch = open();
  EXPECT_EQ(take(*ch, 10), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(ch->unhealthy());
}

TEST_F(FileChannelTest, ShortAndFailedWritesLoseNothingAcknowledged) {
  auto ch = open();
  // The start-up checkpoint first: run concurrently, its write could take the injected failure.
  ASSERT_TRUE(ch->checkpoint_for_test());
  fs_.short_next_write(5);
  ASSERT_TRUE(put(*ch, {"one", "two"}));
  fs_.fail_next_writes(1);
  EXPECT_FALSE(put(*ch, {"lost-not-acked"}));
  ASSERT_TRUE(put(*ch, {"three"}));
  ch->crash_for_test();
  ch = open();
  EXPECT_EQ(take(*ch, 10), (std::vector<std::string>{"one", "two", "three"}));
}

TEST_F(FileChannelTest, PowerCutDropsOnlyUnsyncedDataWhenFsyncIsOff) {
  auto o = opts();
  o.fsync_per_transaction = false;
  o.fsync_interval = std::chrono::hours(1);
  auto ch = open(o);
  ASSERT_TRUE(ch->checkpoint_for_test());
  ASSERT_TRUE(put(*ch, seq(0, 5)));
  ASSERT_TRUE(ch->checkpoint_for_test());  // syncs the log
  ASSERT_TRUE(put(*ch, seq(5, 10)));       // written, not synced
  ch->crash_for_test();
  fs_.power_cut();
  ch = open(o);
  EXPECT_EQ(take(*ch, 100), seq(0, 5));
  EXPECT_FALSE(ch->unhealthy());
}

TEST_F(FileChannelTest, TornTailIsTruncatedAtTheLastGoodRecord) {
  auto ch = open();
  ASSERT_TRUE(ch->checkpoint_for_test());
  ASSERT_TRUE(put(*ch, {"a"}));
  ASSERT_TRUE(put(*ch, {"b"}));
  ch->crash_for_test();
  const std::string seg = last_segment();
  const auto good = stdfs::file_size(seg);
  {
    std::ofstream f(seg, std::ios::app | std::ios::binary);
    std::string torn(30, '\0');
    torn[4] = 100;  // a record header claiming more bytes than follow
    torn[8] = 1;
    f << torn;
  }
  ch = open();
  EXPECT_EQ(stdfs::file_size(seg), good);
  EXPECT_FALSE(ch->unhealthy());  // a torn tail is expected after a crash
  ASSERT_TRUE(put(*ch, {"c"}));
  EXPECT_EQ(take(*ch, 10), (std::vector<std::string>{"a", "b", "c"}));
}

void flip_byte_of(const std::string& path, const std::string& needle) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto pos = data.find(needle);
  ASSERT_NE(pos, std::string::npos);
  f.seekp(static_cast<std::streamoff>(pos));
  f.put(static_cast<char>(data[pos] ^ 0x20));
}

TEST_F(FileChannelTest, FlippedByteInTheMiddleIsReportedAndSkippedAtReplay) {
  auto ch = open();
  ASSERT_TRUE(ch->checkpoint_for_test());
  ASSERT_TRUE(put(*ch, {"first"}));
  ASSERT_TRUE(put(*ch, {"middle"}));
  ASSERT_TRUE(put(*ch, {"last"}));
  ch->crash_for_test();
  flip_byte_of(last_segment(), "middle");
  ch = open();
  EXPECT_TRUE(ch->unhealthy());
  EXPECT_EQ(ch->corrupt_count(), 1);
  EXPECT_EQ(take(*ch, 10), (std::vector<std::string>{"first", "last"}));
  MetricList m;
  ch->collect_metrics(m);
  auto find = [&](const std::string& k) {
    for (auto& [n, v] : m)
      if (n == k) return v;
    return std::string("<missing>");
  };
  EXPECT_EQ(find("Unhealthy"), "1");
  EXPECT_EQ(find("Open"), "true");
  EXPECT_EQ(find("EventPutErrorCount"), "0");
  EXPECT_EQ(find("EventTakeErrorCount"), "0");
  EXPECT_EQ(find("CheckpointWriteErrorCount"), "0");
  EXPECT_EQ(find("CheckpointBackupWriteErrorCount"), "0");
  ASSERT_TRUE(put(*ch, {"after"}));  // the channel keeps working
  EXPECT_EQ(take(*ch, 10), std::vector<std::string>{"after"});
}

TEST_F(FileChannelTest, FlippedByteBeforeTheCheckpointIsCaughtWhenTaken) {
  auto ch = open();
  ASSERT_TRUE(put(*ch, {"first", "middle", "last"}));
  ch->stop();  // checkpoint: replay will not read the record again
  flip_byte_of(last_segment(), "middle");
  ch = open();
  EXPECT_FALSE(ch->unhealthy());
  EXPECT_EQ(take(*ch, 10), (std::vector<std::string>{"first", "last"}));
  EXPECT_TRUE(ch->unhealthy());
  EXPECT_EQ(ch->size(), 0u);
}

TEST_F(FileChannelTest, DualCheckpointsRecoverFromALostPrimary) {
  auto o = opts();
  o.use_dual_checkpoints = true;
  o.backup_checkpoint_dir = dir_ + "/backup";
  auto ch = open(o);
  ASSERT_TRUE(put(*ch, seq(0, 5)));
  EXPECT_EQ(take(*ch, 2), seq(0, 2));
  ch->stop();
  {
    std::ofstream f(dir_ + "/checkpoint/checkpoint", std::ios::trunc);
    f << "garbage";
  }
  ch = open(o);
  EXPECT_EQ(take(*ch, 100), seq(2, 5));
}

TEST_F(FileChannelTest, ConsumedSegmentsAreDeletedAfterACheckpoint) {
  auto o = opts();
  o.max_file_size = 4096;
  auto ch = open(o);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(put(*ch, {std::string(500, 'a' + i % 26)}));
  const size_t full = segments().size();
  EXPECT_GE(full, 5u);
  ASSERT_TRUE(ch->checkpoint_for_test());
  EXPECT_EQ(segments().size(), full);  // nothing consumed yet: nothing deleted
  EXPECT_EQ(take(*ch, 30).size(), 30u);
  ASSERT_TRUE(ch->checkpoint_for_test());
  const size_t after = segments().size();
  EXPECT_LT(after, full);
  ch->crash_for_test();
  ch = open(o);
  auto rest = take(*ch, 100);
  ASSERT_EQ(rest.size(), 10u);
  EXPECT_EQ(rest[0], std::string(500, 'a' + 30 % 26));
  ASSERT_TRUE(ch->checkpoint_for_test());
  EXPECT_LE(segments().size(), 2u);
}

TEST_F(FileChannelTest, QueueMemoryIsRangesNotEvents) {
  auto ch = open();
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(put(*ch, {"e" + std::to_string(i)}));
  EXPECT_EQ(ch->size(), 200u);
  EXPECT_EQ(ch->queue_ranges_for_test(), 1u);  // 200 commits merged into one range
  ch->crash_for_test();
  ch = open();
  EXPECT_EQ(ch->queue_ranges_for_test(), 1u);
  EXPECT_EQ(take(*ch, 100).size(), 100u);
}

TEST_F(FileChannelTest, StoppedChannelRefusesCommits) {
  auto ch = open();
  Tx tx = ch->begin();
  Batch b{Event::of("x")};
  ASSERT_TRUE(tx.put(b));
  ch->stop();
  auto s = tx.commit();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kChannelClosed);
}

}  // namespace
}  // namespace ingestor
