#include "relay/webhook_relay.h"

#include <gtest/gtest.h>

#include <atomic>

#include "net/bearer_token.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/io_pool.h"

namespace ingestor::relay {
namespace {

const std::string kToken = "webhook-token-0123456789abcdef";
const std::string kEvent =
    R"({"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put",)"
    R"("s3":{"bucket":{"name":"b"},"object":{"key":"k","size":1,"eTag":"e"}}}]})";

// A loopback consumer that accepts everything and counts.
class Consumer {
 public:
  Consumer() {
    pool_.start();
    server_ = std::make_unique<net::HttpServer>(pool_, net::HttpServerOptions{"127.0.0.1", 0},
                                                [this](net::HttpRequest&&, net::Respond respond) {
                                                  posts++;
                                                  respond(net::HttpResponse::text(202, "ok"));
                                                });
    EXPECT_TRUE(server_->start());
  }
  ~Consumer() {
    server_->stop();
    pool_.stop();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/objects";
  }
  std::atomic<int> posts{0};

 private:
  net::IoPool pool_{1};
  std::unique_ptr<net::HttpServer> server_;
};

class WebhookRelayTest : public ::testing::Test {
 protected:
  WebhookRelayTest() { pool_.start(); }
  ~WebhookRelayTest() override { pool_.stop(); }

  RelayOptions options(std::string token) {
    RelayOptions o;
    o.target_url = consumer_.url();
    o.webhook_token = std::move(token);
    return o;
  }
  Result<net::ClientResponse> post(const WebhookRelay& r, net::HeaderList headers) {
    return http_.request("POST", "http://127.0.0.1:" + std::to_string(r.port()) + "/",
                         std::move(headers), kEvent);
  }

  net::IoPool pool_{1};
  Consumer consumer_;
  net::HttpClient http_{net::HttpClientOptions{}};
};

TEST_F(WebhookRelayTest, RefusesToStartWithoutATokenUnlessToldToBeInsecure) {
  WebhookRelay none(pool_, options(""));
  auto st = none.start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kConfig);
  EXPECT_NE(st.error().message.find("--insecure-no-webhook-token"), std::string::npos);

  WebhookRelay bad(pool_, options("short"));
  st = bad.start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("at least 16"), std::string::npos);

  auto o = options("");
  o.insecure_no_webhook_token = true;
  WebhookRelay insecure(pool_, o);
  ASSERT_TRUE(insecure.start());
  auto r = post(insecure, {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200) << r->body;
  insecure.stop();
}

TEST_F(WebhookRelayTest, OnlyPostsWithTheTokenAreRelayed) {
  WebhookRelay relay(pool_, options(kToken));
  ASSERT_TRUE(relay.start());
  for (net::HeaderList h :
       {net::HeaderList{}, net::HeaderList{{"Authorization", "Bearer wrong-token-0123456789"}},
        net::HeaderList{{"Authorization", "Basic " + kToken}},
        net::HeaderList{{"Authorization", kToken}}}) {
    auto r = post(relay, h);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 401) << r->body;
    EXPECT_NE(r->header("WWW-Authenticate"), nullptr);
  }
  EXPECT_EQ(consumer_.posts.load(), 0);
  EXPECT_NE(relay.metrics_json().find("\"unauthorized\":4"), std::string::npos)
      << relay.metrics_json();
  EXPECT_NE(relay.metrics_prometheus().find("ingestor_relay_unauthorized_total 4"),
            std::string::npos);
  auto r = post(relay, {{"Authorization", net::bearer_authorization(kToken)}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(consumer_.posts.load(), 1);
  relay.stop();
}

}  // namespace
}  // namespace ingestor::relay
