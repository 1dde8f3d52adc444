// HttpSource: Flume's checklist (flume.md section 9, "HTTP source and JSONHandler") against a real
// socket and a MemoryChannel, plus the handlers and the config table as pure functions.
#include "agent/sources/http_source.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <thread>

#include "agent/channels/memory_channel.h"
#include "agent/sources/json_number_text.h"
#include "base/charset.h"

namespace ingestor {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

// ---- handlers as pure functions ----------------------------------------------------------------

TEST(JsonHandler, TwoEventsWithHeadersAndBodies) {
  auto r = json_handler_events(
      "application/json",
      R"([{"headers":{"a":"b","n":1},"body":"one"},{"headers":{},"body":"<b>\"two\"</b>"}])");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].body.str(), "one");
  EXPECT_EQ(*(*r)[0].headers.find("a"), "b");
  EXPECT_EQ(*(*r)[0].headers.find("n"), "1");       // Gson coerces scalars to strings
  EXPECT_EQ((*r)[1].body.str(), "<b>\"two\"</b>");  // escapes survive, HTML is not escaped
  EXPECT_TRUE((*r)[1].headers.empty());
}

TEST(JsonHandler, NumbersKeepTheirTextAsSent) {
  // Gson reads a number into a String as written; a double or an int64 would print it back as
  // 1E0, 1E-1, Infinity, or lose the digits of a long id.
  auto r = json_handler_events(
      "application/json",
      R"([{"headers":{"a":1.0,"b":0.10,"c":1e400,"d":123456789012345678901234567890,)"
      R"("e":-0,"f":1E+2,"g":18446744073709551616,"h":-9223372036854775809,"i":7},)"
      R"("body":0.10}, {"body":1e400}, {"body":   -12.50e-3 }])");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  const Headers& h = (*r)[0].headers;
  EXPECT_EQ(*h.find("a"), "1.0");
  EXPECT_EQ(*h.find("b"), "0.10");
  EXPECT_EQ(*h.find("c"), "1e400");
  EXPECT_EQ(*h.find("d"), "123456789012345678901234567890");
  EXPECT_EQ(*h.find("e"), "-0");
  EXPECT_EQ(*h.find("f"), "1E+2");
  EXPECT_EQ(*h.find("g"), "18446744073709551616");
  EXPECT_EQ(*h.find("h"), "-9223372036854775809");
  EXPECT_EQ(*h.find("i"), "7");
  EXPECT_EQ((*r)[0].body.str(), "0.10");
  EXPECT_EQ((*r)[1].body.str(), "1e400");
  EXPECT_EQ((*r)[2].body.str(), "-12.50e-3");
}

TEST(JsonHandler, NumberTextParserIsStrictJsonOtherwise) {
  json::parse_options o;
  auto v = parse_json_number_text(R"( {"k":[1.50,true,null,"s"],"k":{"x":2}} )", o);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(json::serialize(*v), R"({"k":{"x":"2"}})");  // the last duplicate wins
  EXPECT_FALSE(parse_json_number_text("[1] [2]", o));    // extra data
  EXPECT_FALSE(parse_json_number_text("[01]", o));
  EXPECT_FALSE(parse_json_number_text("[1.]", o));
  EXPECT_FALSE(parse_json_number_text("[", o));
  auto arr = parse_json_number_text("[1.0, [2e5]]", o);
  ASSERT_TRUE(arr);
  EXPECT_EQ(json::serialize(*arr), R"(["1.0",["2e5"]])");
}

TEST(JsonHandler, MissingBodyAndHeadersAreEmpty) {
  auto r = json_handler_events("", R"([{"headers":{"k":"v"}},{"body":"x"},{}])");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 3u);
  EXPECT_TRUE((*r)[0].body.empty());
  EXPECT_EQ((*r)[1].body.str(), "x");
  EXPECT_TRUE((*r)[1].headers.empty());
  EXPECT_TRUE((*r)[2].body.empty());
}

TEST(JsonHandler, BodiesAreEncodedInTheRequestCharset) {
  const std::string json = "[{\"headers\":{\"h\":\"\xC3\xA9\"},\"body\":\"h\xC3\xA9\"}]";
  // charset=utf-16: the request is UTF-16 and each body is the string's UTF-16 bytes (with BOM).
  auto r = json_handler_events("application/json; charset=UTF-16",
                               encode_from_utf8(json, Charset::kUtf16));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)[0].body.str(), bytes({0xFE, 0xFF, 0, 'h', 0, 0xE9}));
  EXPECT_EQ(*(*r)[0].headers.find("h"), "\xC3\xA9");  // headers stay UTF-8
  r = json_handler_events("application/json;charset=\"utf-32\"",
                          encode_from_utf8(json, Charset::kUtf32));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)[0].body.str(), bytes({0, 0, 0, 'h', 0, 0, 0, 0xE9}));
  r = json_handler_events("application/json; charset=utf-8", json);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].body.str(), "h\xC3\xA9");
}

