// Consumer against a scripted fake S3 on loopback: the outcome of an attempt is recorded even
// when the ledger cannot take it at the moment the attempt ends (here a file size limit stops
// its WAL from growing; on a real full disk it is SQLITE_FULL: tests/test_consumer_disk_full.py).

#include "consumer/consumer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "base/hash.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "s3/credentials.h"

namespace ingestor::consumer {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// While alive, every write of this process past `limit` bytes into a regular file fails (EFBIG,
// SIGXFSZ ignored), as a full disk fails every write that must grow a file. Process-wide: output
// redirected to a file past that size is lost meanwhile.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t limit) {
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &old_);
    rlimit l = old_;
    l.rlim_cur = limit;
    EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &l), 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    ::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit old_{};
  sighandler_t old_handler_ = SIG_DFL;
};

struct StaticSource : s3::CredentialsSource {
  Result<s3::Credentials> get() override { return s3::Credentials{"AKIDTEST", "secret", ""}; }
};

// GetObject of /bkt/<key> from `objects` (HeadObject answered at once, not counted). The first
// GET of every key in `fail_once` is answered 500. The first GETs of all keys are held until each
// key has asked once; then `on_all_asked` runs and they are answered together; later requests
// are answered at once.
struct FakeS3 {
  explicit FakeS3(std::map<std::string, std::string> objects) : objects(std::move(objects)) {
    pool.start();
    net::HttpServerOptions o;
    o.bind = "127.0.0.1";
    server = std::make_unique<net::HttpServer>(
        pool, o, [this](net::HttpRequest&& req, net::Respond respond) {
          std::string key = req.path.substr(req.path.rfind('/') + 1);
          if (req.method == "HEAD") return respond(answer(key, /*head=*/true));
          std::vector<std::pair<std::string, net::Respond>> now;
          {
            std::lock_guard lk(mu);
            ++requests[key];
            if (released) {
              now.emplace_back(key, std::move(respond));
            } else {
              held.emplace_back(key, std::move(respond));
              if (held.size() < this->objects.size()) return;
              released = true;
              now = std::move(held);
            }
          }
          if (now.size() > 1 && on_all_asked) on_all_asked();
          for (auto& [k, r] : now) r(answer(k));
        });
    EXPECT_TRUE(server->start());
  }
  ~FakeS3() {
    server->stop();
    pool.stop();
  }
  net::HttpResponse answer(const std::string& key, bool head = false) {
    bool fail;
    {
      std::lock_guard lk(mu);
      fail = !head && fail_once.count(key) && requests[key] == 1;
    }
    if (fail)
      return net::HttpResponse::text(500,
                                     "<?xml version=\"1.0\"?><Error><Code>InternalError</Code>"
                                     "<Message>boom</Message></Error>",
                                     "application/xml");
    net::HttpResponse r;
    r.headers = {{"ETag", "\"" + to_hex(md5(objects.at(key))) + "\""},
                 {"Content-Type", "application/octet-stream"}};
    r.body = objects.at(key);
    return r;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }

  std::map<std::string, std::string> objects;
  std::set<std::string> fail_once;
  std::function<void()> on_all_asked;
  net::IoPool pool{1};
  std::unique_ptr<net::HttpServer> server;
  std::mutex mu;
  std::map<std::string, int> requests;
  std::vector<std::pair<std::string, net::Respond>> held;
  std::atomic<bool> released{false};

  int requests_of(const std::string& key) {
    std::lock_guard lk(mu);
    return requests[key];
  }
};

class ConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "consumer_test.XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    pool_.start();
  }
  void TearDown() override {
    if (consumer_) consumer_->stop();
    pool_.stop();
    fs::remove_all(dir_);
  }
  void start(const std::string& s3_url) {
    ConsumerOptions o;
    o.bind = "127.0.0.1";
    o.download_dir = dir_ + "/dl";
    o.s3_endpoint = s3_url;
    o.credentials = std::make_shared<StaticSource>();
    o.workers = 2;
    o.max_attempts = 5;
    o.retry_base = 20ms;
    o.retry_max = 100ms;
    consumer_ = std::make_unique<Consumer>(pool_, o);
    auto st = consumer_->start();
    ASSERT_TRUE(st) << st.error().message;
    base_ = "http://127.0.0.1:" + std::to_string(consumer_->port());
  }
  void post(const std::string& key, const std::string& data) {
    json::object n{
        {"bucket", "bkt"}, {"key", key}, {"size", data.size()}, {"etag", to_hex(md5(data))}};
    auto r = http_.request("POST", base_ + "/objects", {{"Content-Type", "application/json"}},
                           json::serialize(n));
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->status, 202) << r->body;
  }
  std::string state(const std::string& key) {
    auto r = http_.request("GET", base_ + "/objects/bkt/" + key);
    if (!r || r->status != 200) return "?";
    return std::string(json::parse(r->body).as_object().at("state").as_string());
  }
  uint64_t counter(const char* name) {
    auto c = json::parse(consumer_->metrics_json()).as_object().at("consumer").as_object();
    auto it = c.find(name);
    return it == c.end() ? 0 : it->value().to_number<uint64_t>();
  }
  std::string read(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  std::string dir_, base_;
  net::IoPool pool_{1};
  net::HttpClient http_;
  std::unique_ptr<Consumer> consumer_;
};

// Both attempts end while the ledger's WAL cannot grow (FileSizeLimit below the WAL's end, above
// the objects' sizes: the download itself still fits, as on a nearly full disk): "a" failed
// (500) and must be retried, "b" is downloaded and must be marked done. Before the fix both rows
// stayed `downloading` for the rest of the run: "a" was never retried and "b" reported as in
// progress (and downloaded again after a restart).
TEST_F(ConsumerTest, AttemptOutcomeIsRecordedOnceTheLedgerCanGrowAgain) {
  FakeS3 s3({{"a", std::string(2000, 'a')}, {"b", std::string(1000, 'b')}});
  s3.fail_once = {"a"};
  std::mutex limit_mu;
  std::optional<FileSizeLimit> limit;
  s3.on_all_asked = [&] {  // both rows are downloading: the ledger's next write cannot land
    std::lock_guard lk(limit_mu);
    limit.emplace(4096);
  };
  start(s3.url());
  post("a", s3.objects["a"]);
  post("b", s3.objects["b"]);
  ASSERT_TRUE(wait_until([&] { return s3.released.load(); }, 10s));
  bool failed = wait_until([&] { return counter("ledgerWriteFailures") >= 2; }, 10s);
  {
    std::lock_guard lk(limit_mu);
    limit.reset();  // space returns
  }
  EXPECT_TRUE(failed) << "both outcome writes should have failed (and been counted)";
  bool done = wait_until([&] { return state("a") == "done" && state("b") == "done"; }, 10s);
  EXPECT_TRUE(done) << "a: " << state("a") << ", b: " << state("b");
  EXPECT_TRUE(read(dir_ + "/dl/bkt/a") == s3.objects["a"]) << "bkt/a is not the object's bytes";
  EXPECT_TRUE(read(dir_ + "/dl/bkt/b") == s3.objects["b"]) << "bkt/b is not the object's bytes";
  EXPECT_EQ(s3.requests_of("a"), 2);  // the 500, then the retry
  EXPECT_EQ(s3.requests_of("b"), 1);  // never downloaded twice
  EXPECT_EQ(counter("downloads"), 2u);
  EXPECT_EQ(counter("deadLetters"), 0u);
}

}  // namespace
}  // namespace ingestor::consumer
