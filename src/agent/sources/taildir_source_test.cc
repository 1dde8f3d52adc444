// TaildirSource over a real MemoryChannel, process() driven by the test (no thread): the checklist
// of Flume's TestTaildirSource / TestTaildirEventReader (reference/flume-components.md 1.1), then
// what Flume gets wrong and we do not (rotation without duplicates, positions with the events).
#include "agent/sources/taildir_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "agent/channels/memory_channel.h"
#include "agent/sources/taildir_position_file.h"

namespace ingestor {
namespace {

namespace fs = std::filesystem;

TaildirGroup group(std::string name, const fs::path& dir, std::string_view regex,
                   std::vector<std::pair<std::string, std::string>> headers = {}) {
  auto re = Regex::compile(regex, "test");
  EXPECT_TRUE(re);
  return {std::move(name), dir.string(), std::move(*re), std::move(headers)};
}

uint64_t inode_of(const fs::path& p) {
  struct stat st;
  EXPECT_EQ(::stat(p.c_str(), &st), 0);
  return st.st_ino;
}

void set_mtime(const fs::path& p, int64_t sec) {
  struct timespec ts[2] = {{sec, 0}, {sec, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), ts, 0), 0);
}

class Taildir : public testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / ("taildir-" + std::to_string(getpid()) + "-" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "logs");
    MemoryChannelOptions o;
    o.capacity = 100000;
    o.transaction_capacity = 1000;
    ch_ = std::make_unique<MemoryChannel>("c1", o);
    proc_ = std::make_shared<ChannelProcessor>(std::vector<std::unique_ptr<Interceptor>>{},
                                               ChannelSelector{{ch_.get()}, {}, nullptr});
  }
  void TearDown() override {
    src_.reset();
    fs::remove_all(dir_);
  }

  TaildirOptions options() {
    TaildirOptions o;
    o.groups.push_back(group("g", dir_ / "logs", ".*"));
    o.position_file = (dir_ / "pos.json").string();
    o.idle_timeout = std::chrono::hours(1);
    o.use_inotify = false;
    return o;
  }
  TaildirSource& start(TaildirOptions o) {
    src_.reset();
    src_ = std::make_unique<TaildirSource>("r1", proc_, std::move(o));
    Status s = src_->prepare();
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return *src_;
  }
  void write(const std::string& name, std::string_view text, bool append = true) {
    std::ofstream f(dir_ / "logs" / name, append ? std::ios::app : std::ios::trunc);
    f << text;
  }
  // Every event in the channel, taken and committed.
  Batch drain() {
    Batch out;
    for (;;) {
      Tx tx = ch_->begin();
      auto n = tx.take(1000);
      EXPECT_TRUE(n);
      for (const auto& e : tx.taken()) out.push_back(e);
      EXPECT_TRUE(tx.commit());
      if (!n || *n == 0) return out;
    }
  }
  std::vector<std::string> bodies() {
    std::vector<std::string> v;
    for (const auto& e : drain()) v.push_back(e.body.str());
    return v;
  }
  std::string position_file() {
    std::ifstream in(dir_ / "pos.json");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  using V = std::vector<std::string>;

  fs::path dir_;
  std::unique_ptr<MemoryChannel> ch_;
  std::shared_ptr<ChannelProcessor> proc_;
  std::unique_ptr<TaildirSource> src_;
};

TEST_F(Taildir, RegexFileNameFiltering) {
  fs::create_directories(dir_ / "logs" / "sub.log");  // directories never match
  for (const char* f : {"a.log", "a.log.1", "b.log", "c.log.2024-01-01", "c.log.2024-01-02"})
    write(f, std::string(f) + "\n");
  TaildirOptions o = options();
  o.groups.clear();
  o.groups.push_back(group("ab", dir_ / "logs", "[ab].log"));
  o.groups.push_back(group("c", dir_ / "logs", "c.log.*"));
  start(std::move(o)).process();
  V got = bodies();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (V{"a.log", "b.log", "c.log.2024-01-01", "c.log.2024-01-02"}));
}

