// Integration: the project's S3 client against the real moto_server (aws.md 7), started on a free
// loopback port for this test suite. moto does not verify signatures by default, so these tests
// check the S3 semantics (ETags, conditional writes, multipart, ranges, pagination), while the
// signatures are checked by s3_client_test.cc against the project's verifier.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "base/hash.h"
#include "s3/s3_client.h"

extern char** environ;

namespace ingestor::s3 {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kInstallHint =
    "moto_server not found: install it with `/root/.pyenv/versions/3.11.7/bin/pip install "
    "'moto[server]'` (or `make deps`), or point MOTO_SERVER at the binary";

std::string find_moto() {
  if (const char* e = std::getenv("MOTO_SERVER"); e && *e)
    return ::access(e, X_OK) == 0 ? std::string(e) : std::string();
  for (const char* p : {"/root/.pyenv/versions/3.11.7/bin/moto_server",
                        "/usr/local/bin/moto_server", "/usr/bin/moto_server"})
    if (::access(p, X_OK) == 0) return p;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':'))
      if (::access((dir + "/moto_server").c_str(), X_OK) == 0) return dir + "/moto_server";
  }
  return {};
}

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class MotoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string moto = find_moto();
    if (moto.empty()) {
      setup_error_ = kInstallHint;
      return;
    }
    std::string tmpl = (fs::temp_directory_path() / "s3_moto_test.XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    port_ = free_port();
    const std::string port = std::to_string(port_);
    const std::string log = dir_ + "/moto.log";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<std::string> args = {moto, "-H", "127.0.0.1", "-p", port};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, moto.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      setup_error_ = "cannot start " + moto + ": " + std::strerror(rc);
      pid_ = -1;
      return;
    }
    // Wait until it answers, with a deadline.
    net::HttpClientOptions ho;
    ho.timeout = 1s;
    net::HttpClient probe(ho);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        std::stringstream out;
        out << std::ifstream(log).rdbuf();
        setup_error_ = "moto_server exited at start: " + out.str();
        return;
      }
      auto r = probe.request("GET", "http://127.0.0.1:" + port + "/moto-api/");
      if (r) return;
      std::this_thread::sleep_for(100ms);
    }
    setup_error_ = "moto_server did not answer within 30 s";
  }

  static void TearDownTestSuite() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  void SetUp() override {
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    S3ClientOptions o;
    o.endpoint = "http://127.0.0.1:" + std::to_string(port_);
    o.region = "us-east-1";
    std::vector<std::unique_ptr<CredentialsProvider>> p;
    p.push_back(std::make_unique<StaticCredentialsProvider>(Credentials{"testing", "testing", ""}));
    o.credentials = std::make_shared<CredentialsChain>(std::move(p));
    o.http.timeout = 60s;
    client_ = S3Client::create(o).value();
    bucket_ =
        "bucket-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
    for (auto& c : bucket_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ASSERT_TRUE(client_->create_bucket(bucket_)) << bucket_;
  }

  std::string read(const std::string& path) {
    std::stringstream s;
    s << std::ifstream(path, std::ios::binary).rdbuf();
    return s.str();
  }

  static inline std::string setup_error_;
  static inline std::string dir_;
  static inline uint16_t port_ = 0;
  static inline pid_t pid_ = -1;
  std::unique_ptr<S3Client> client_;
  std::string bucket_;
};

