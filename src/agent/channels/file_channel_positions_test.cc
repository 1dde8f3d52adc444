// FileChannel positions (core/source_position.h, DESIGN.md guarantee 8): a source's position
// update commits in the same record as its events; committed_positions() after commits, restarts,
// checkpoints, rollbacks, failures, torn tails; format-1 channels; SourcePositions over the file
// channel, with a batch the interceptors drop entirely.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "agent/channels/channel_test_util.h"
#include "agent/channels/file_channel.h"
#include "agent/channels/file_channel_v1_golden.h"
#include "agent/channels/wal.h"
#include "base/fault_fs.h"
#include "core/channel_processor.h"
#include "core/interceptor.h"
#include "core/source_position.h"

namespace ingestor {
namespace {

namespace stdfs = std::filesystem;

class FileChannelPositionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::per_test_dir("fcpos");
    fs_.set_free_space(uint64_t{10} << 30);
  }
  void TearDown() override { stdfs::remove_all(dir_); }
  FileChannelOptions opts() { return test::file_channel_options(dir_); }
  std::unique_ptr<FileChannel> open(FileChannelOptions o) {
    auto ch = std::make_unique<FileChannel>("c1", std::move(o), fs_);
    auto s = ch->start();
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return ch;
  }
  std::unique_ptr<FileChannel> open() { return open(opts()); }

  // Puts `bodies` with `update` for `source` in one transaction.
  static Status put(Channel& ch, std::vector<std::string> bodies, const std::string& source,
                    PositionUpdate update) {
    Tx tx = ch.begin();
    Batch b;
    for (auto& s : bodies) b.push_back(Event::of(s));
    if (!b.empty())
      if (auto s = tx.put(b); !s) return s;
    tx.set_position(source, std::move(update));
    return tx.commit();
  }
  static std::vector<std::string> take(Channel& ch, size_t max) {
    return test::take_bodies(ch, max);
  }
  std::string last_segment() {
    auto l = fc::list_segments(fs_, {dir_ + "/data"});
    return l->back().path;
  }

  FaultFs fs_;
  std::string dir_;
};

using Map = std::optional<PositionMap>;