TEST_F(Taildir, HeaderMappingAndFileHeader) {
  fs::create_directories(dir_ / "f2");
  fs::create_directories(dir_ / "f3");
  write("f1.log", "x\n");
  std::ofstream(dir_ / "f2" / "f2.log") << "y\n";
  std::ofstream(dir_ / "f3" / "f3.log") << "z\n";
  TaildirOptions o = options();
  o.groups.clear();
  o.groups.push_back(group("f1", dir_ / "logs", "f1.log", {{"headerKeyTest", "value1"}}));
  o.groups.push_back(group("f2", dir_ / "f2", "f2.log",
                           {{"headerKeyTest", "value2"}, {"headerKeyTest2", "value2-2"}}));
  o.groups.push_back(group("f3", dir_ / "f3", "f3.log"));
  o.file_header = true;
  o.file_header_key = "path";
  start(std::move(o)).process();
  Batch got = drain();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].headers,
            (Headers{{"headerKeyTest", "value1"}, {"path", (dir_ / "logs" / "f1.log").string()}}));
  EXPECT_EQ(got[1].headers, (Headers{{"headerKeyTest", "value2"},
                                     {"headerKeyTest2", "value2-2"},
                                     {"path", (dir_ / "f2" / "f2.log").string()}}));
  EXPECT_EQ(got[2].headers, (Headers{{"path", (dir_ / "f3" / "f3.log").string()}}));
}

TEST_F(Taildir, FilesAreConsumedOldestFirst) {
  write("a", "a1\n");
  write("b", "b1\n");
  write("c", "c1\n");
  set_mtime(dir_ / "logs" / "a", 3000);
  set_mtime(dir_ / "logs" / "b", 1000);
  set_mtime(dir_ / "logs" / "c", 2000);
  TaildirSource& s = start(options());
  s.process();
  EXPECT_EQ(bodies(), (V{"b1", "c1", "a1"}));
  write("a", "a2\n");
  write("b", "b2\n");
  set_mtime(dir_ / "logs" / "a", 4000);
  set_mtime(dir_ / "logs" / "b", 5000);  // touched: now last
  s.process();
  EXPECT_EQ(bodies(), (V{"a2", "b2"}));
}

TEST_F(Taildir, MaxBatchCountInterleavesFilesAndStatus) {
  write("a", "a1\na2\na3\na4\na5\n");
  write("b", "b1\nb2\nb3\n");
  set_mtime(dir_ / "logs" / "a", 1000);
  set_mtime(dir_ / "logs" / "b", 2000);
  TaildirOptions o = options();
  o.batch_size = 1;
  o.max_batch_count = 2;
  TaildirSource& s = start(std::move(o));
  EXPECT_EQ(s.process(), PollStatus::kReady);
  EXPECT_EQ(bodies(), (V{"a1", "a2", "b1", "b2"}));
  EXPECT_EQ(s.process(), PollStatus::kReady);
  EXPECT_EQ(bodies(), (V{"a3", "a4", "b3"}));
  EXPECT_EQ(s.process(), PollStatus::kBackoff);
  EXPECT_EQ(bodies(), (V{"a5"}));
  EXPECT_EQ(s.process(), PollStatus::kBackoff);
  EXPECT_TRUE(bodies().empty());
}

TEST_F(Taildir, UnterminatedLineWaitsThenGoesAtIdle) {
  write("f", "file1line1\nfile1");
  TaildirSource& s = start(options());
  s.process();
  EXPECT_EQ(bodies(), (V{"file1line1"}));
  write("f", "line2\nfile1line3\nfile1line4");
  s.process();
  EXPECT_EQ(bodies(), (V{"file1line2", "file1line3"}));
  s.process();
  EXPECT_TRUE(bodies().empty());
  s.check_idle_now();
  s.process();
  EXPECT_EQ(bodies(), (V{"file1line4"}));
  EXPECT_EQ(s.files().open_files(), 0u);  // closed when idle
  write("f", "\nmore\n");                 // reopened when it grows
  s.process();
  EXPECT_EQ(bodies(), (V{"", "more"}));
}