TEST(JsonHandler, BadInputIsClassified) {
  // 400 (kInvalidArgument): bad syntax, a top level that is not an array, a non-object event.
  for (const char* bad : {"[{\"body\":", "{\"body\":\"x\"}", "[1]", "[{\"headers\":[1]}]",
                          "[{\"body\":{\"x\":1}}]"}) {
    auto r = json_handler_events("application/json", bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument) << bad;
    EXPECT_EQ(r.error().message.rfind("Request has invalid JSON Syntax.", 0), 0u) << bad;
  }
  // 500: a charset Flume's JSONHandler refuses, an empty body.
  auto r = json_handler_events("application/json; charset=ISO-8859-1", "[]");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(r.error().message, "JSON handler supports UTF-8, UTF-16 and UTF-32 only.");
  EXPECT_FALSE(json_handler_events("text/plain; charset=utf-16le", "[]"));
  for (const char* empty : {"", "  \r\n"}) {
    r = json_handler_events("application/json", empty);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().code, Errc::kInvalidArgument);
  }
}

TEST(BlobHandler, BodyIsOneEventAndQueryParametersAreHeaders) {
  auto r = blob_handler_events("a=1&b=x%20y+z&a=2&flag", "raw \x01 bytes", {});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].body.str(), "raw \x01 bytes");
  EXPECT_EQ(*(*r)[0].headers.find("a"), "1");  // the first value
  EXPECT_EQ(*(*r)[0].headers.find("b"), "x y z");
  EXPECT_EQ(*(*r)[0].headers.find("flag"), "");
  auto missing = blob_handler_events("a=1", "x", {"a", "host"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().code, Errc::kInvalidArgument);
}

// ---- configuration -----------------------------------------------------------------------------

Settings settings(Context ctx, Diagnostics& d) {
  return Settings::validate(http_source_spec(), ctx, "source", "r1", "a1.sources.r1.", d);
}

TEST(HttpSourceConfig, DefaultsAreFlumes) {
  Diagnostics d;
  auto o = HttpSource::options_from(settings({{"port", "8080"}}, d));
  ASSERT_FALSE(d.has_errors());
  ASSERT_TRUE(o);
  EXPECT_EQ(o->bind, "0.0.0.0");
  EXPECT_EQ(o->port, 8080);
  EXPECT_EQ(o->handler, HttpSourceHandler::kJson);
  EXPECT_EQ(o->max_request_size, 16u * 1024 * 1024);
  EXPECT_TRUE(o->send_server_version);
  EXPECT_EQ(http_source_spec().alias, "http");
  EXPECT_EQ(http_source_spec().class_name, "org.apache.flume.source.http.HTTPSource");
}

TEST(HttpSourceConfig, KeysAreReadAndCheckedLikeFlume) {
  Diagnostics d;
  auto o = HttpSource::options_from(settings({{"port", "0"},
                                              {"bind", "127.0.0.1"},
                                              {"handler", std::string(kBlobHandlerClass)},
                                              {"handler.mandatoryParameters", "host, app"},
                                              {"maxRequestSize", "1024"},
                                              {"enableSSL", "false"},
                                              {"HttpConfiguration.sendServerVersion", "false"},
                                              {"QueuedThreadPool.maxThreads", "10"},
                                              {"ServerConnector.idleTimeout", "1500"}},
                                             d));
  ASSERT_FALSE(d.has_errors()) << d.all()[0].to_string();
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->handler, HttpSourceHandler::kBlob);
  EXPECT_EQ(o->mandatory_parameters, (std::vector<std::string>{"host", "app"}));
  EXPECT_EQ(o->max_request_size, 1024u);
  EXPECT_FALSE(o->send_server_version);
  EXPECT_EQ(o->idle_timeout, 1500ms);

  Diagnostics d2;
  settings({{"bind", "x"}}, d2);  // port is required
  EXPECT_TRUE(d2.has_errors());
  Diagnostics d3;
  settings({{"port", "70000"}}, d3);
  EXPECT_TRUE(d3.has_errors());

  Diagnostics d4;
  auto bad = HttpSource::options_from(settings({{"port", "1"}, {"handler", "com.x.My"}}, d4));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::kConfig);
  Diagnostics d5;
  auto ssl = HttpSource::options_from(settings({{"port", "1"}, {"ssl", "true"}}, d5));
  ASSERT_FALSE(ssl);
  EXPECT_NE(ssl.error().message.find("ssl"), std::string::npos);
}

