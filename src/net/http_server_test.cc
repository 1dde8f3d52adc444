#include "net/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace ingestor::net {
namespace {

using namespace std::chrono_literals;

template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds deadline = 5000ms) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// A blocking raw TCP client with a receive timeout, so that a test fails instead of hanging.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }

  void send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  // Reads one response (Content-Length framed). nullopt on EOF, error or timeout.
  std::optional<RawResponse> read_response() {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return std::nullopt;
    RawResponse r;
    std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    r.status = std::stoi(status_line.substr(9, 3));
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
      pos = e + 2;
    }
    size_t len = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    while (buf_.size() < len)
      if (!fill()) return std::nullopt;
    r.body = buf_.substr(0, len);
    buf_.erase(0, len);
    return r;
  }

  // Reads the raw bytes of an interim response such as "HTTP/1.1 100 Continue\r\n\r\n".
  std::optional<std::string> read_head() {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return std::nullopt;
    std::string head = buf_.substr(0, end + 4);
    buf_.erase(0, end + 4);
    return head;
  }

  // True when the server closed the connection (EOF or reset) before the timeout.
  bool closed_by_peer() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    if (n == 0) return true;
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK;
  }

 private:
  bool fill() {
    char tmp[4096];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

std::string post(std::string_view path, std::string_view body, std::string_view extra = "") {
  return "POST " + std::string(path) +
         " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra) + "\r\n" + std::string(body);
}

// Echoes the method, path, query and body: "POST /a?x=1 <body>".
void echo(HttpRequest&& req, Respond respond) {
  HttpResponse r =
      HttpResponse::text(200, req.method + " " + req.path + "?" + req.query + " " + req.body);
  if (const std::string* v = req.header("x-test")) r.headers.emplace_back("X-Echo", *v);
  respond(std::move(r));
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { pool_.start(); }
  void TearDown() override {
    if (server_) server_->stop();
    pool_.stop();
  }
  uint16_t start(HttpHandler handler, HttpServerOptions opts = {}) {
    opts.bind = "127.0.0.1";
    opts.port = 0;
    server_ = std::make_unique<HttpServer>(pool_, opts, std::move(handler));
    auto st = server_->start();
    EXPECT_TRUE(st) << st.error().message;
    EXPECT_NE(server_->port(), 0);
    return server_->port();
  }
  IoPool pool_{2};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  uint16_t port = start(echo);
  RawClient c(port);
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 3; ++i) {
    c.send(post("/p/" + std::to_string(i), "body" + std::to_string(i), "X-Test: v\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "POST /p/" + std::to_string(i) + "? body" + std::to_string(i));
    EXPECT_EQ(r->headers["x-echo"], "v");
    EXPECT_EQ(r->headers["server"], "ingestor");
    EXPECT_EQ(r->headers["content-type"], "text/plain; charset=utf-8");
  }
  c.send("GET /q?a=1&b=2 HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET /q?a=1&b=2 ");
  EXPECT_EQ(server_->open_connections(), 1u);
}

TEST_F(HttpServerTest, Http10WithoutKeepAliveIsClosedAfterTheResponse) {
  uint16_t port = start(echo);
  RawClient c(port);
  c.send("GET / HTTP/1.0\r\n\r\n");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(HttpServerTest, ExpectContinueGets100BeforeTheBodyIsSent) {
  uint16_t port = start(echo);
  RawClient c(port);
  c.send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  auto interim = c.read_head();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->substr(0, 25), "HTTP/1.1 100 Continue\r\n\r\n");
  c.send("hello");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /e? hello");
}

TEST_F(HttpServerTest, BodyOverTheLimitGets413AndTheConnectionIsClosed) {
  HttpServerOptions opts;
  opts.body_limit = 10;
  int calls = 0;
  uint16_t port = start(
      [&](HttpRequest&& req, Respond respond) {
        ++calls;
        echo(std::move(req), std::move(respond));
      },
      opts);
  {
    RawClient c(port);
    c.send(post("/", std::string(100, 'x')));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->headers["connection"], "close");
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    // With Expect: 100-continue the 413 comes instead of the 100, before any body is sent.
    RawClient c(port);
    c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n");
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    // A chunked body that grows past the limit.
    RawClient c(port);
    c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n");
    c.send("8\r\n12345678\r\n0\r\n\r\n");
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
  }
  {
    // Exactly at the limit is fine.
    RawClient c(port);
    c.send(post("/", std::string(10, 'x')));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(calls, 1);
}

TEST_F(HttpServerTest, MalformedRequestsGet400AndTheConnectionIsClosed) {
  uint16_t port = start(echo);
  for (std::string bad : {"GARBAGE\r\n\r\n", "GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                          "GET / HTTP/9.9\r\n\r\n", "GET / HTTP/1.1\r\nBad Header\r\n\r\n"}) {
    RawClient c(port);
    c.send(bad);
    auto r = c.read_response();
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_TRUE(c.closed_by_peer()) << bad;
  }
}

TEST_F(HttpServerTest, HandlerMayRespondLaterFromAnotherThread) {
  std::mutex mu;
  std::vector<std::pair<std::string, Respond>> pending;
  uint16_t port = start([&](HttpRequest&& req, Respond respond) {
    std::lock_guard l(mu);
    pending.emplace_back(req.body, std::move(respond));
  });
  RawClient c(port);
  c.send(post("/", "one"));
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard l(mu);
    return pending.size() == 1;
  }));
  std::thread responder([&] {
    std::this_thread::sleep_for(50ms);  // the response really comes later
    std::lock_guard l(mu);
    pending[0].second(HttpResponse::text(202, "late " + pending[0].first));
    pending[0].second(HttpResponse::text(500, "second call is ignored"));
  });
  auto r = c.read_response();
  responder.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, "late one");
  // The connection stays usable.
  c.send(post("/", "two"));
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard l(mu);
    return pending.size() == 2;
  }));
  std::async(std::launch::async, [&] {
    std::lock_guard l(mu);
    pending[1].second(HttpResponse::text(200, "ok"));
  }).wait();
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "ok");
}

