// The file channel's durable pieces on their own: record format, WAL writer (group commit, short
// writes, failed writes and fsyncs), segment scanner, checkpoint files, replay helpers.
#include "agent/channels/wal.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>

#include "agent/channels/checkpoint.h"
#include "agent/channels/replay.h"
#include "base/fault_fs.h"

namespace ingestor::fc {
namespace {

std::string temp_dir(const std::string& tag) {
  auto d = std::filesystem::temp_directory_path() /
           ("ingestor-" + tag + "-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d.string();
}

std::string put_record(const Batch& b, uint64_t first_seq) {
  std::string r;
  EXPECT_TRUE(encode_put(b, r));
  seal_put(r, first_seq);
  return r;
}

TEST(WalFormat, EventsRoundTripWithHeadersAndDetectFlippedBytes) {
  Batch b;
  b.push_back(Event::of("hello", {{"k", "v"}, {"empty", ""}}));
  b.push_back(Event::of(""));
  std::string r = put_record(b, 7);
  RecordHeader h;
  ASSERT_TRUE(parse_record_header(r.data(), &h));
  EXPECT_EQ(h.type, RecordType::kPut);
  EXPECT_EQ(h.count, 2u);
  EXPECT_EQ(h.first_seq, 7u);
  EXPECT_EQ(h.payload_len, r.size() - kRecordHeaderSize);
  ChunkRef chunk = ChunkRef::adopt(Chunk::make(r.size()));
  std::memcpy(chunk->data(), r.data(), r.size());
  const char* p = chunk->data() + kRecordHeaderSize;
  size_t n1 = event_size_at(p, r.size());
  ASSERT_GT(n1, 0u);
  Event e;
  ASSERT_TRUE(decode_event(p, n1, chunk, &e));
  EXPECT_EQ(e.body.str(), "hello");
  EXPECT_EQ(*e.headers.find("k"), "v");
  EXPECT_EQ(*e.headers.find("empty"), "");
  Event e2;
  size_t n2 = event_size_at(p + n1, r.size());
  ASSERT_TRUE(decode_event(p + n1, n2, chunk, &e2));
  EXPECT_TRUE(e2.body.empty());
  chunk->data()[kRecordHeaderSize + n1 - 2] ^= 0x10;  // flip a bit in "hello"
  EXPECT_FALSE(decode_event(p, n1, chunk, &e));
}

TEST(WalFormat, TakeRecordCarriesRanges) {
  std::string r;
  encode_take({{1, 10}, {20, 5}}, r);
  RecordHeader h;
  ASSERT_TRUE(parse_record_header(r.data(), &h));
  EXPECT_EQ(h.type, RecordType::kTake);
  EXPECT_EQ(h.count, 2u);
}

TEST(Checkpoint, RoundTripsAndRejectsDamage) {
  FaultFs fs;
  std::string dir = temp_dir("ckpt");
  auto none = read_checkpoint(fs, dir);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  Checkpoint c;
  c.log_seg = 3;
  c.log_off = 4096;
  c.next_seq = 99;
  c.queue.push_back(Range{1, 0, 32, 1, 5, 10});
  c.queue.push_back(Range{2, 3, 100, 40, 40, 7});
  ASSERT_TRUE(write_checkpoint(fs, dir, c));
  auto back = read_checkpoint(fs, dir);
  ASSERT_TRUE(back);
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ(**back, c);
  std::string bytes = encode_checkpoint(c);
  for (size_t i = 0; i < bytes.size(); i += 7) {
    std::string bad = bytes;
    bad[i] ^= 0x01;
    EXPECT_FALSE(decode_checkpoint(bad)) << "flip at " << i;
  }
  EXPECT_FALSE(decode_checkpoint(bytes.substr(0, bytes.size() - 1)));
}

TEST(Checkpoint, SeqSetSubtractsTakenIntervals) {
  SeqSet s;
  s.add(10, 5);  // 10..14
  s.add(15, 5);  // merges: 10..19
  s.add(30, 1);
  EXPECT_EQ(s.intervals(), 2u);
  std::deque<Range> out;
  s.subtract(Range{1, 0, 32, 1, 1, 40}, out);  // 1..40
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].lo, 1u);
  EXPECT_EQ(out[0].count, 9u);
  EXPECT_EQ(out[1].lo, 20u);
  EXPECT_EQ(out[1].count, 10u);
  EXPECT_EQ(out[2].lo, 31u);
  EXPECT_EQ(out[2].count, 10u);
  for (const auto& r : out) EXPECT_EQ(r.seq_at_off, 1u);  // read from the start, skip the rest
}

TEST(Checkpoint, AppendRangeMergesConsecutivePuts) {
  std::deque<Range> q;
  append_range(q, Range{1, 0, 32, 1, 1, 10});
  append_range(q, Range{1, 0, 500, 11, 11, 5});
  append_range(q, Range{2, 0, 32, 16, 16, 5});   // another segment
  append_range(q, Range{2, 0, 300, 30, 30, 5});  // a gap in sequence numbers
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[0].count, 15u);
}

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = temp_dir("wal"); }
  WalOptions opts(uint64_t max = 1 << 20) { return WalOptions{{dir_}, max, true, {}}; }
  // Submits and waits.
  Status write(Wal& w, std::string rec, uint32_t* seg = nullptr, uint64_t* off = nullptr) {
    std::promise<Status> p;
    w.submit(std::move(rec), [&](Status s, uint32_t sg, uint64_t o) {
      if (seg) *seg = sg;
      if (off) *off = o;
      p.set_value(std::move(s));
    });
    return p.get_future().get();
  }
  std::vector<RecordHeader> scan(FaultFs& fs, uint32_t id, int* corrupt = nullptr) {
    std::vector<RecordHeader> out;
    auto sc = SegmentScanner::open(fs, dir_ + "/" + segment_name(id), id);
    EXPECT_TRUE(sc);
    if (!sc) return out;
    for (;;) {
      auto o = (*sc)->next();
      EXPECT_TRUE(o);
      if (*o == SegmentScanner::Outcome::kEnd) break;
      if (*o == SegmentScanner::Outcome::kCorrupt) {
        if (corrupt) ++*corrupt;
        break;
      }
      out.push_back((*sc)->header());
    }
    return out;
  }
  std::string dir_;
};

