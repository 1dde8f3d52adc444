// The spooldir source over a real directory and a MemoryChannel: Flume's TestSpoolDirectorySource
// checklist (flume-components.md 1.2), resuming inside a file, files moved aside, and the parsing
// of its configuration.
#include "agent/sources/spooldir_source.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "agent/channels/memory_channel.h"

namespace ingestor {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

Result<SpoolDirOptions> parse(Context ctx, std::vector<std::string>* warnings = nullptr) {
  Diagnostics d;
  Settings s = Settings::validate(spooldir_source_spec(), ctx, "source", "r1", "", d);
  if (d.has_errors()) return make_error(Errc::kConfig, d.all().front().message);
  return spooldir_source_options(s, warnings);
}

TEST(SpoolDirOptionsTest, FlumeDefaultsAndNames) {
  auto o = parse({{"spoolDir", "/tmp/x/"}});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->spool_dir, "/tmp/x");
  EXPECT_EQ(o->tracker_dir, "/tmp/x/.flumespool");
  EXPECT_EQ(o->position_file(), "/tmp/x/.flumespool/positions");
  EXPECT_EQ(o->file_suffix, ".COMPLETED");
  EXPECT_EQ(o->batch_size, 100u);
  EXPECT_EQ(o->poll_delay, 500ms);
  EXPECT_EQ(o->max_backoff, 4000ms);
  EXPECT_EQ(o->line.max_line_length, 2048u);
  EXPECT_EQ(o->line.policy, DecodeErrorPolicy::kFail);
  EXPECT_EQ(o->deserializer, DeserializerKind::kLine);
  for (const char* order : {"oLdESt", "yoUnGest", "rAnDom"})
    EXPECT_TRUE(parse({{"spoolDir", "/x"}, {"consumeOrder", order}})) << order;
  EXPECT_TRUE(parse({{"spoolDir", "/x"},
                     {"deletePolicy", "IMMEDIATE"},
                     {"trackingPolicy", "Tracker_Dir"},
                     {"decodeErrorPolicy", "replace"},
                     {"trackerDir", "/abs/t"}}));
}

TEST(SpoolDirOptionsTest, ClearErrors) {
  auto msg = [](Context c) {
    auto o = parse(std::move(c));
    return o ? std::string() : o.error().message;
  };
  EXPECT_NE(msg({}).find("spoolDir"), std::string::npos);
  EXPECT_NE(msg({{"spoolDir", "/x"}, {"consumeOrder", "undefined"}}).find("consumeOrder"),
            std::string::npos);
  EXPECT_NE(msg({{"spoolDir", "/x"}, {"deletePolicy", "later"}}).find("NEVER and IMMEDIATE"),
            std::string::npos);
  EXPECT_NE(msg({{"spoolDir", "/x"}, {"trackingPolicy", "x"}}).find("RENAME and TRACKER_DIR"),
            std::string::npos);
  EXPECT_NE(msg({{"spoolDir", "/x"}, {"deserializer", "AVRO"}}).find("not supported"),
            std::string::npos);
  EXPECT_NE(msg({{"spoolDir", "/x"},
                 {"deserializer", "org.apache.flume.serialization.AvroEventDeserializer$Builder"}})
                .find("not supported"),
            std::string::npos);
  EXPECT_NE(msg({{"spoolDir", "/x"}, {"deserializer", "com.example.Mine$Builder"}})
                .find("unknown deserializer"),
            std::string::npos);
  EXPECT_NE(msg({{"spoolDir", "/x"}, {"deserializer", "BLOB"}, {"deserializer.maxBlobLength", "0"}})
                .find("must be greater than zero: 0"),
            std::string::npos);
  EXPECT_NE(msg({{"spoolDir", "/x"}, {"deserializer.maxLinelength", "5"}}).find("maxLinelength"),
            std::string::npos);
  EXPECT_NE(msg({{"spoolDir", "/x"}, {"inputCharset", "EBCDIC"}}).find("inputCharset"),
            std::string::npos);
  EXPECT_NE(msg({{"spoolDir", "/x"}, {"includePattern", "("}}).find("includePattern"),
            std::string::npos);
}