TEST_F(HttpServerTest, DroppedRespondAnswers500AndAThrowingHandlerToo) {
  uint16_t port = start([](HttpRequest&& req, Respond) {
    if (req.path == "/throw") throw std::runtime_error("boom");
  });
  RawClient c(port);
  c.send(post("/drop", "x"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  c.send(post("/throw", "x"));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
}

TEST_F(HttpServerTest, IdleConnectionsAreClosed) {
  HttpServerOptions opts;
  opts.idle_timeout = 200ms;
  uint16_t port = start(echo, opts);
  RawClient c(port);
  c.send(post("/", "x"));
  ASSERT_TRUE(c.read_response());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_TRUE(wait_until([&] { return server_->open_connections() == 0; }));
}

TEST_F(HttpServerTest, StopClosesOpenConnectionsAndStopsListening) {
  std::mutex mu;
  std::vector<Respond> pending;
  uint16_t port = start([&](HttpRequest&&, Respond respond) {
    std::lock_guard l(mu);
    pending.push_back(std::move(respond));
  });
  RawClient idle(port), busy(port);
  busy.send(post("/", "waiting"));
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard l(mu);
    return pending.size() == 1;
  }));
  ASSERT_TRUE(wait_until([&] { return server_->open_connections() == 2; }));
  server_->stop();
  EXPECT_TRUE(idle.closed_by_peer());
  EXPECT_TRUE(busy.closed_by_peer());
  // Answering after stop() is harmless.
  {
    std::lock_guard l(mu);
    pending[0](HttpResponse::text(200, "too late"));
    pending.clear();
  }
  EXPECT_TRUE(wait_until([&] { return server_->open_connections() == 0; }));
  RawClient after(port);
  EXPECT_FALSE(after.connected() && !after.closed_by_peer());
  server_->stop();  // idempotent
}

TEST_F(HttpServerTest, PortInUseIsAnError) {
  uint16_t port = start(echo);
  HttpServerOptions opts;
  opts.bind = "127.0.0.1";
  opts.port = port;
  HttpServer second(pool_, opts, echo);
  auto st = second.start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message,
            "cannot listen on 127.0.0.1:" + std::to_string(port) + ": Address already in use");
  HttpServerOptions bad;
  bad.bind = "not an address";
  HttpServer third(pool_, bad, echo);
  EXPECT_FALSE(third.start());
}

}  // namespace
}  // namespace ingestor::net
