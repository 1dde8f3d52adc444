#include "cli/up_credentials.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace ingestor::cli {
namespace {

namespace fs = std::filesystem;

class UpCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("up-credentials-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = credentials_path(dir_.string());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string read() const {
    std::ifstream f(path_);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  int mode() const {
    struct stat st {};
    EXPECT_EQ(::stat(path_.c_str(), &st), 0);
    return st.st_mode & 0777;
  }
  fs::path dir_;
  std::string path_;
};

TEST_F(UpCredentialsTest, GeneratedOnceMode0600ThenReused) {
  ::umask(022);
  auto first = load_or_create_credentials(path_);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(mode(), 0600);
  ASSERT_EQ(first->size(), up_generated_secrets().size());
  EXPECT_THAT(first->at("store.accessKey"), ::testing::MatchesRegex("ingestor-[0-9a-f]{16}"));
  EXPECT_THAT(first->at("store.secretKey"), ::testing::MatchesRegex("[0-9a-f]{48}"));
  EXPECT_THAT(first->at("relay.secret"), ::testing::MatchesRegex("[0-9a-f]{64}"));
  const std::string text = read();
  auto again = load_or_create_credentials(path_);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *first);
  EXPECT_EQ(read(), text);  // not rewritten
  // Another data dir, other values.
  auto other = load_or_create_credentials(path_ + ".other");
  ASSERT_TRUE(other);
  EXPECT_NE(other->at("store.secretKey"), first->at("store.secretKey"));
  EXPECT_NE(other->at("relay.secret"), first->at("relay.secret"));
}

TEST_F(UpCredentialsTest, AMissingFieldIsAddedAndTheOthersKept) {
  {
    std::ofstream f(path_);
    f << R"({"store.accessKey":"mine","store.secretKey":"kept","future.token":"t"})";
  }
  ::chmod(path_.c_str(), 0644);
  auto c = load_or_create_credentials(path_);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->at("store.accessKey"), "mine");
  EXPECT_EQ(c->at("store.secretKey"), "kept");
  EXPECT_EQ(c->at("relay.secret").size(), 64u);
  EXPECT_EQ(c->at("future.token"), "t");  // a field of another version survives the rewrite
  EXPECT_EQ(mode(), 0600);
  EXPECT_THAT(read(), ::testing::HasSubstr(R"("future.token":"t")"));
  EXPECT_THAT(read(), ::testing::HasSubstr(c->at("relay.secret")));
}

TEST_F(UpCredentialsTest, AFileThatIsNotAnObjectOfStringsIsAnErrorNamingIt) {
  for (const char* bad : {"not json", "[1]", R"({"store.accessKey": 5})"}) {
    {
      std::ofstream f(path_);
      f << bad;
    }
    auto c = load_or_create_credentials(path_);
    ASSERT_FALSE(c) << bad;
    EXPECT_THAT(c.error().message, ::testing::HasSubstr(path_)) << bad;
  }
}

TEST_F(UpCredentialsTest, TheConfigurationWinsOverTheFile) {
  auto c = load_or_create_credentials(path_);
  ASSERT_TRUE(c);
  Properties p;
  p.set("store.accessKey", "from-config");
  p.set("store.secretKey", "");  // empty: the generated one
  EXPECT_EQ(apply_credentials(p, *c), 2u);
  EXPECT_EQ(*p.get("store.accessKey"), "from-config");
  EXPECT_EQ(*p.get("store.secretKey"), c->at("store.secretKey"));
  EXPECT_EQ(*p.get("relay.secret"), c->at("relay.secret"));
}

}  // namespace
}  // namespace ingestor::cli