TEST(SpoolDirOptionsTest, DeserializerKeysAndDeprecatedBufferMaxLineLength) {
  std::vector<std::string> warnings;
  auto o = parse({{"spoolDir", "/x"}, {"bufferMaxLineLength", "77"}}, &warnings);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->line.max_line_length, 77u);
  EXPECT_EQ(warnings.size(), 1u);
  o = parse({{"spoolDir", "/x"},
             {"deserializer", "org.apache.flume.sink.solr.morphline.BlobDeserializer$Builder"},
             {"deserializer.maxBlobLength", "10"}});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->deserializer, DeserializerKind::kBlob);
  EXPECT_EQ(o->blob.max_blob_length, 10u);
  o = parse({{"spoolDir", "/x"}, {"deserializer.outputCharset", "ISO-8859-1"}});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->line.output, Charset::kLatin1);
}

class SpoolDirSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/spooldir-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    spool_ = tmpl;
  }
  void TearDown() override {
    if (src_) src_->stop();
    fs::remove_all(spool_);
  }

  Context base(Context extra = {}) {
    Context c{{"spoolDir", spool_}, {"pollDelay", "20"}, {"maxBackoff", "40"}};
    for (auto& [k, v] : extra) c[k] = v;
    return c;
  }

  void start(Context ctx, int64_t capacity = 1000, int64_t tx = 100) {
    auto o = parse(std::move(ctx));
    ASSERT_TRUE(o) << o.error().message;
    if (!channel_) {
      MemoryChannelOptions co;
      co.capacity = capacity;
      co.transaction_capacity = tx;
      co.byte_capacity = 0;
      channel_ = std::make_unique<MemoryChannel>("c1", co);
      ASSERT_TRUE(channel_->start());
    }
    ChannelSelector sel;
    sel.required.push_back(channel_.get());
    auto p = std::make_shared<ChannelProcessor>(std::vector<std::unique_ptr<Interceptor>>{},
                                                std::move(sel));
    src_ = std::make_unique<SpoolDirectorySource>("r1", p, std::move(*o));
    auto st = src_->start();
    ASSERT_TRUE(st) << st.error().message;
  }

  void write(const std::string& name, const std::string& data) {
    std::ofstream(spool_ + "/" + name, std::ios::binary) << data;
  }

  // Takes events until `n` arrived (a deadline fails the test), then checks none follows soon.
  std::vector<Event> take(size_t n, std::chrono::milliseconds quiet = 100ms) {
    std::vector<Event> out;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      Tx tx = channel_->begin();
      EXPECT_TRUE(tx.take(1000));
      out.insert(out.end(), tx.taken().begin(), tx.taken().end());
      EXPECT_TRUE(tx.commit());
      if (out.size() < n) std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(out.size(), n);
    std::this_thread::sleep_for(quiet);
    Tx tx = channel_->begin();
    EXPECT_TRUE(tx.take(1000));
    EXPECT_EQ(tx.taken().size(), 0u) << "more events than expected";
    EXPECT_TRUE(tx.commit());
    return out;
  }

  bool wait(const std::function<bool()>& cond) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!cond()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  static std::vector<std::string> bodies(const std::vector<Event>& ev) {
    std::vector<std::string> out;
    for (auto& e : ev) out.push_back(e.body.str());
    return out;
  }

  bool exists(const std::string& name) { return fs::exists(spool_ + "/" + name); }

  std::string spool_;
  std::unique_ptr<MemoryChannel> channel_;
  std::unique_ptr<SpoolDirectorySource> src_;
};

TEST_F(SpoolDirSourceTest, FlumesEightEventsAndCompletedOnlyAfterCommit) {
  write("file0", "");
  write("file1", "l1\n");
  write("file2", "l1\nl2\n");
  write("file3", "l1\nl2\nl3\n");
  write("emptylineFile", "\n");
  start(base());
  auto ev = take(8);
  EXPECT_TRUE(wait([&] { return src_->files_completed() == 5; }));
  for (auto n : {"file0", "file1", "file2", "file3", "emptylineFile"}) {
    EXPECT_FALSE(exists(n)) << n;
    EXPECT_TRUE(exists(std::string(n) + ".COMPLETED")) << n;
  }
  EXPECT_EQ(src_->counters().event_accepted.get(), 8);
}