TEST_F(MotoTest, PutGetHeadDelete) {
  auto etag = client_->put_object({bucket_,
                                   "dir/hello world+.txt",
                                   Body::memory("hello world"),
                                   "text/plain",
                                   {{"origin", "test"}},
                                   false});
  ASSERT_TRUE(etag) << etag.error().describe();
  EXPECT_EQ(*etag, "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"");  // aws.md 2.7

  auto head = client_->head_object(bucket_, "dir/hello world+.txt");
  ASSERT_TRUE(head) << head.error().describe();
  EXPECT_EQ(head->etag, *etag);
  EXPECT_EQ(head->size, 11u);
  EXPECT_EQ(head->content_type, "text/plain");
  ASSERT_EQ(head->metadata.size(), 1u);
  EXPECT_EQ(head->metadata[0].second, "test");

  GetObjectRequest get;
  get.bucket = bucket_;
  get.key = "dir/hello world+.txt";
  get.path = dir_ + "/whole";
  get.if_match = *etag;
  get.expected_size = 11;
  auto whole = client_->get_object(get);
  ASSERT_TRUE(whole) << whole.error().describe();
  EXPECT_EQ(read(get.path), "hello world");

  get.path = dir_ + "/range";
  get.range = {6, 10};
  auto range = client_->get_object(get);
  ASSERT_TRUE(range) << range.error().describe();
  EXPECT_EQ(read(get.path), "world");
  EXPECT_EQ(range->size, 11u);

  get.if_match = "\"00000000000000000000000000000000\"";
  auto stale = client_->get_object(get);
  ASSERT_FALSE(stale);
  EXPECT_TRUE(stale.error().precondition_failed()) << stale.error().describe();

  ASSERT_TRUE(client_->delete_object(bucket_, "dir/hello world+.txt"));
  auto gone = client_->head_object(bucket_, "dir/hello world+.txt");
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().not_found());
  auto missing = client_->get_object_bytes(bucket_, "nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "NoSuchKey");
  EXPECT_TRUE(client_->delete_object(bucket_, "never-existed"));  // 204 as S3
}

TEST_F(MotoTest, ConditionalPutIfNoneMatch) {
  // moto 5.2.1 implements If-None-Match: * on PutObject (412 when the key exists).
  auto first = client_->put_object({bucket_, "k", Body::memory("one"), "", {}, true});
  ASSERT_TRUE(first) << first.error().describe();
  auto second = client_->put_object({bucket_, "k", Body::memory("two"), "", {}, true});
  ASSERT_FALSE(second);
  EXPECT_TRUE(second.error().precondition_failed()) << second.error().describe();
  EXPECT_EQ(second.error().http_status, 412);
  EXPECT_EQ(second.error().errc, Errc::kConflict);
  EXPECT_EQ(second.error().attempts, 1);
  // The existing object is untouched and its ETag is what HeadObject reports.
  auto head = client_->head_object(bucket_, "k");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->etag, *first);
  EXPECT_EQ(client_->get_object_bytes(bucket_, "k").value(), "one");
}

