#include "net/http_client.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "base/hash.h"
#include "net/http_server.h"

namespace ingestor::net {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A temp dir removed at the end of the test.
struct TempDir {
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "http_client_test.XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

// HttpServer on loopback that echoes: the body's sha256 and size as headers, and the
// method+target as body; "/big" answers `big_size` bytes; "/hang" never answers.
struct EchoServer {
  EchoServer() : pool(1) {
    pool.start();
    HttpServerOptions o;
    o.bind = "127.0.0.1";
    o.body_limit = 64 * 1024 * 1024;
    server = std::make_unique<HttpServer>(pool, o, [this](HttpRequest&& req, Respond respond) {
      requests.fetch_add(1);
      if (req.path == "/hang") {
        std::lock_guard lock(mu);
        hung.push_back(std::move(respond));
        return;
      }
      HttpResponse r;
      if (req.path == "/big") {
        r.body.assign(big_size, 'x');
      } else {
        r.body = req.method + " " + req.target;
      }
      r.headers.emplace_back("X-Body-Sha256", sha256_hex(req.body));
      r.headers.emplace_back("X-Body-Size", std::to_string(req.body.size()));
      if (const auto* h = req.header("X-Test")) r.headers.emplace_back("X-Echo", *h);
      if (req.path == "/error") r.status = 503;
      respond(std::move(r));
    });
    EXPECT_TRUE(server->start());
  }
  ~EchoServer() {
    {
      std::lock_guard lock(mu);
      for (auto& r : hung) r(HttpResponse::text(200, "late"));
    }
    server->stop();
    pool.stop();
  }
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(server->port()) + std::string(path);
  }
  IoPool pool;
  std::unique_ptr<HttpServer> server;
  std::atomic<int> requests{0};
  size_t big_size = 1000;
  std::mutex mu;
  std::vector<Respond> hung;
};

TEST(ParseUrl, Forms) {
  auto u = parse_url("http://127.0.0.1:9000/a%20b/c?x=1&y");
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->endpoint.tls);
  EXPECT_EQ(u->endpoint.host, "127.0.0.1");
  EXPECT_EQ(u->endpoint.port, 9000);
  EXPECT_EQ(u->target, "/a%20b/c?x=1&y");
  EXPECT_EQ(u->endpoint.host_header(), "127.0.0.1:9000");

  u = parse_url("https://s3.us-east-1.amazonaws.com");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->endpoint.tls);
  EXPECT_EQ(u->endpoint.port, 443);
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->endpoint.host_header(), "s3.us-east-1.amazonaws.com");

  u = parse_url("http://[::1]:8080/x");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->endpoint.host, "::1");
  EXPECT_EQ(u->endpoint.host_header(), "[::1]:8080");

  EXPECT_FALSE(parse_url("ftp://x/"));
  EXPECT_FALSE(parse_url("not a url"));
  EXPECT_FALSE(parse_url("http:///nohost"));
}

TEST(HttpClient, FallbackCaBundleOnlyWhereOpenSslDefaultsAreMissing) {
  // This machine (Debian) has OpenSSL's built-in CA places, so no fallback; where they are
  // missing (the static binary on Amazon Linux) a distribution bundle is used unless the operator
  // set SSL_CERT_FILE or SSL_CERT_DIR.
  struct stat sb {};
  const bool defaults_exist = ::stat(X509_get_default_cert_file(), &sb) == 0 ||
                              ::stat(X509_get_default_cert_dir(), &sb) == 0;
  if (defaults_exist) {
    EXPECT_EQ(fallback_ca_bundle(), nullptr);
  }
  ::setenv(X509_get_default_cert_file_env(), "/nonexistent/ca.pem", 1);
  EXPECT_EQ(fallback_ca_bundle(), nullptr);  // the operator's choice wins
  ::unsetenv(X509_get_default_cert_file_env());
}