// ---- over a socket -----------------------------------------------------------------------------

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// One request on a fresh connection (HTTP/1.1, Connection: close); status 0 on failure.
Reply request(uint16_t port, const std::string& method, const std::string& path,
              const std::string& body, const std::string& extra_headers = "") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Reply r;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return r;
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                    extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                    body;
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string in;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) in.append(buf, static_cast<size_t>(n));
  ::close(fd);
  size_t end = in.find("\r\n\r\n");
  if (in.size() < 12 || end == std::string::npos) return r;
  r.status = std::stoi(in.substr(9, 3));
  size_t pos = in.find("\r\n") + 2;
  while (pos < end) {
    size_t e = in.find("\r\n", pos);
    std::string line = in.substr(pos, e - pos);
    size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = line.substr(colon + 2);
    pos = e + 2;
  }
  r.body = in.substr(end + 4);
  return r;
}

class HttpSourceTest : public ::testing::Test {
 protected:
  void SetUp() override { pool_.start(); }
  void TearDown() override {
    if (source_) source_->stop();
    pool_.stop();
  }

  void start(int64_t capacity = 100, int64_t tx_capacity = 100,
             std::chrono::milliseconds keep_alive = 3000ms, HttpSourceOptions o = {}) {
    MemoryChannelOptions co;
    co.capacity = capacity;
    co.transaction_capacity = tx_capacity;
    co.byte_capacity = 0;
    channel_ = std::make_unique<MemoryChannel>("c1", co);
    ASSERT_TRUE(channel_->start());
    ChannelSelector sel;
    sel.required.push_back(channel_.get());
    auto processor = std::make_shared<ChannelProcessor>(std::vector<std::unique_ptr<Interceptor>>{},
                                                        std::move(sel));
    o.bind = "127.0.0.1";
    o.port = 0;
    o.keep_alive = keep_alive;
    source_ = std::make_unique<HttpSource>("r1", processor, pool_, o);
    auto st = source_->start();
    ASSERT_TRUE(st) << st.error().message;
    port_ = static_cast<uint16_t>(source_->bound_port());
    ASSERT_NE(port_, 0);
  }

  std::vector<Event> take(size_t max) {
    Tx tx = channel_->begin();
    EXPECT_TRUE(tx.take(max));
    std::vector<Event> out(tx.taken().begin(), tx.taken().end());
    EXPECT_TRUE(tx.commit());
    return out;
  }

  int64_t counter(const Counter SourceCounters::*c) { return (source_->counters().*c).get(); }

  net::IoPool pool_{2};
  std::unique_ptr<MemoryChannel> channel_;
  std::unique_ptr<HttpSource> source_;
  uint16_t port_ = 0;
};

const std::string kTwoEvents =
    R"([{"headers":{"a":"b"},"body":"random_body"},{"headers":{"a2":"b2"},"body":"random_body2"}])";

TEST_F(HttpSourceTest, PostOfTwoEventsIsCommittedThenAnswered200) {
  start();
  Reply r = request(port_, "POST", "/", kTwoEvents, "Content-Type: application/json\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  auto events = take(10);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].body.str(), "random_body");
  EXPECT_EQ(*events[0].headers.find("a"), "b");
  EXPECT_EQ(events[1].body.str(), "random_body2");
  EXPECT_EQ(*events[1].headers.find("a2"), "b2");
  auto& c = source_->counters();
  EXPECT_EQ(c.append_batch_received.get(), 1);
  EXPECT_EQ(c.append_batch_accepted.get(), 1);
  EXPECT_EQ(c.event_received.get(), 2);
  EXPECT_EQ(c.event_accepted.get(), 2);
}

TEST_F(HttpSourceTest, GetIsHandledLikePostOnAnyPath) {
  start();
  EXPECT_EQ(request(port_, "GET", "/any/path?x=1", kTwoEvents).status, 200);
  EXPECT_EQ(channel_->size(), 2u);
}

TEST_F(HttpSourceTest, Utf16RequestGivesUtf16Bodies) {
  start();
  Reply r = request(port_, "POST", "/", encode_from_utf8(kTwoEvents, Charset::kUtf16),
                    "Content-Type: application/json; charset=utf-16\r\n");
  EXPECT_EQ(r.status, 200);
  auto events = take(10);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].body.str(), encode_from_utf8("random_body", Charset::kUtf16));
  EXPECT_EQ(decode_to_utf8(events[1].body.view(), Charset::kUtf16), "random_body2");
}

TEST_F(HttpSourceTest, TraceAndOptionsAre403PutAndDeleteAre405) {
  start();
  EXPECT_EQ(request(port_, "TRACE", "/", "").status, 403);
  EXPECT_EQ(request(port_, "OPTIONS", "/", "").status, 403);
  EXPECT_EQ(request(port_, "PUT", "/", kTwoEvents).status, 405);
  EXPECT_EQ(request(port_, "DELETE", "/", "").status, 405);
  EXPECT_EQ(channel_->size(), 0u);
}