TEST_F(Taildir, NewLineBoundariesAndByteOffsets) {
  write("f", "file1line1\r\nfile1line2\rfile1line2\nfile1line3\n");
  TaildirOptions o = options();
  o.byte_offset_header = true;
  start(std::move(o)).process();
  Batch got = drain();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].body.str(), "file1line1");
  EXPECT_EQ(got[1].body.str(), "file1line2\rfile1line2");
  EXPECT_EQ(got[2].body.str(), "file1line3");
  EXPECT_EQ(*got[0].headers.find("byteoffset"), "0");
  EXPECT_EQ(*got[1].headers.find("byteoffset"), "12");
  EXPECT_EQ(*got[2].headers.find("byteoffset"), "34");
}

TEST_F(Taildir, ResumesAtFlumesPositionsAndWritesFlumesFormat) {
  write("a.log", "a1\na2\na3\n");
  write("b.log", "b1\n");
  write("c.log", "c1\nc2\n");
  const auto a = inode_of(dir_ / "logs" / "a.log"), b = inode_of(dir_ / "logs" / "b.log");
  // As Flume 1.11 wrote it: a at its 2nd line, b past its end (-> 0), an entry of a missing file.
  std::ofstream(dir_ / "pos.json")
      << "[{\"inode\":" << a << ",\"pos\":3,\"file\":\"" << (dir_ / "logs" / "a.log").string()
      << "\"},{\"inode\":" << b << ",\"pos\":99,\"file\":\"" << (dir_ / "logs" / "b.log").string()
      << "\"},{\"inode\":1,\"pos\":5,\"file\":\"/nowhere/x.log\"}]";
  TaildirSource& s = start(options());
  s.process();
  V got = bodies();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (V{"a2", "a3", "b1", "c1", "c2"}));
  const auto pm = read_taildir_positions(position_file());
  ASSERT_TRUE(pm) << position_file();
  EXPECT_EQ(pm->size(), 3u);  // the missing file's entry is gone
  EXPECT_EQ(pm->at(std::to_string(a)),
            taildir_position_value(9, (dir_ / "logs" / "a.log").string()));
  EXPECT_EQ(position_file().find('\n'), std::string::npos);
}

TEST_F(Taildir, SkipToEndOnlyForFilesWithoutPosition) {
  write("old", "o1\n");
  TaildirOptions o = options();
  o.skip_to_end = true;
  TaildirSource& s = start(std::move(o));
  s.process();
  EXPECT_TRUE(bodies().empty());
  write("old", "o2\n");
  write("new", "n1\n");  // found later: from 0
  s.process();
  V got = bodies();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (V{"n1", "o2"}));
}

TEST_F(Taildir, EmptyAndDeletedFiles) {
  write("empty", "");
  write("gone", "g1\n");
  TaildirSource& s = start(options());
  s.process();
  EXPECT_EQ(bodies(), (V{"g1"}));
  write("gone", "g2\nlast");
  fs::remove(dir_ / "logs" / "gone");  // still open: read to its end, then dropped
  s.process();
  EXPECT_EQ(bodies(), (V{"g2", "last"}));
  s.process();
  EXPECT_EQ(s.files().tracked(), 1u);
  EXPECT_EQ(position_file().find("gone"), std::string::npos) << position_file();
}

