#include "store/file_pins.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace ingestor::store {
namespace {

namespace fs = std::filesystem;

class FilePinsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/file-pins-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string make(const std::string& name) {
    std::string p = dir_ + "/" + name;
    std::ofstream(p) << name;
    return p;
  }
  std::string dir_;
};

TEST_F(FilePinsTest, AnUnpinnedFileGoesAtOnce) {
  FilePins pins;
  auto a = make("a");
  pins.unlink(a);
  EXPECT_FALSE(fs::exists(a));
  EXPECT_EQ(pins.pinned(), 0u);
}

TEST_F(FilePinsTest, APinnedFileGoesWithItsLastLease) {
  FilePins pins;
  auto a = make("a"), b = make("b");
  auto first = pins.pin({a, b});
  {
    auto second = pins.pin({a});
    pins.unlink(a);
    pins.unlink(b);
    EXPECT_TRUE(fs::exists(a));
    EXPECT_TRUE(fs::exists(b));
    EXPECT_EQ(pins.deferred(), 2u);
  }
  EXPECT_TRUE(fs::exists(a));  // still pinned by `first`
  FilePins::Lease moved = std::move(first);
  first.reset();  // a moved-from lease pins nothing
  EXPECT_TRUE(fs::exists(a));
  moved.reset();
  EXPECT_FALSE(fs::exists(a));
  EXPECT_FALSE(fs::exists(b));
  EXPECT_EQ(pins.pinned(), 0u);
  EXPECT_EQ(pins.deferred(), 0u);
}

TEST_F(FilePinsTest, ALeaseEndingWithoutAReleaseKeepsTheFile) {
  FilePins pins;
  auto a = make("a");
  { auto l = pins.pin({a}); }
  EXPECT_TRUE(fs::exists(a));
  EXPECT_EQ(pins.pinned(), 0u);
  pins.unlink(a);  // no longer pinned: at once
  EXPECT_FALSE(fs::exists(a));
}

TEST_F(FilePinsTest, MoveAssignmentEndsTheOldPin) {
  FilePins pins;
  auto a = make("a"), b = make("b");
  auto l = pins.pin({a});
  pins.unlink(a);
  l = pins.pin({b});
  EXPECT_FALSE(fs::exists(a));
  pins.unlink(b);
  EXPECT_TRUE(fs::exists(b));
  l = FilePins::Lease();
  EXPECT_FALSE(fs::exists(b));
}

}  // namespace
}  // namespace ingestor::store