TEST_F(MotoTest, MultipartUploadFromFileRanges) {
  const std::string path = dir_ + "/big";
  const uint64_t kPart = 5 << 20;
  const uint64_t size = 2 * kPart + 123457;
  {
    std::mt19937 rng(42);
    std::string data(size, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    std::ofstream(path, std::ios::binary) << data;
  }
  const std::string data = read(path);
  auto id = client_->create_multipart_upload(bucket_, "mp/object", "application/octet-stream");
  ASSERT_TRUE(id) << id.error().describe();

  auto listed = client_->list_multipart_uploads({bucket_, "mp/", "", "", 0});
  ASSERT_TRUE(listed) << listed.error().describe();
  ASSERT_EQ(listed->uploads.size(), 1u);
  EXPECT_EQ(listed->uploads[0].key, "mp/object");
  EXPECT_EQ(listed->uploads[0].upload_id, *id);

  std::vector<CompletedPart> parts;
  std::string md5s;
  for (int n = 1; uint64_t((n - 1) * kPart) < size; ++n) {
    uint64_t off = (n - 1) * kPart;
    uint64_t len = std::min<uint64_t>(kPart, size - off);
    auto part =
        client_->upload_part({bucket_, "mp/object", *id, n, Body::file_range(path, off, len)});
    ASSERT_TRUE(part) << part.error().describe();
    EXPECT_EQ(etag_unquoted(part->etag), to_hex(md5(std::string_view(data).substr(off, len))));
    md5s += as_bytes(md5(std::string_view(data).substr(off, len)));
    parts.push_back(*part);
  }
  ASSERT_EQ(parts.size(), 3u);
  auto etag = client_->complete_multipart_upload(bucket_, "mp/object", *id, parts, true);
  ASSERT_TRUE(etag) << etag.error().describe();
  EXPECT_EQ(*etag, "\"" + to_hex(md5(md5s)) + "-3\"");  // S3's multipart ETag rule

  GetObjectRequest get;
  get.bucket = bucket_;
  get.key = "mp/object";
  get.path = dir_ + "/big.out";
  get.if_match = *etag;
  get.expected_size = size;
  auto got = client_->get_object(get);
  ASSERT_TRUE(got) << got.error().describe();
  EXPECT_EQ(sha256_hex(read(get.path)), sha256_hex(data));

  // A range across the part boundary.
  get.range = {kPart - 10, kPart + 9};
  got = client_->get_object(get);
  ASSERT_TRUE(got) << got.error().describe();
  EXPECT_EQ(read(get.path), data.substr(kPart - 10, 20));

  // Completing another upload onto the existing key with If-None-Match: * fails with 412 (moto
  // 5.2.1 implements it for CompleteMultipartUpload too), and the object is unchanged.
  auto id4 = client_->create_multipart_upload(bucket_, "mp/object");
  ASSERT_TRUE(id4);
  auto only = client_->upload_part({bucket_, "mp/object", *id4, 1, Body::memory("replacement")});
  ASSERT_TRUE(only);
  auto clash = client_->complete_multipart_upload(bucket_, "mp/object", *id4, {*only}, true);
  ASSERT_FALSE(clash);
  EXPECT_TRUE(clash.error().precondition_failed()) << clash.error().describe();
  EXPECT_EQ(client_->head_object(bucket_, "mp/object").value().etag, *etag);
  ASSERT_TRUE(client_->abort_multipart_upload(bucket_, "mp/object", *id4));

  // An aborted upload disappears from the listing.
  auto id2 = client_->create_multipart_upload(bucket_, "mp/aborted");
  ASSERT_TRUE(id2);
  ASSERT_TRUE(client_->abort_multipart_upload(bucket_, "mp/aborted", *id2));
  listed = client_->list_multipart_uploads({bucket_, "mp/", "", "", 0});
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->uploads.empty());

  // A part below 5 MiB that is not the last: EntityTooSmall, not retried.
  auto id3 = client_->create_multipart_upload(bucket_, "mp/small");
  ASSERT_TRUE(id3);
  auto p1 = client_->upload_part({bucket_, "mp/small", *id3, 1, Body::memory("tiny")});
  auto p2 = client_->upload_part({bucket_, "mp/small", *id3, 2, Body::memory("tiny")});
  ASSERT_TRUE(p1 && p2);
  auto small = client_->complete_multipart_upload(bucket_, "mp/small", *id3, {*p1, *p2});
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error().code, "EntityTooSmall");
  EXPECT_EQ(small.error().attempts, 1);
}