TEST_F(SpoolDirSourceTest, DeleteImmediateAndTrackerDirMarkers) {
  write("a", "x\n");
  write("b", "y\n");
  start(base({{"deletePolicy", "immediate"}, {"includePattern", "^b$"}}));
  take(1);
  EXPECT_TRUE(wait([&] { return !exists("b"); }));
  EXPECT_TRUE(exists("a"));
  EXPECT_FALSE(exists("b.COMPLETED"));
  src_->stop();
  start(base({{"trackingPolicy", "tracker_dir"}}));
  take(1);
  EXPECT_TRUE(wait([&] { return exists(".flumespool/a.COMPLETED"); }));
  EXPECT_TRUE(exists("a"));  // not renamed
  src_->stop();
  start(base({{"trackingPolicy", "tracker_dir"}}));  // the marker keeps it from being re-read
  take(0, 200ms);
}

TEST_F(SpoolDirSourceTest, HeadersFileAndBasename) {
  write("f", "x\n");
  start(base({{"fileHeader", "true"}, {"basenameHeader", "true"}, {"basenameHeaderKey", "bn"}}));
  auto ev = take(1);
  ASSERT_EQ(ev.size(), 1u);
  ASSERT_TRUE(ev[0].headers.find("file"));
  EXPECT_EQ(*ev[0].headers.find("file"), spool_ + "/f");
  EXPECT_EQ(*ev[0].headers.find("bn"), "f");
}