TEST(HttpClient, GetAndPostReuseOneConnection) {
  EchoServer s;
  HttpClient c;
  for (int i = 0; i < 3; ++i) {
    auto r = c.request("POST", s.url("/p?i=" + std::to_string(i)), {{"X-Test", "v"}}, "hello");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "POST /p?i=" + std::to_string(i));
    EXPECT_EQ(*r->header("x-body-sha256"), sha256_hex("hello"));
    EXPECT_EQ(*r->header("X-Echo"), "v");
    EXPECT_EQ(r->reused_connection, i > 0);
  }
  EXPECT_EQ(c.connections_opened(), 1u);
  EXPECT_EQ(c.idle_connections(), 1u);
  auto r = c.request("GET", s.url("/g"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET /g");
  EXPECT_EQ(*r->header("X-Body-Size"), "0");
}

TEST(HttpClient, ReconnectsWhenTheServerClosedAnIdleConnection) {
  EchoServer s;
  HttpClient c;
  ASSERT_TRUE(c.request("GET", s.url("/a")));
  // Restart the server: the pooled connection is now dead.
  uint16_t port = s.server->port();
  s.server->stop();
  HttpServerOptions o;
  o.bind = "127.0.0.1";
  o.port = port;
  HttpServer again(s.pool, o, [](HttpRequest&&, Respond respond) {
    respond(HttpResponse::text(200, "second"));
  });
  ASSERT_TRUE(again.start());
  auto r = c.request("GET", s.url("/b"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "second");
  EXPECT_EQ(c.connections_opened(), 2u);
  again.stop();
}

TEST(HttpClient, StreamsAFileRangeBody) {
  EchoServer s;
  TempDir dir;
  std::string data;
  for (int i = 0; i < 300000; ++i) data += static_cast<char>('a' + i % 26);
  std::string path = dir.path + "/f";
  std::ofstream(path, std::ios::binary) << data;
  HttpClientOptions o;
  o.io_chunk = 4096;  // many writes
  HttpClient c(o);
  auto parsed = parse_url(s.url("/upload"));
  ClientRequest req;
  req.method = "PUT";
  req.endpoint = parsed->endpoint;
  req.target = parsed->target;
  req.body_file = FileRange{path, 1000, 200000};
  auto r = c.request(req);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r->header("X-Body-Size"), "200000");
  EXPECT_EQ(*r->header("X-Body-Sha256"), sha256_hex(std::string_view(data).substr(1000, 200000)));

  req.body_file = FileRange{path, 299000, 5000};  // past the end of the file
  auto bad = c.request(req);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::kIo);
}

TEST(HttpClient, ResponseToSinkAndBodyLimits) {
  EchoServer s;
  s.big_size = 1 << 20;
  HttpClientOptions o;
  o.io_chunk = 8192;
  HttpClient c(o);
  auto parsed = parse_url(s.url("/big"));
  ClientRequest req;
  req.endpoint = parsed->endpoint;
  req.target = parsed->target;
  size_t got = 0, calls = 0;
  req.sink = [&](std::string_view piece) -> Status {
    got += piece.size();
    ++calls;
    return {};
  };
  auto r = c.request(req);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(got, s.big_size);
  EXPECT_GT(calls, 1u);
  EXPECT_TRUE(r->body.empty());
  EXPECT_EQ(r->body_bytes, s.big_size);

  req.sink = nullptr;
  req.max_body = 1000;
  auto big = c.request(req);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, Errc::kTooLarge);

  // A sink error aborts the exchange and is returned.
  req.max_body.reset();
  req.sink = [](std::string_view) -> Status { return make_error(Errc::kIo, "disk full"); };
  auto failed = c.request(req);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message, "disk full");

  // Non-2xx bodies go to memory, not to the sink.
  parsed = parse_url(s.url("/error"));
  req.target = parsed->target;
  auto err = c.request(req);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->status, 503);
  EXPECT_EQ(err->body, "GET /error");
}

TEST(HttpClient, TimeoutAndConnectionRefused) {
  EchoServer s;
  HttpClientOptions o;
  o.timeout = 300ms;
  HttpClient c(o);
  auto start = std::chrono::steady_clock::now();
  auto r = c.request("GET", s.url("/hang"));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kTimeout);
  EXPECT_LT(took, 3s);
  EXPECT_GE(took, 250ms);

  // A port nobody listens on.
  uint16_t port = s.server->port();
  s.server->stop();
  auto refused = c.request("GET", "http://127.0.0.1:" + std::to_string(port) + "/");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::kIo);
  EXPECT_NE(refused.error().message.find("connect"), std::string::npos);
}

TEST(HttpClient, ConcurrentCallers) {
  EchoServer s;
  HttpClient c;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        std::string body(100 + t * 10 + i, 'z');
        auto r = c.request("POST", s.url("/c"), {}, body);
        if (r && *r->header("X-Body-Sha256") == sha256_hex(body)) ok.fetch_add(1);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 160);
  EXPECT_LE(c.connections_opened(), 8u);
}