TEST_F(MotoTest, Crc32cChecksumsForPutAndMultipart) {
  // What the agent's S3 sink sends by default: x-amz-checksum-crc32c and UNSIGNED-PAYLOAD, the
  // upload declaring CRC32C and Complete listing each part's checksum.
  S3ClientOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(port_);
  std::vector<std::unique_ptr<CredentialsProvider>> p;
  p.push_back(std::make_unique<StaticCredentialsProvider>(Credentials{"testing", "testing", ""}));
  o.credentials = std::make_shared<CredentialsChain>(std::move(p));
  o.body_checksum = BodyChecksum::kCrc32c;
  auto client = S3Client::create(o).value();

  ASSERT_TRUE(client->put_object({bucket_, "small", Body::memory("hello world"), "", {}, true}));
  const uint64_t kPart = 5 << 20;
  std::string data(kPart + 1000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + (i >> 12));
  auto id = client->create_multipart_upload(bucket_, "big");
  ASSERT_TRUE(id) << id.error().describe();
  std::vector<CompletedPart> parts;
  for (int n = 1; n <= 2; ++n) {
    auto body = std::string_view(data).substr((n - 1) * kPart, n == 1 ? kPart : 1000);
    auto part = client->upload_part({bucket_, "big", *id, n, Body::memory(body)});
    ASSERT_TRUE(part) << part.error().describe();
    EXPECT_FALSE(part->checksum_crc32c.empty());
    parts.push_back(*part);
  }
  auto etag = client->complete_multipart_upload(bucket_, "big", *id, parts, true);
  ASSERT_TRUE(etag) << etag.error().describe();
  EXPECT_EQ(etag_unquoted(*etag).substr(32), "-2");

  for (auto [key, want] : {std::pair<std::string, std::string>{"small", "hello world"},
                           std::pair<std::string, std::string>{"big", data}}) {
    GetObjectRequest get;
    get.bucket = bucket_;
    get.key = key;
    get.path = dir_ + "/crc.out";
    get.checksum = true;
    get.md5 = true;
    auto got = client->get_object(get);
    ASSERT_TRUE(got) << key << ": " << got.error().describe();
    EXPECT_EQ(read(get.path), want) << key;
    if (key == "small") {  // moto keeps the PUT's CRC32C and sends it back when asked
      EXPECT_EQ(got->checksum_verified, ChecksumAlgorithm::kCrc32c);
      EXPECT_FALSE(got->body_md5);
    }
  }
}

TEST_F(MotoTest, ConcurrentPutsShareOneClient) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        std::string key = "t" + std::to_string(t) + "/" + std::to_string(i);
        auto r = client_->put_object({bucket_, key, Body::memory(key), "", {}, true});
        if (r && etag_unquoted(*r) == to_hex(md5(key))) ok.fetch_add(1);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 30);
  auto all = client_->list_objects_v2({bucket_, "t", "", "", "", 0});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->objects.size(), 30u);
}

TEST_F(MotoTest, ListObjectsV2Pagination) {
  const std::vector<std::string> keys = {"a/1", "a/2", "a/3 x+y", "a/sub/4", "a/sub/5", "b/6", "c"};
  for (const auto& k : keys)
    ASSERT_TRUE(client_->put_object({bucket_, k, Body::memory(k), "", {}, false}));

  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = client_->list_objects_v2({bucket_, "", "", token, "", 3});
    ASSERT_TRUE(page) << page.error().describe();
    ++pages;
    EXPECT_LE(page->objects.size(), 3u);
    for (const auto& o : page->objects) {
      seen.push_back(o.key);
      EXPECT_EQ(o.size, o.key.size());
      EXPECT_EQ(etag_unquoted(o.etag), to_hex(md5(o.key)));
    }
    token = page->is_truncated ? page->next_continuation_token : "";
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, keys);

  auto folders = client_->list_objects_v2({bucket_, "a/", "/", "", "", 0});
  ASSERT_TRUE(folders);
  ASSERT_EQ(folders->objects.size(), 3u);
  EXPECT_EQ(folders->objects[2].key, "a/3 x+y");  // decoded from encoding-type=url
  EXPECT_EQ(folders->common_prefixes, std::vector<std::string>{"a/sub/"});
  EXPECT_FALSE(folders->is_truncated);

  auto after = client_->list_objects_v2({bucket_, "", "", "", "a/sub/5", 0});
  ASSERT_TRUE(after);
  ASSERT_EQ(after->objects.size(), 2u);
  EXPECT_EQ(after->objects[0].key, "b/6");

  auto no_bucket = client_->list_objects_v2({"no-such-bucket-x", "", "", "", "", 0});
  ASSERT_FALSE(no_bucket);
  EXPECT_EQ(no_bucket.error().code, "NoSuchBucket");
  EXPECT_TRUE(client_->head_bucket(bucket_));
  EXPECT_TRUE(client_->head_bucket("no-such-bucket-x").error().not_found());
}

}  // namespace
}  // namespace ingestor::s3