TEST_F(Taildir, RenameRotationReadsTheOldFileToItsEndAndTheNewFromZero) {
  TaildirOptions o = options();
  o.groups.clear();
  o.groups.push_back(group("g", dir_ / "logs", "app\\.log"));
  write("app.log", "1\n2\n");
  TaildirSource& s = start(std::move(o));
  s.process();
  EXPECT_EQ(bodies(), (V{"1", "2"}));
  write("app.log", "3\n4");  // written before the rename
  fs::rename(dir_ / "logs" / "app.log", dir_ / "logs" / "app.log.1");
  write("app.log", "5\n");
  write("app.log.1", "\n");  // the old writer finishes its line after the rename
  s.process();
  EXPECT_EQ(bodies(), (V{"3", "4", "5"}));
  s.check_idle_now();
  s.process();
  EXPECT_TRUE(bodies().empty());
  EXPECT_EQ(s.files().tracked(), 1u);  // the rotated file is dropped once idle
  EXPECT_EQ(position_file().find("app.log.1"), std::string::npos) << position_file();
}

TEST_F(Taildir, RenameToAnotherMatchingNameKeepsThePosition) {
  write("app.log", "1\n");
  TaildirSource& s = start(options());  // ".*" matches app.log.1 too
  s.process();
  EXPECT_EQ(bodies(), (V{"1"}));
  fs::rename(dir_ / "logs" / "app.log", dir_ / "logs" / "app.log.1");
  write("app.log", "2\n");
  s.process();
  EXPECT_EQ(bodies(), (V{"2"}));  // Flume would send "1" again (FLUME-3233)
}

TEST_F(Taildir, CopyTruncateStartsAgainAtZero) {
  write("app.log", "1\n2\n");
  TaildirSource& s = start(options());
  s.process();
  EXPECT_EQ(bodies(), (V{"1", "2"}));
  fs::resize_file(dir_ / "logs" / "app.log", 0);
  write("app.log", "3\n");
  s.process();
  EXPECT_EQ(bodies(), (V{"3"}));
}

TEST_F(Taildir, RestartFindsAFileRenamedWhileStopped) {
  TaildirOptions o = options();
  o.groups.clear();
  o.groups.push_back(group("g", dir_ / "logs", "app\\.log"));
  write("app.log", "1\n");
  start(std::move(o)).process();
  EXPECT_EQ(bodies(), (V{"1"}));
  src_->stop();
  write("app.log", "2\n");
  fs::rename(dir_ / "logs" / "app.log", dir_ / "logs" / "app.log.1");
  write("app.log", "3\n");
  TaildirOptions o2 = options();
  o2.groups.clear();
  o2.groups.push_back(group("g", dir_ / "logs", "app\\.log"));
  start(std::move(o2)).process();
  EXPECT_EQ(bodies(), (V{"2", "3"}));
}

// A stop (or kill -9) while a file renamed away is still being read to its end: its committed
// entry already carries the new name, which the pattern does not match. The restart reads it on
// from there (it used to drop the entry as a missing file, losing the rest: the taildir -> S3
// kill -9 test found it).
TEST_F(Taildir, RestartReadsOnARenamedFileItWasStillReading) {
  auto app_log_only = [&] {
    TaildirOptions o = options();
    o.groups.clear();
    o.groups.push_back(group("g", dir_ / "logs", "app\\.log"));
    o.batch_size = 1;
    o.max_batch_count = 1;
    return o;
  };
  write("app.log", "1\n");
  set_mtime(dir_ / "logs" / "app.log", 1000);
  start(app_log_only()).process();
  EXPECT_EQ(bodies(), (V{"1"}));
  write("app.log", "2\n3\n");
  set_mtime(dir_ / "logs" / "app.log", 1000);  // older than the new app.log: read first
  fs::rename(dir_ / "logs" / "app.log", dir_ / "logs" / "app.log.1");
  write("app.log", "4\n");
  src_->process();
  EXPECT_EQ(bodies(), (V{"2", "4"}));  // one batch of each: "3" is still to be read
  src_->stop();
  ASSERT_NE(position_file().find("app.log.1"), std::string::npos) << position_file();
  start(app_log_only()).process();
  EXPECT_EQ(bodies(), (V{"3"}));
  // Once idle it is dropped as before: no entry, nothing read twice.
  src_->check_idle_now();
  src_->process();
  EXPECT_TRUE(bodies().empty());
  EXPECT_EQ(position_file().find("app.log.1"), std::string::npos) << position_file();
}