TEST_F(WalTest, ShortWritesAreCompleted) {
  FaultFs fs;
  Wal w(fs, opts());
  ASSERT_TRUE(w.start(1, nullptr));
  Batch b{Event::of(std::string(1000, 'x'))};
  fs.short_next_write(17);
  ASSERT_TRUE(write(w, put_record(b, 1)));
  ASSERT_TRUE(write(w, put_record(b, 2)));
  w.stop(true);
  auto recs = scan(fs, 1);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].first_seq, 2u);
}

TEST_F(WalTest, FailedFsyncFailsTheGroupAndMovesToANewSegment) {
  FaultFs fs;
  Wal w(fs, opts());
  ASSERT_TRUE(w.start(1, nullptr));
  Batch b{Event::of("abc")};
  ASSERT_TRUE(write(w, put_record(b, 1)));
  fs.fail_next_syncs(1);
  auto s = write(w, put_record(b, 2));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kIo);
  uint32_t seg = 0;
  ASSERT_TRUE(write(w, put_record(b, 3), &seg));
  EXPECT_EQ(seg, 2u);
  w.stop(true);
  // The failed record was cut off; segment 1 ends cleanly after record 1.
  int corrupt = 0;
  auto recs = scan(fs, 1, &corrupt);
  EXPECT_EQ(corrupt, 0);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(scan(fs, 2).size(), 1u);
}

TEST_F(WalTest, FailedWriteFailsTheCommit) {
  FaultFs fs;
  Wal w(fs, opts());
  ASSERT_TRUE(w.start(1, nullptr));
  fs.fail_next_writes(1);
  EXPECT_FALSE(write(w, put_record({Event::of("a")}, 1)));
  EXPECT_TRUE(write(w, put_record({Event::of("b")}, 2)));
}

TEST_F(WalTest, RollsSegmentsAtMaxFileSize) {
  FaultFs fs;
  Wal w(fs, opts(4096));
  ASSERT_TRUE(w.start(1, nullptr));
  uint32_t seg = 0;
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(write(w, put_record({Event::of(std::string(900, 'a'))}, i + 1), &seg));
  EXPECT_GE(seg, 5u);
  w.stop(true);
  auto list = list_segments(fs, {dir_});
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), seg);
  for (const auto& s : *list)
    EXPECT_LE(std::filesystem::file_size(s.path), 4096u + 1000u) << s.path;
}