// ---- TLS ---------------------------------------------------------------------------------------

// A one-thread HTTPS server with a self-signed certificate for "localhost", made with the
// openssl command line tool.
class TlsServer {
 public:
  explicit TlsServer(const std::string& dir) {
    cert_ = dir + "/cert.pem";
    key_ = dir + "/key.pem";
    std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
        "-addext subjectAltName=DNS:localhost -keyout " +
        key_ + " -out " + cert_ + " >/dev/null 2>&1";
    ok_ = std::system(cmd.c_str()) == 0;
    if (!ok_) return;
    ctx_.use_certificate_chain_file(cert_);
    ctx_.use_private_key_file(key_, boost::asio::ssl::context::pem);
    acceptor_.open(boost::asio::ip::tcp::v4());
    acceptor_.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    thread_ = std::thread([this] { run(); });
  }
  ~TlsServer() {
    stop_ = true;
    boost::system::error_code ec;
    if (thread_.joinable()) {
      // Wake the accept with a connection.
      boost::asio::ip::tcp::socket s(ioc_);
      s.connect(acceptor_.local_endpoint(), ec);
      thread_.join();
    }
  }
  bool ok() const { return ok_; }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  const std::string& cert() const { return cert_; }

 private:
  void run() {
    namespace http = boost::beast::http;
    while (!stop_) {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket sock(ioc_);
      acceptor_.accept(sock, ec);
      if (ec || stop_) return;
      boost::asio::ssl::stream<boost::asio::ip::tcp::socket> tls(std::move(sock), ctx_);
      tls.handshake(boost::asio::ssl::stream_base::server, ec);
      if (ec) continue;  // the client rejected the certificate
      boost::beast::flat_buffer buf;
      for (;;) {
        http::request<http::string_body> req;
        http::read(tls, buf, req, ec);
        if (ec) break;
        http::response<http::string_body> res{http::status::ok, 11};
        res.body() = "tls " + std::string(req.target()) + " sni=" +
                     (SSL_get_servername(tls.native_handle(), TLSEXT_NAMETYPE_host_name)
                          ? SSL_get_servername(tls.native_handle(), TLSEXT_NAMETYPE_host_name)
                          : "");
        res.prepare_payload();
        http::write(tls, res, ec);
        if (ec) break;
      }
    }
  }

  bool ok_ = false;
  std::string cert_, key_;
  boost::asio::io_context ioc_;
  boost::asio::ssl::context ctx_{boost::asio::ssl::context::tls_server};
  boost::asio::ip::tcp::acceptor acceptor_{ioc_};
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

TEST(HttpClient, HttpsVerifiesTheServer) {
  TempDir dir;
  TlsServer server(dir.path);
  ASSERT_TRUE(server.ok()) << "the openssl command line tool is needed (apt-get install openssl)";
  const std::string port = std::to_string(server.port());

  // Trusted CA file and the certificate's name: works, with SNI, over one connection.
  HttpClientOptions o;
  o.timeout = 10s;
  o.ca_file = server.cert();
  HttpClient trusted(o);
  for (int i = 0; i < 2; ++i) {
    auto r = trusted.request("GET", "https://localhost:" + port + "/x");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->body, "tls /x sni=localhost");
  }
  EXPECT_EQ(trusted.connections_opened(), 1u);
  trusted.clear_idle();  // the test server serves one connection at a time

  // The right certificate for the wrong name: rejected.
  auto wrong_name = trusted.request("GET", "https://127.0.0.1:" + port + "/x");
  ASSERT_FALSE(wrong_name);
  EXPECT_EQ(wrong_name.error().code, Errc::kAuth) << wrong_name.error().message;

  // Not in the system store: rejected.
  HttpClient system_only;
  auto untrusted = system_only.request("GET", "https://localhost:" + port + "/x");
  ASSERT_FALSE(untrusted);
  EXPECT_EQ(untrusted.error().code, Errc::kAuth) << untrusted.error().message;

  // verify_peer = false (tests only) accepts it.
  HttpClientOptions insecure;
  insecure.verify_peer = false;
  HttpClient any(insecure);
  auto r = any.request("GET", "https://127.0.0.1:" + port + "/y");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "tls /y sni=");

  // A CA file that does not exist is a configuration error.
  HttpClientOptions missing;
  missing.ca_file = dir.path + "/nope.pem";
  HttpClient bad(missing);
  auto st = bad.init();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kConfig);
}

}  // namespace
}  // namespace ingestor::net