// An entry of a rotated file that is now shorter than its position (the name's inode was reused
// by another file) is not read: the file it named is gone.
TEST_F(Taildir, RestartDropsAnUnmatchedEntryWhoseInodeNowHoldsAShorterFile) {
  write("other", "x\n");
  const uint64_t ino = inode_of(dir_ / "logs" / "other");
  {
    std::ofstream f(dir_ / "pos.json");
    f << "[{\"inode\":" << ino << ",\"pos\":100,\"file\":\""
      << (dir_ / "logs" / "app.log.1").string() << "\"}]";
  }
  TaildirOptions o = options();
  o.groups.clear();
  o.groups.push_back(group("g", dir_ / "logs", "app\\.log"));
  start(std::move(o)).process();
  EXPECT_TRUE(bodies().empty());
  EXPECT_EQ(src_->files().tracked(), 0u);
}

TEST_F(Taildir, AFullChannelIsRetriedWithoutLossOrDuplicate) {
  MemoryChannelOptions small;
  small.capacity = 5;
  small.transaction_capacity = 5;
  ch_ = std::make_unique<MemoryChannel>("c1", small);
  proc_ = std::make_shared<ChannelProcessor>(std::vector<std::unique_ptr<Interceptor>>{},
                                             ChannelSelector{{ch_.get()}, {}, nullptr});
  std::string text;
  for (int i = 0; i < 40; ++i) text += "l" + std::to_string(i) + "\n";
  write("f", text);
  TaildirOptions o = options();
  o.max_backoff = std::chrono::milliseconds(20);
  TaildirSource& s = start(std::move(o));
  V got;
  std::thread taker([&] {
    while (s.counters().channel_write_fail.get() == 0) std::this_thread::yield();
    while (got.size() < 40) {
      for (auto& b : bodies()) got.push_back(b);
      std::this_thread::yield();
    }
  });
  s.process();
  taker.join();
  ASSERT_EQ(got.size(), 40u);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(got[i], "l" + std::to_string(i));
  EXPECT_GT(s.counters().channel_write_fail.get(), 0);
}

TEST_F(Taildir, MalformedPositionFileStopsTheStart) {
  write("f", "x\n");
  std::ofstream(dir_ / "pos.json") << "[{\"inode\":1,";
  auto s = std::make_unique<TaildirSource>("r1", proc_, options());
  Status st = s->prepare();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find((dir_ / "pos.json").string()), std::string::npos)
      << st.error().message;
  EXPECT_TRUE(bodies().empty());
}

TEST_F(Taildir, LongLinesAndManyFilesShareReadBuffers) {
  const std::string big(TaildirFiles::kChunk * 3 + 17, 'x');
  write("big", "a\n" + big + "\nb\n");
  for (int i = 0; i < 300; ++i) write("small" + std::to_string(i), "s\n");
  TaildirSource& s = start(options());
  s.process();
  Batch got = drain();
  ASSERT_EQ(got.size(), 303u);
  std::set<const Chunk*> chunks;
  size_t bigs = 0;
  for (const auto& e : got) {
    chunks.insert(e.body.chunk().get());
    bigs += e.body.view() == big;
  }
  EXPECT_EQ(bigs, 1u);
  EXPECT_LE(chunks.size(), 4u);  // not one buffer per file
}

TEST_F(Taildir, InotifyWakesTheSource) {
  TaildirOptions o = options();
  o.use_inotify = true;
  TaildirSource& s = start(std::move(o));
  ASSERT_TRUE(s.files().inotify_active());
  write("f", "x\n");
  struct pollfd pfd = {s.files().wait_fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 5000), 1);
  s.process();
  EXPECT_EQ(bodies(), (V{"x"}));
}

}  // namespace
}  // namespace ingestor