TEST_F(SpoolDirSourceTest, FullChannelBacksOffAndDeliversEverything) {
  write("f", "1\n2\n3\n4\n5\n6\n7\n8\n");
  start(base({{"batchSize", "2"}}), 2, 2);
  auto ev = take(8);
  EXPECT_EQ(bodies(ev), (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8"}));
}

TEST_F(SpoolDirSourceTest, EmptyFilesGiveOneEmptyEventEach) {
  for (int i = 0; i < 10; ++i) write("empty" + std::to_string(i), "");
  write("data", "some data");
  start(base({{"fileHeader", "true"}}));
  auto ev = take(11);
  size_t empty = 0;
  for (auto& e : ev) {
    empty += e.body.empty();
    EXPECT_TRUE(e.headers.find("file"));
  }
  EXPECT_EQ(empty, 10u);
  EXPECT_EQ(src_->counters().generic_processing_fail.get(), 0);
}

TEST_F(SpoolDirSourceTest, RestartResumesInsideAHalfReadFile) {
  std::string data;
  for (int i = 0; i < 10; ++i) data += "line" + std::to_string(i) + "\n";
  write("f", data);
  start(base({{"batchSize", "3"}}), 6, 3);  // 6 events fit: the source stops at line 6
  EXPECT_TRUE(wait([&] { return src_->counters().event_accepted.get() == 6; }));
  src_->stop();
  src_.reset();
  auto first = take(6, 0ms);
  EXPECT_TRUE(exists("f"));
  start(base({{"batchSize", "3"}}));
  auto rest = take(4);
  EXPECT_EQ(bodies(rest), (std::vector<std::string>{"line6", "line7", "line8", "line9"}));
  EXPECT_TRUE(wait([&] { return exists("f.COMPLETED"); }));
}

TEST_F(SpoolDirSourceTest, FullyReadFileAtRestartIsMarkedWithoutReread) {
  write("f", "a\nb\n");
  struct stat st;
  ASSERT_EQ(::stat((spool_ + "/f").c_str(), &st), 0);
  fs::create_directories(spool_ + "/.flumespool");
  SpoolPosition p{
      spool_ + "/f", {st.st_ino, 4, st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec}, 4};
  PositionMap m{{"current", encode_spool_position(p)}};
  std::ofstream(spool_ + "/.flumespool/positions") << default_position_format().write(m);
  start(base());
  EXPECT_TRUE(wait([&] { return exists("f.COMPLETED"); }));
  take(0, 100ms);
}

TEST_F(SpoolDirSourceTest, ChangedFileMovedAsideAndNextOneStillRead) {
  std::string data;
  for (int i = 0; i < 50; ++i) data += "x" + std::to_string(i) + "\n";
  write("a", data);
  start(base({{"batchSize", "5"}}), 10, 5);
  // Blocked on a full channel with the third batch read: the file grows meanwhile.
  EXPECT_TRUE(wait([&] { return src_->counters().channel_write_fail.get() >= 1; }));
  { std::ofstream(spool_ + "/a", std::ios::app) << "appended\n"; }
  take(10, 0ms);
  EXPECT_TRUE(wait([&] { return src_->files_moved_aside() == 1; }));
  take(5);  // the batch read before the change commits; nothing read after it is sent
  EXPECT_TRUE(exists("a.ERROR"));
  EXPECT_FALSE(exists("a.COMPLETED"));
  write("b", "next\n");
  auto ev = take(1);
  EXPECT_EQ(bodies(ev), std::vector<std::string>{"next"});
}

TEST_F(SpoolDirSourceTest, ReusedNameMovedAside) {
  write("log", "old\n");
  start(base());
  take(1);
  EXPECT_TRUE(wait([&] { return exists("log.COMPLETED"); }));
  write("log", "new\n");
  EXPECT_TRUE(wait([&] { return src_->files_moved_aside() == 1; }));
  EXPECT_TRUE(exists("log.ERROR"));
  write("log", "third\n");  // moved aside again, under another name
  EXPECT_TRUE(wait([&] { return src_->files_moved_aside() == 2; }));
  EXPECT_TRUE(exists("log.1.ERROR"));
  take(0);
}

TEST_F(SpoolDirSourceTest, UndecodableFileWithFailMovedAsideGoodLinesDelivered) {
  write("bad", "good\nbad\xff\nnever\n");
  start(base());
  auto ev = take(1);
  EXPECT_EQ(bodies(ev), std::vector<std::string>{"good"});
  EXPECT_TRUE(wait([&] { return exists("bad.ERROR"); }));
  EXPECT_EQ(src_->counters().event_read_fail.get(), 1);
  write("ok", "fine\n");
  EXPECT_EQ(bodies(take(1)), std::vector<std::string>{"fine"});
}

TEST_F(SpoolDirSourceTest, StartErrors) {
  auto o = parse(base({{"spoolDir", spool_ + "/missing"}}));
  ASSERT_TRUE(o);
  MemoryChannel ch("c", {});
  ChannelSelector sel;
  sel.required.push_back(&ch);
  auto p = std::make_shared<ChannelProcessor>(std::vector<std::unique_ptr<Interceptor>>{}, sel);
  SpoolDirectorySource missing("r1", p, *o);
  auto st = missing.start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("Directory does not exist"), std::string::npos);

  start(base());
  SpoolDirectorySource second("r2", p, *parse(base()));
  auto st2 = second.start();
  ASSERT_FALSE(st2);
  EXPECT_NE(st2.error().message.find("read by another source"), std::string::npos);
}

TEST_F(SpoolDirSourceTest, ReadOnlySpoolDirRefusedWithRenameAcceptedWithTrackerDir) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  const std::string tracker = spool_ + "-tracker";
  fs::create_directories(spool_ + "/.flumespool");
  fs::permissions(spool_, fs::perms::owner_read | fs::perms::owner_exec);
  MemoryChannel ch("c", {});
  ChannelSelector sel;
  sel.required.push_back(&ch);
  auto p = std::make_shared<ChannelProcessor>(std::vector<std::unique_ptr<Interceptor>>{}, sel);
  SpoolDirectorySource ro("r1", p, *parse(base()));
  EXPECT_FALSE(ro.start());
  SpoolDirectorySource tracked(
      "r2", p, *parse(base({{"trackingPolicy", "tracker_dir"}, {"trackerDir", tracker}})));
  EXPECT_TRUE(tracked.start());
  tracked.stop();
  fs::permissions(spool_, fs::perms::owner_all);
  fs::remove_all(tracker);
}

}  // namespace
}  // namespace ingestor