TEST_F(WalTest, ConcurrentCommitsShareFsyncs) {
  FaultFs fs;
  fs.set_sync_delay(std::chrono::milliseconds(3));
  Wal w(fs, opts(64 << 20));
  ASSERT_TRUE(w.start(1, nullptr));
  const int64_t base = fs.syncs();
  constexpr int kThreads = 8, kEach = 25;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        ASSERT_TRUE(write(w, put_record({Event::of("x")}, 1 + t * kEach + i)));
    });
  for (auto& t : ts) t.join();
  const int64_t syncs = fs.syncs() - base;
  EXPECT_LT(syncs, kThreads * kEach / 2) << "group commit should share fsyncs";
  EXPECT_GT(syncs, 0);
}

// Waits up to 10 s for cond(); false on timeout.
template <class F>
bool eventually(F cond) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

struct Async {
  std::promise<Status> p;
  std::future<Status> f = p.get_future();
  Wal::Done done() {
    return [this](Status s, uint32_t, uint64_t) { p.set_value(std::move(s)); };
  }
  bool ready() { return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }
};

TEST_F(WalTest, TheNextGroupIsWrittenWhileTheLastIsBeingSynced) {
  FaultFs fs;
  fs.set_sync_delay(std::chrono::milliseconds(300));
  Wal w(fs, opts());
  ASSERT_TRUE(w.start(1, nullptr));
  const int64_t writes = fs.writes();
  Async a, b;
  w.submit(put_record({Event::of("a")}, 1), a.done());
  ASSERT_TRUE(eventually([&] { return fs.writes() > writes; }));
  w.submit(put_record({Event::of("b")}, 2), b.done());
  // b reaches the file while a's fsync is still running, and neither is acknowledged before
  // an fsync that began after it was written.
  ASSERT_TRUE(eventually([&] { return fs.writes() > writes + 1; }));
  EXPECT_FALSE(a.ready());
  EXPECT_TRUE(a.f.get());
  EXPECT_TRUE(b.f.get());
  EXPECT_GE(fs.syncs(), 2);
}

TEST_F(WalTest, AFailedFsyncFailsTheGroupsWrittenDuringIt) {
  FaultFs fs;
  fs.set_sync_delay(std::chrono::milliseconds(200));
  Wal w(fs, opts());
  ASSERT_TRUE(w.start(1, nullptr));
  ASSERT_TRUE(write(w, put_record({Event::of("kept")}, 1)));
  fs.fail_next_syncs(1);
  const int64_t writes = fs.writes();
  Async a, b;
  w.submit(put_record({Event::of("a")}, 2), a.done());
  ASSERT_TRUE(eventually([&] { return fs.writes() > writes; }));
  w.submit(put_record({Event::of("b")}, 3), b.done());
  // The fsync covering a fails; b, written to the same segment meanwhile, cannot be trusted to
  // a later fsync of it (the failed one may have dropped its pages): both fail.
  EXPECT_FALSE(a.f.get());
  EXPECT_FALSE(b.f.get());
  uint32_t seg = 0;
  ASSERT_TRUE(write(w, put_record({Event::of("c")}, 4), &seg));
  EXPECT_EQ(seg, 2u);
  w.stop(true);
  int corrupt = 0;
  auto recs = scan(fs, 1, &corrupt);  // cut back to the last good record
  EXPECT_EQ(corrupt, 0);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].first_seq, 1u);
  ASSERT_EQ(scan(fs, 2).size(), 1u);
}

TEST_F(WalTest, ScannerStopsAtTornTail) {
  FaultFs fs;
  {
    Wal w(fs, opts());
    ASSERT_TRUE(w.start(1, nullptr));
    ASSERT_TRUE(write(w, put_record({Event::of("one")}, 1)));
    ASSERT_TRUE(write(w, put_record({Event::of("two")}, 2)));
    w.stop(true);
  }
  std::string path = dir_ + "/" + segment_name(1);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 3);
  int corrupt = 0;
  EXPECT_EQ(scan(fs, 1, &corrupt).size(), 1u);
  EXPECT_EQ(corrupt, 1);
}

}  // namespace
}  // namespace ingestor::fc