TEST_F(FileChannelPositionsTest, CommittedUpdateIsTheSourcesMap) {
  FileChannel unstarted("c0", opts(), fs_);
  EXPECT_TRUE(unstarted.stores_positions());
  EXPECT_EQ(unstarted.committed_positions("src"), std::nullopt);  // before start: nothing

  auto ch = open();
  EXPECT_EQ(ch->committed_positions("src"), std::nullopt);  // never any update
  ASSERT_TRUE(put(*ch, {"a", "b"}, "src", {{"f1", "2"}}));
  EXPECT_EQ(ch->committed_positions("src"), Map(PositionMap{{"f1", "2"}}));
  ASSERT_TRUE(put(*ch, {"c"}, "src", {{"f1", "3"}, {"f2", "1"}}));
  EXPECT_EQ(ch->committed_positions("src"), Map(PositionMap{{"f1", "3"}, {"f2", "1"}}));
  EXPECT_EQ(ch->committed_positions("other"), std::nullopt);
  EXPECT_EQ(take(*ch, 10), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(FileChannelPositionsTest, RolledBackOrFailedTransactionMovesNoPosition) {
  auto ch = open();
  ASSERT_TRUE(put(*ch, {"a"}, "src", {{"f", "1"}}));
  {
    Tx tx = ch->begin();
    Batch b{Event::of("b")};
    ASSERT_TRUE(tx.put(b));
    tx.set_position("src", {{"f", "2"}});
    tx.rollback();
  }
  {
    Tx tx = ch->begin();  // destroyed open: rolled back
    Batch b{Event::of("b")};
    ASSERT_TRUE(tx.put(b));
    tx.set_position("src", {{"f", "2"}});
  }
  EXPECT_EQ(ch->committed_positions("src"), Map(PositionMap{{"f", "1"}}));
  {
    Tx tx = ch->begin();
    Batch b{Event::of("b")};
    ASSERT_TRUE(tx.put(b));
    tx.set_position("src", {{"f", "2"}});
    fs_.fail_next_syncs(1, "/log-");
    ASSERT_FALSE(tx.commit());  // not durable: neither the event nor the position
    EXPECT_EQ(ch->committed_positions("src"), Map(PositionMap{{"f", "1"}}));
    ASSERT_TRUE(tx.commit());  // the retry stores both, once
  }
  EXPECT_EQ(ch->committed_positions("src"), Map(PositionMap{{"f", "2"}}));
  ch->crash_for_test();
  fs_.power_cut();
  ch = open();
  EXPECT_EQ(ch->committed_positions("src"), Map(PositionMap{{"f", "2"}}));
  EXPECT_EQ(take(*ch, 10), (std::vector<std::string>{"a", "b"}));
}

TEST_F(FileChannelPositionsTest, ReplayAfterReopenReturnsTheMap) {
  auto ch = open();
  ASSERT_TRUE(ch->checkpoint_for_test());  // the records below are replayed, not checkpointed
  ASSERT_TRUE(put(*ch, {"a"}, "src", {{"f", "1"}}));
  ASSERT_TRUE(put(*ch, {"b"}, "src", {{"f", "2"}}));
  ch->crash_for_test();
  ch = open();
  EXPECT_EQ(ch->committed_positions("src"), Map(PositionMap{{"f", "2"}}));
  ch->stop();
  ch = open();  // from the checkpoint written on close
  EXPECT_EQ(ch->committed_positions("src"), Map(PositionMap{{"f", "2"}}));
  EXPECT_EQ(take(*ch, 10), (std::vector<std::string>{"a", "b"}));
}

TEST_F(FileChannelPositionsTest, CheckpointKeepsPositionsWhenTheirSegmentsAreDeleted) {
  auto o = opts();
  o.max_file_size = 4096;
  auto ch = open(o);
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE(put(*ch, {std::string(500, 'x')}, "src", {{"f", std::to_string(i)}}));
  ASSERT_TRUE(put(*ch, {}, "quiet", {{"k", "v"}}));  // its only update, in an early segment
  const std::string quiet_seg = last_segment();
  for (int i = 30; i < 40; ++i)
    ASSERT_TRUE(put(*ch, {std::string(500, 'x')}, "src", {{"f", std::to_string(i)}}));
  EXPECT_EQ(take(*ch, 100).size(), 40u);
  ASSERT_TRUE(ch->checkpoint_for_test());
  // The records of the updates are gone with their segments.
  EXPECT_FALSE(stdfs::exists(dir_ + "/data/" + fc::segment_name(1)));
  EXPECT_FALSE(stdfs::exists(quiet_seg));
  ASSERT_TRUE(put(*ch, {"after"}, "src", {{"f", "40"}}));  // after the checkpoint: replayed
  ch->crash_for_test();
  ch = open(o);
  EXPECT_EQ(ch->committed_positions("src"), Map(PositionMap{{"f", "40"}}));
  EXPECT_EQ(ch->committed_positions("quiet"), Map(PositionMap{{"k", "v"}}));
  EXPECT_EQ(take(*ch, 10), (std::vector<std::string>{"after"}));
}

TEST_F(FileChannelPositionsTest, UpdateAloneWithoutEvents) {
  auto ch = open();
  ASSERT_TRUE(put(*ch, {"a"}, "src", {{"f", "1"}}));
  ASSERT_TRUE(put(*ch, {}, "src", {{"f", "5"}}));  // interceptors dropped lines 2..5
  EXPECT_EQ(ch->size(), 1u);
  EXPECT_EQ(ch->committed_positions("src"), Map(PositionMap{{"f", "5"}}));
  ASSERT_TRUE(put(*ch, {"f"}, "src", {{"f", "6"}}));
  EXPECT_EQ(ch->queue_ranges_for_test(), 1u);  // one range reads through the update-only record
  ch->crash_for_test();
  ch = open();
  EXPECT_EQ(ch->committed_positions("src"), Map(PositionMap{{"f", "6"}}));
  EXPECT_EQ(take(*ch, 10), (std::vector<std::string>{"a", "f"}));
  // A transaction with neither events nor update writes nothing.
  const auto before = stdfs::file_size(last_segment());
  Tx empty = ch->begin();
  ASSERT_TRUE(empty.commit());
  EXPECT_EQ(stdfs::file_size(last_segment()), before);
}

TEST_F(FileChannelPositionsTest, TornLastRecordIgnoresItsUpdate) {
  auto ch = open();
  ASSERT_TRUE(ch->checkpoint_for_test());
  ASSERT_TRUE(put(*ch, {"a"}, "src", {{"f", "1"}}));
  const std::string seg = last_segment();
  const auto good = stdfs::file_size(seg);
  ASSERT_TRUE(put(*ch, {"b"}, "src", {{"f", "2"}}));
  ch->crash_for_test();
  // The crash tore the last record: only part of it reached the disk.
  stdfs::resize_file(seg, stdfs::file_size(seg) - 3);
  ch = open();
  EXPECT_EQ(stdfs::file_size(seg), good);
  EXPECT_FALSE(ch->unhealthy());
  EXPECT_EQ(ch->committed_positions("src"), Map(PositionMap{{"f", "1"}}));
  EXPECT_EQ(take(*ch, 10), (std::vector<std::string>{"a"}));
}

TEST_F(FileChannelPositionsTest, TwoSourcesKeepSeparateMapsAndEraseRemovesAKey) {
  auto ch = open();
  ASSERT_TRUE(put(*ch, {"t1"}, "taildir", {{"inode:1", "10 /a"}, {"inode:2", "5 /b"}}));
  ASSERT_TRUE(put(*ch, {"s1"}, "spool", {{"file", "/in/x.log"}}));
  ASSERT_TRUE(put(*ch, {"t2"}, "taildir", {{"inode:1", ""}}));  // /a was removed
  ASSERT_TRUE(put(*ch, {}, "spool", {{"file", ""}}));           // done with x.log
  auto check = [&](FileChannel& c) {
    EXPECT_EQ(c.committed_positions("taildir"), Map(PositionMap{{"inode:2", "5 /b"}}));
    // Every key erased: the source did commit, its map is empty (not nullopt).
    EXPECT_EQ(c.committed_positions("spool"), Map(PositionMap{}));
  };
  check(*ch);
  ch->crash_for_test();
  ch = open();
  check(*ch);
  ASSERT_TRUE(ch->checkpoint_for_test());
  ch->crash_for_test();
  ch = open();
  check(*ch);
}

TEST_F(FileChannelPositionsTest, FormatOneChannelStartsAndMovesToFormatTwo) {
  // A channel written before positions: checkpoint and segment of format 1 (golden bytes).
  stdfs::create_directories(dir_ + "/checkpoint");
  stdfs::create_directories(dir_ + "/data");
  std::ofstream(dir_ + "/checkpoint/checkpoint", std::ios::binary) << fc::golden::kV1Checkpoint;
  std::ofstream(dir_ + "/data/log-1", std::ios::binary) << fc::golden::kV1Segment;
  auto ch = open();
  EXPECT_FALSE(ch->unhealthy());
  EXPECT_EQ(ch->committed_positions("src"), std::nullopt);
  EXPECT_EQ(ch->size(), 4u);
  ASSERT_TRUE(put(*ch, {"f"}, "src", {{"k", "1"}}));
  ch->crash_for_test();
  ch = open();
  EXPECT_EQ(ch->committed_positions("src"), Map(PositionMap{{"k", "1"}}));
  Tx tx = ch->begin();
  ASSERT_EQ(*tx.take(10), 5u);
  std::vector<std::string> got;
  for (const auto& e : tx.taken()) got.push_back(e.body.str());
  EXPECT_EQ(got, (std::vector<std::string>{"b", "c", "d", "e", "f"}));
  ASSERT_NE(tx.taken()[1].headers.find("k"), nullptr);
  EXPECT_EQ(*tx.taken()[1].headers.find("k"), "v");
  ASSERT_TRUE(tx.commit());
}

// Drops every event.
class DropAll : public Interceptor {
 public:
  void intercept(Batch& events) override { events.clear(); }
};

TEST_F(FileChannelPositionsTest, SourcePositionsResumeFromTheFileChannel) {
  const std::string pos_file = dir_ + "/pos/positions";
  {
    auto ch = open();
    ChannelProcessor proc({}, ChannelSelector{{ch.get()}, {}, nullptr});
    SourcePositions pos("r1", proc, pos_file);
    ASSERT_TRUE(pos.in_channel());
    auto start = pos.load();
    ASSERT_TRUE(start);
    EXPECT_FALSE(start->has_value());
    Batch b;
    b.push_back(Event::of("l1"));
    PutProgress p;
    pos.attach(p, {{"f", "3"}});
    ASSERT_TRUE(proc.process(b, p));
    ch->crash_for_test();  // before the informational file was written
  }
  {
    auto ch = open();
    std::vector<std::unique_ptr<Interceptor>> drop;
    drop.push_back(std::make_unique<DropAll>());
    ChannelProcessor proc(std::move(drop), ChannelSelector{{ch.get()}, {}, nullptr});
    SourcePositions pos("r1", proc, pos_file);
    auto start = pos.load();
    ASSERT_TRUE(start);
    EXPECT_EQ(*start, Map(PositionMap{{"f", "3"}}));
    Batch b;
    b.push_back(Event::of("dropped"));
    PutProgress p;
    pos.attach(p, {{"f", "9"}});
    ASSERT_TRUE(proc.process(b, p));  // every event dropped: the position still moves
    ch->crash_for_test();
  }
  auto ch = open();
  EXPECT_EQ(ch->committed_positions("r1"), Map(PositionMap{{"f", "9"}}));
  EXPECT_EQ(take(*ch, 10), (std::vector<std::string>{"l1"}));
}

}  // namespace
}  // namespace ingestor