TEST_F(HttpSourceTest, MalformedJsonIs400AndCountsEventReadFail) {
  start();
  Reply r = request(port_, "POST", "/", R"([{"body": "x")");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body.rfind("Bad request from client. ", 0), 0u) << r.body;
  EXPECT_EQ(counter(&SourceCounters::event_read_fail), 1);
  r = request(port_, "POST", "/", R"({"body": "x"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(counter(&SourceCounters::event_read_fail), 2);
  EXPECT_EQ(counter(&SourceCounters::append_batch_received), 0);
}

TEST_F(HttpSourceTest, UnsupportedCharsetAndEmptyBodyAre500) {
  start();
  Reply r = request(port_, "POST", "/", kTwoEvents,
                    "Content-Type: application/json; charset=ISO-8859-1\r\n");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body,
            "Deserializer threw unexpected exception. JSON handler supports UTF-8, UTF-16 and "
            "UTF-32 only.");
  EXPECT_EQ(request(port_, "POST", "/", "").status, 500);
  EXPECT_EQ(counter(&SourceCounters::event_read_fail), 2);
  EXPECT_EQ(channel_->size(), 0u);
}

TEST_F(HttpSourceTest, BatchLargerThanTransactionCapacityIs503) {
  start(100, 100);
  std::string json = "[";
  for (int i = 0; i < 150; ++i) json += std::string(i ? "," : "") + R"({"body":"e"})";
  json += "]";
  Reply r = request(port_, "POST", "/", json);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers["retry-after"], "1");
  EXPECT_EQ(counter(&SourceCounters::channel_write_fail), 1);
  EXPECT_EQ(counter(&SourceCounters::event_received), 150);
  EXPECT_EQ(counter(&SourceCounters::event_accepted), 0);
  EXPECT_EQ(channel_->size(), 0u);
}

TEST_F(HttpSourceTest, FullChannelIsRetriedForKeepAliveThen503) {
  start(2, 2, 300ms);
  EXPECT_EQ(request(port_, "POST", "/", kTwoEvents).status, 200);  // the channel is now full
  auto t0 = std::chrono::steady_clock::now();
  Reply r = request(port_, "POST", "/", R"([{"body":"x"}])");
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers["retry-after"], "1");
  EXPECT_GE(waited, 250ms);  // it waited about keep-alive before giving up
  EXPECT_LT(waited, 3s);
  EXPECT_EQ(counter(&SourceCounters::channel_write_fail), 1);
  EXPECT_EQ(channel_->size(), 2u);
}

TEST_F(HttpSourceTest, FullChannelThatDrainsWithinKeepAliveGives200) {
  start(2, 2, 5000ms);
  EXPECT_EQ(request(port_, "POST", "/", kTwoEvents).status, 200);
  std::thread sink([&] {
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(take(10).size(), 2u);
  });
  Reply r = request(port_, "POST", "/", R"([{"body":"late"}])");
  sink.join();
  EXPECT_EQ(r.status, 200);
  auto events = take(10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].body.str(), "late");
  EXPECT_EQ(counter(&SourceCounters::channel_write_fail), 0);
  EXPECT_EQ(counter(&SourceCounters::event_accepted), 3);
}

TEST_F(HttpSourceTest, BodyOverMaxRequestSizeIs413) {
  HttpSourceOptions o;
  o.max_request_size = 64;
  start(100, 100, 3000ms, o);
  EXPECT_EQ(request(port_, "POST", "/", kTwoEvents).status, 413);
  EXPECT_EQ(request(port_, "POST", "/", R"([{"body":"small"}])").status, 200);
}

TEST_F(HttpSourceTest, BlobHandlerMakesOneEventWithQueryHeaders) {
  HttpSourceOptions o;
  o.handler = HttpSourceHandler::kBlob;
  o.mandatory_parameters = {"host"};
  start(100, 100, 3000ms, o);
  EXPECT_EQ(request(port_, "POST", "/?host=h1&x=%41", "any bytes").status, 200);
  EXPECT_EQ(request(port_, "POST", "/?x=1", "no host").status, 500);
  auto events = take(10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].body.str(), "any bytes");
  EXPECT_EQ(*events[0].headers.find("host"), "h1");
  EXPECT_EQ(*events[0].headers.find("x"), "A");
}

TEST_F(HttpSourceTest, PortInUseFailsStart) {
  start();
  HttpSourceOptions o;
  o.bind = "127.0.0.1";
  o.port = port_;
  ChannelSelector sel;
  sel.required.push_back(channel_.get());
  HttpSource second("r2",
                    std::make_shared<ChannelProcessor>(std::vector<std::unique_ptr<Interceptor>>{},
                                                       std::move(sel)),
                    pool_, o);
  auto st = second.start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("Address already in use"), std::string::npos);
  EXPECT_EQ(second.bound_port(), 0);
}

}  // namespace
}  // namespace ingestor
