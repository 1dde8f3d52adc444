#include "relay/forwarder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "net/http_server.h"
#include "net/io_pool.h"

namespace ingestor::relay {
namespace {

// A loopback consumer answering with scripted statuses (the last one repeats).
class FakeConsumer {
 public:
  explicit FakeConsumer(std::vector<int> statuses) : statuses_(std::move(statuses)) {
    pool_.start();
    server_ = std::make_unique<net::HttpServer>(
        pool_, net::HttpServerOptions{"127.0.0.1", 0},
        [this](net::HttpRequest&& req, net::Respond respond) {
          std::lock_guard lk(mu_);
          requests_.push_back(std::move(req));
          size_t i = std::min(requests_.size(), statuses_.size()) - 1;
          respond(net::HttpResponse::text(statuses_[i], "status " + std::to_string(statuses_[i])));
        });
    EXPECT_TRUE(server_->start());
  }
  ~FakeConsumer() {
    server_->stop();
    pool_.stop();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/objects";
  }
  std::vector<net::HttpRequest> requests() {
    std::lock_guard lk(mu_);
    return requests_;
  }

 private:
  net::IoPool pool_{1};
  std::unique_ptr<net::HttpServer> server_;
  std::vector<int> statuses_;
  std::mutex mu_;
  std::vector<net::HttpRequest> requests_;
};

s3::ParsedNotification two_objects() {
  s3::ParsedNotification n;
  n.objects.push_back(
      {"b", "a b+c", 5, "etag1", "2026-01-01T00:00:00.000Z", "01", "ObjectCreated:Put"});
  n.objects.push_back(
      {"b", "k2", 6, "etag2", "2026-01-01T00:00:01.000Z", "02", "ObjectCreated:Put"});
  return n;
}

RelayOptions fast(std::string url, std::string secret = {}) {
  RelayOptions o;
  o.target_url = std::move(url);
  o.secret = std::move(secret);
  o.retry_base = std::chrono::milliseconds(10);
  o.retry_max = std::chrono::milliseconds(40);
  o.attempt_timeout = std::chrono::milliseconds(1000);
  return o;
}

TEST(Forwarder, PostsEveryRecordSignedWithAnIdempotencyKey) {
  FakeConsumer c({202});
  auto f = Forwarder::create(fast(c.url(), "s3cret"));
  ASSERT_TRUE(f);
  auto r = (*f)->relay(two_objects(), Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->posted, 2u);
  auto reqs = c.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/objects");
  auto notice = s3::parse_notice_json(reqs[0].body);
  ASSERT_TRUE(notice);
  EXPECT_EQ(notice->key, "a b+c");
  EXPECT_EQ(notice->sequencer, "01");
  ASSERT_TRUE(reqs[0].header("X-Ingestor-Signature"));
  EXPECT_TRUE(
      s3::verify_signature("s3cret", reqs[0].body, *reqs[0].header("X-Ingestor-Signature")));
  ASSERT_TRUE(reqs[0].header("Idempotency-Key"));
  EXPECT_EQ(*reqs[0].header("Idempotency-Key"), s3::idempotency_key(*notice));
  EXPECT_NE(*reqs[0].header("Idempotency-Key"), *reqs[1].header("Idempotency-Key"));
}

TEST(Forwarder, RetriesServerErrorsUntilAccepted) {
  FakeConsumer c({503, 500, 429, 200});
  auto f = Forwarder::create(fast(c.url()));
  s3::ParsedNotification n = two_objects();
  n.objects.resize(1);
  auto r = (*f)->relay(n, Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(c.requests().size(), 4u);
  EXPECT_EQ((*f)->counters().retries.load(), 3u);
  EXPECT_FALSE(c.requests()[0].header("X-Ingestor-Signature"));  // no secret, no signature
}

TEST(Forwarder, ClientErrorsAreNotRetried) {
  FakeConsumer c({401});
  auto f = Forwarder::create(fast(c.url()));
  auto r = (*f)->relay(two_objects(), Clock::now() + std::chrono::seconds(5));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kAuth);
  EXPECT_EQ(c.requests().size(), 1u);  // and the second record is not attempted
}

TEST(Forwarder, GivesUpAtTheDeadlineWhenTheConsumerIsDown) {
  std::string url;
  {
    FakeConsumer gone({200});
    url = gone.url();
  }
  auto f = Forwarder::create(fast(url));
  auto start = Clock::now();
  auto r = (*f)->relay(two_objects(), start + std::chrono::milliseconds(300));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().code == Errc::kUnavailable || r.error().code == Errc::kTimeout)
      << r.error().message;
  auto took = Clock::now() - start;
  EXPECT_LT(took, std::chrono::milliseconds(1500));
  EXPECT_GE((*f)->counters().retries.load(), 1u);
}

TEST(Forwarder, ConfigErrors) {
  EXPECT_EQ(Forwarder::create(RelayOptions{}).error().code, Errc::kConfig);
  RelayOptions o;
  o.target_url = "ftp://x/y";
  EXPECT_FALSE(Forwarder::create(o));
}

}  // namespace
}  // namespace ingestor::relay
