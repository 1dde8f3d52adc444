// Which file the spooldir source reads next: Flume's include/ignore, consumeOrder and recursion
// cases (TestSpoolDirectorySource, TestReliableSpoolingFileEventReader), plus reused names.
#include "agent/sources/spool_file_picker.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/sources/spool_state.h"

namespace ingestor {
namespace {

namespace fs = std::filesystem;

class SpoolPickerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/spool-picker-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& rel, const std::string& data = "x\n", int64_t mtime_s = 1000) {
    fs::create_directories(fs::path(dir_ + "/" + rel).parent_path());
    std::ofstream(dir_ + "/" + rel) << data;
    struct timespec ts[2] = {{mtime_s, 0}, {mtime_s, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (dir_ + "/" + rel).c_str(), ts, 0), 0);
  }

  SpoolPickerOptions opts() {
    SpoolPickerOptions o;
    o.spool_dir = dir_;
    o.tracker_dir = dir_ + "/.flumespool";
    return o;
  }

  std::vector<std::string> names(SpoolPickerOptions o) {
    SpoolFilePicker p(std::move(o), 42);
    auto l = p.list();
    EXPECT_TRUE(l);
    std::vector<std::string> out;
    for (auto& c : *l) out.push_back(c.rel + (c.conflict.empty() ? "" : " !"));
    return out;
  }

  static std::shared_ptr<const Regex> re(const char* p) {
    return std::make_shared<const Regex>(std::move(*Regex::compile(p, "test")));
  }

  std::string dir_;
};

using V = std::vector<std::string>;

TEST_F(SpoolPickerTest, SkipsDotFilesCompletedErrorAndDirectories) {
  write("a");
  write(".hidden");
  write("b.COMPLETED");
  write("c.ERROR");
  write("sub/d");
  EXPECT_EQ(names(opts()), V{"a"});
}

TEST_F(SpoolPickerTest, IncludeIgnoreAndConflictIgnoreWins) {
  for (auto n : {"file0", "file1", "file2", "file3"}) write(n, "x\n", 1000);
  auto o = opts();
  o.include = re("^file2$");
  EXPECT_EQ(names(o), V{"file2"});
  o = opts();
  o.ignore = re("^file2$");
  EXPECT_EQ(names(o), (V{"file0", "file1", "file3"}));
  o.include = re("^file2$");
  EXPECT_EQ(names(o), V{});
}

TEST_F(SpoolPickerTest, OldestYoungestByMtimeTiesLexicographicRandomReturnsAll) {
  write("b", "x", 2000);
  write("a", "x", 2000);
  write("c", "x", 1000);
  write("d", "x", 3000);
  auto o = opts();
  EXPECT_EQ(names(o), (V{"c", "a", "b", "d"}));
  o.order = ConsumeOrder::kYoungest;
  EXPECT_EQ(names(o), (V{"d", "a", "b", "c"}));
  o.order = ConsumeOrder::kRandom;
  V r = names(o);
  std::sort(r.begin(), r.end());
  EXPECT_EQ(r, (V{"a", "b", "c", "d"}));
}

TEST_F(SpoolPickerTest, ConsumeOrderNamesAnyCase) {
  EXPECT_EQ(consume_order_from_name("oLdESt"), ConsumeOrder::kOldest);
  EXPECT_EQ(consume_order_from_name("yoUnGest"), ConsumeOrder::kYoungest);
  EXPECT_EQ(consume_order_from_name("rAnDom"), ConsumeOrder::kRandom);
  EXPECT_EQ(consume_order_from_name("undefined"), std::nullopt);
}

TEST_F(SpoolPickerTest, RecursionSkipsDotAndIgnoredDirectories) {
  write("top", "x", 1000);
  write("sub/inner", "x", 1100);
  write("sub/deeper/leaf", "x", 1200);
  write(".flumespool/marker", "x", 1300);
  write("skipme/x", "x", 1400);
  auto o = opts();
  o.ignore = re("^skipme$");
  EXPECT_EQ(names(o), V{"top"});
  o.recursive = true;
  EXPECT_EQ(names(o), (V{"top", "sub/inner", "sub/deeper/leaf"}));
}

TEST_F(SpoolPickerTest, RenamePolicyFlagsAReusedName) {
  write("log1");
  write("log1.COMPLETED");
  EXPECT_EQ(names(opts()), V{"log1 !"});
  auto o = opts();
  o.check_completed_name = false;  // deletePolicy immediate: nothing to compare with
  EXPECT_EQ(names(o), V{"log1"});
}

TEST_F(SpoolPickerTest, TrackerMarkersSkipCompletedFilesAndFlagChangedOnes) {
  write("done");
  write("flume");
  write("changed");
  write("new");
  auto o = opts();
  o.use_markers = true;
  o.check_completed_name = false;
  fs::create_directories(o.tracker_dir);
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/done").c_str(), &st), 0);
  SpoolFileId id{st.st_ino, static_cast<uint64_t>(st.st_size),
                 st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec};
  std::ofstream(o.tracker_dir + "/done.COMPLETED") << encode_spool_marker(id);
  std::ofstream(o.tracker_dir + "/flume.COMPLETED");  // Flume's empty marker
  id.size = 999;
  std::ofstream(o.tracker_dir + "/changed.COMPLETED") << encode_spool_marker(id);
  EXPECT_EQ(names(o), (V{"changed !", "new"}));
}

TEST_F(SpoolPickerTest, NextConsumesOneListingThenListsAgain) {
  write("a", "x", 1000);
  SpoolFilePicker p(opts());
  auto first = p.next();
  ASSERT_TRUE(first && *first);
  EXPECT_EQ((*first)->rel, "a");
  write("b", "x", 900);
  auto second = p.next();  // listing used up: listed again (a is still there, b is older)
  ASSERT_TRUE(second && *second);
  EXPECT_EQ((*second)->rel, "b");
  auto third = p.next();  // from the cached listing
  ASSERT_TRUE(third && *third);
  EXPECT_EQ((*third)->rel, "a");
  fs::remove_all(dir_);
  p.reset();
  EXPECT_FALSE(p.next());  // listing failed: an error, not a crash
}

}  // namespace
}  // namespace ingestor
