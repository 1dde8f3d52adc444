#include "consumer/verify.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "base/hash.h"

namespace ingestor::consumer {
namespace {

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/verify-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& data) {
    std::string p = dir_ + "/f";
    std::ofstream(p, std::ios::binary) << data;
    return p;
  }
  std::string dir_;
};

TEST_F(VerifyTest, EtagForms) {
  auto md5_form = parse_etag("\"5EB63BBBE01EEED093CB22BB8F5ACDC3\"");
  EXPECT_EQ(md5_form.kind, EtagForm::kMd5);
  EXPECT_EQ(md5_form.etag, "5eb63bbbe01eeed093cb22bb8f5acdc3");
  auto mp = parse_etag("0123456789abcdef0123456789abcdef-12");
  EXPECT_EQ(mp.kind, EtagForm::kMultipart);
  EXPECT_EQ(mp.parts, 12);
  for (const char* other :
       {"", "abc", "0123456789abcdef0123456789abcdef-", "0123456789abcdef0123456789abcdef-0",
        "0123456789abcdef0123456789abcdef-10001", "0123456789abcdef0123456789abcdef-01",
        "0123456789abcdef0123456789abcdef-1x", "0123456789abcdef0123456789abcdeg",
        "0123456789abcdef0123456789abcdef-99999999999"})
    EXPECT_EQ(parse_etag(other).kind, EtagForm::kOther) << other;
}

TEST_F(VerifyTest, TheStreamedMd5MustBeTheSinglePartEtag) {
  const auto etag = parse_etag("5eb63bbbe01eeed093cb22bb8f5acdc3");
  EXPECT_TRUE(check_md5(md5("hello world"), etag));
  auto bad = check_md5(md5("hello worlD"), etag);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::kCorrupt);
  EXPECT_NE(bad.error().message.find("ETag is 5eb63bbbe01eeed093cb22bb8f5acdc3"),
            std::string::npos);
  // An ETag that is not an MD5 never matches.
  EXPECT_FALSE(check_md5(md5("hello world"), parse_etag("5eb63bbbe01eeed093cb22bb8f5acdc3-1")));
}

TEST_F(VerifyTest, MultipartEtagWithThePartSizesS3Tells) {
  // 11 MiB + 5 in parts of 5, 6 and 0+5 MiB... computed here independently of multipart_etag().
  std::string data(11 * 1024 * 1024 + 5, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + (i >> 13));
  const std::vector<uint64_t> sizes = {5 << 20, 6 << 20, 5};
  std::string digests;
  size_t at = 0;
  for (uint64_t n : sizes) {
    digests += as_bytes(md5(std::string_view(data).substr(at, n)));
    at += n;
  }
  const std::string etag = to_hex(md5(digests)) + "-3";
  auto p = write(data);
  auto got = multipart_etag(p, sizes);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, etag);
  // Other part sizes give another ETag: the sizes must be the upload's.
  EXPECT_NE(*multipart_etag(p, 5 << 20), etag);
  EXPECT_NE(*multipart_etag(p, std::vector<uint64_t>{6 << 20, 5 << 20, 5}), etag);
  // Parts that do not add up to the file are an error, not an ETag.
  auto short_parts = multipart_etag(p, std::vector<uint64_t>{5 << 20, 6 << 20});
  ASSERT_FALSE(short_parts);
  EXPECT_EQ(short_parts.error().code, Errc::kCorrupt);
  auto long_parts = multipart_etag(p, std::vector<uint64_t>{5 << 20, 6 << 20, 6});
  ASSERT_FALSE(long_parts);
  EXPECT_EQ(long_parts.error().code, Errc::kCorrupt);
  EXPECT_FALSE(multipart_etag(dir_ + "/missing", sizes));
}

TEST_F(VerifyTest, MultipartEtagWithAUniformPartSize) {
  std::string data(9000000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + (i >> 13));
  const size_t part = 8 * 1024 * 1024;
  std::string digests = std::string(as_bytes(md5(std::string_view(data).substr(0, part)))) +
                        std::string(as_bytes(md5(std::string_view(data).substr(part))));
  auto p = write(data);
  EXPECT_EQ(*multipart_etag(p, part), to_hex(md5(digests)) + "-2");
}

TEST_F(VerifyTest, ExecRunsWithoutAShell) {
  auto argv = split_command("  sh  -c   \"exit 3\" ");
  ASSERT_EQ(argv.size(), 4u);  // no quoting: the words as they are
  EXPECT_EQ(argv[0], "sh");
  auto p = write("x");
  auto rc = run_exec({"test", "-f"}, p);
  ASSERT_TRUE(rc) << rc.error().message;
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(*run_exec({"test", "-d"}, p), 1);
  // A path with shell metacharacters is one argument, never interpreted.
  auto q = write("y");
  EXPECT_EQ(*run_exec({"test", "-f"}, q + "; rm -rf /"), 1);
  EXPECT_FALSE(run_exec({"/nonexistent/binary"}, p));
}

}  // namespace
}  // namespace ingestor::consumer
