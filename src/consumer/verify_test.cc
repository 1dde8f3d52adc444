#include "consumer/verify.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

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

TEST_F(VerifyTest, SinglePartEtagIsTheMd5) {
  auto p = write("hello world");
  auto v = verify_download(p, 11, "5eb63bbbe01eeed093cb22bb8f5acdc3");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(*v, Verified::kMd5);
  EXPECT_TRUE(verify_download(p, 11, "\"5EB63BBBE01EEED093CB22BB8F5ACDC3\""));
  auto bad = verify_download(p, 11, "00000000000000000000000000000000");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::kCorrupt);
  auto short_size = verify_download(p, 12, "5eb63bbbe01eeed093cb22bb8f5acdc3");
  ASSERT_FALSE(short_size);
  EXPECT_EQ(short_size.error().code, Errc::kCorrupt);
}

TEST_F(VerifyTest, AStreamedMd5IsTrustedForTheContentButTheSizeIsStillChecked) {
  auto p = write("hello world");
  Md5Digest right = md5("hello world");
  auto v = verify_download(p, 11, "5eb63bbbe01eeed093cb22bb8f5acdc3", &right);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(*v, Verified::kMd5);
  // The digest decides, not the file: a digest of other bytes is a mismatch.
  Md5Digest wrong = md5("hello worlD");
  auto bad = verify_download(p, 11, "5eb63bbbe01eeed093cb22bb8f5acdc3", &wrong);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::kCorrupt);
  EXPECT_NE(bad.error().message.find("ETag is 5eb63bbbe01eeed093cb22bb8f5acdc3"),
            std::string::npos);
  // A file of another size than the notification's is corrupt whatever the digest says.
  auto short_size = verify_download(p, 12, "5eb63bbbe01eeed093cb22bb8f5acdc3", &right);
  ASSERT_FALSE(short_size);
  EXPECT_EQ(short_size.error().code, Errc::kCorrupt);
  // A missing file is an I/O error, not a pass.
  EXPECT_FALSE(verify_download(dir_ + "/missing", 11, "5eb63bbbe01eeed093cb22bb8f5acdc3", &right));
}

TEST_F(VerifyTest, AnEncryptedObjectsEtagIsNotTakenForAnMd5) {
  // SSE-KMS and SSE-C give even a single PUT an ETag that is not the MD5 of the bytes.
  auto p = write("hello world");
  const std::string not_md5 = "0123456789abcdef0123456789abcdef";
  auto v = verify_download(p, 11, not_md5, nullptr, /*etag_is_md5=*/false);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(*v, Verified::kSizeAndIfMatch);
  Md5Digest streamed = md5("hello world");
  EXPECT_TRUE(verify_download(p, 11, not_md5, &streamed, false));
  EXPECT_FALSE(verify_download(p, 11, not_md5, &streamed));  // the same ETag taken for an MD5
  // The size is still checked.
  auto short_size = verify_download(p, 12, not_md5, nullptr, false);
  ASSERT_FALSE(short_size);
  EXPECT_EQ(short_size.error().code, Errc::kCorrupt);
}

TEST_F(VerifyTest, MultipartEtagWithAKnownPartSize) {
  // 9,000,000 bytes in 8 MiB parts; the ETag computed here independently of multipart_etag().
  std::string data(9000000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + (i >> 13));
  const size_t part = 8 * 1024 * 1024;
  std::string digests = std::string(as_bytes(md5(std::string_view(data).substr(0, part)))) +
                        std::string(as_bytes(md5(std::string_view(data).substr(part))));
  std::string etag = to_hex(md5(digests)) + "-2";
  auto p = write(data);
  EXPECT_EQ(*multipart_etag(p, part), etag);
  auto v = verify_download(p, data.size(), etag);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(*v, Verified::kMultipartMd5);
  // An unknown part size: size + If-Match vouch for it.
  auto other = verify_download(p, data.size(), "0123456789abcdef0123456789abcdef-2");
  ASSERT_TRUE(other);
  EXPECT_EQ(*other, Verified::kSizeAndIfMatch);
  EXPECT_FALSE(verify_download(p, data.size() + 1, etag));
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
