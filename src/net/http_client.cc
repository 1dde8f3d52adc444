#include "net/http_client.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>

#include "base/file.h"

namespace ingestor::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kHeaderLimit = 64 * 1024;

bool iequals(std::string_view a, std::string_view b) { return beast::iequals(a, b); }

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// Runs the io_context until the operation started by `init` completes; returns its error code.
// Each connection has its own io_context, run only by the thread that borrowed the connection.
template <class Init>
beast::error_code run_op(asio::io_context& ioc, Init&& init) {
  beast::error_code out = asio::error::would_block;
  init([&out](beast::error_code ec, auto&&...) { out = ec; });
  ioc.restart();
  ioc.run();
  return out;
}

// A pooled connection: plain TCP or TLS over TCP, with its own io_context.
struct Connection {
  // Beast reads at most min(64 KiB, free capacity) per call: reserve room so a large body comes
  // in 64 KiB reads, not the 512 B - 8 KiB a fresh flat_buffer gives (measured: 16x the syscalls).
  explicit Connection(Endpoint ep) : endpoint(std::move(ep)) { buffer.reserve(256 * 1024); }
  Endpoint endpoint;
  asio::io_context ioc{1};
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<ssl::stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;  // bytes read past a response stay here for the next one
  Clock::time_point idle_since{};

  beast::tcp_stream& lowest() { return tls ? tls->next_layer() : *plain; }
};

// Error while talking to the server, with whether any response byte had arrived.
struct ExchangeError {
  Error error;
  bool before_response = false;  // nothing of the response was received
};

Error transport_error(const std::string& what, const beast::error_code& ec) {
  if (ec == beast::error::timeout || ec == asio::error::timed_out)
    return Error(Errc::kTimeout, what + ": timed out");
  if (ec.category() == asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED)
    return Error(Errc::kAuth, what + ": TLS certificate verify failed (set a CA file?)");
  return Error(Errc::kIo, what + ": " + ec.message());
}

}  // namespace

std::string Endpoint::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (tls ? 443 : 80)) h += ":" + std::to_string(port);
  return h;
}

std::string Endpoint::origin() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return (tls ? "https://" : "http://") + h + ":" + std::to_string(port);
}

Result<ParsedUrl> parse_url(std::string_view url) {
  auto u = boost::urls::parse_uri(url);
  if (!u) return make_error(Errc::kInvalidArgument, fmt::format("invalid URL '{}'", url));
  ParsedUrl out;
  std::string scheme(u->scheme());
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "http" && scheme != "https")
    return make_error(Errc::kInvalidArgument,
                      fmt::format("URL '{}': scheme must be http or https", url));
  out.endpoint.tls = scheme == "https";
  if (u->host_type() == boost::urls::host_type::ipv6)
    out.endpoint.host = u->host_address();
  else
    out.endpoint.host = u->host();
  if (out.endpoint.host.empty())
    return make_error(Errc::kInvalidArgument, fmt::format("URL '{}' has no host", url));
  out.endpoint.port = out.endpoint.tls ? 443 : 80;
  if (u->has_port()) {
    if (u->port_number() == 0)
      return make_error(Errc::kInvalidArgument, fmt::format("URL '{}': bad port", url));
    out.endpoint.port = u->port_number();
  }
  out.target = std::string(u->encoded_path());
  if (out.target.empty()) out.target = "/";
  if (u->has_query()) out.target += "?" + std::string(u->encoded_query());
  return out;
}

const std::string* ClientResponse::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.first, name)) return &h.second;
  return nullptr;
}

struct HttpClient::Impl {
  explicit Impl(const HttpClientOptions& o) : options(o) {}

  Result<ClientResponse> request(const ClientRequest& req);
  Result<std::unique_ptr<Connection>> connect(const Endpoint& ep, Clock::time_point deadline,
                                              const std::string& what);
  std::unique_ptr<Connection> take_idle(const Endpoint& ep);
  void put_idle(std::unique_ptr<Connection> c);
  template <class Stream>
  Result<ClientResponse> exchange(Connection& c, Stream& stream, const ClientRequest& req,
                                  Clock::time_point deadline, const std::string& what,
                                  bool& keep_alive, bool& before_response);

  const HttpClientOptions& options;
  mutable std::mutex mu;
  std::vector<std::unique_ptr<Connection>> idle;  // guarded by mu
  std::unique_ptr<ssl::context> tls_ctx;          // set once under mu, then read-only
  std::atomic<uint64_t> opened{0};
};

const char* fallback_ca_bundle() {
  // OpenSSL looks for CAs where it was built to (Debian: /usr/lib/ssl/certs, cert.pem). The static
  // release binary also runs on Amazon Linux (the Lambda's provided.al2023, the consumer's EC2),
  // whose store is elsewhere: when the built-in places do not exist and the operator has not
  // pointed SSL_CERT_FILE / SSL_CERT_DIR anywhere, use the distribution's bundle.
  if (std::getenv(X509_get_default_cert_file_env()) || std::getenv(X509_get_default_cert_dir_env()))
    return nullptr;
  struct stat sb {};
  if (::stat(X509_get_default_cert_file(), &sb) == 0) return nullptr;
  if (::stat(X509_get_default_cert_dir(), &sb) == 0) return nullptr;
  for (const char* path : {"/etc/pki/tls/certs/ca-bundle.crt",    // Amazon Linux, Fedora, RHEL
                           "/etc/ssl/certs/ca-certificates.crt",  // Debian, Ubuntu, Alpine
                           "/etc/ssl/ca-bundle.pem",              // openSUSE
                           "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"}) {
    if (::stat(path, &sb) == 0) return path;
  }
  return nullptr;
}

HttpClient::HttpClient(HttpClientOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_)) {}

HttpClient::~HttpClient() = default;

Status HttpClient::init() {
  std::lock_guard lock(impl_->mu);
  if (impl_->tls_ctx) return {};
  try {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    boost::system::error_code ec;
    ctx->set_default_verify_paths(ec);
    if (ec) return make_error(Errc::kConfig, "cannot load the system CA store: " + ec.message());
    if (const char* bundle = fallback_ca_bundle()) {
      ctx->load_verify_file(bundle, ec);
      if (ec)
        return make_error(Errc::kConfig,
                          fmt::format("cannot load the CA bundle {}: {}", bundle, ec.message()));
    }
    if (!options_.ca_file.empty()) {
      ctx->load_verify_file(options_.ca_file, ec);
      if (ec)
        return make_error(Errc::kConfig, fmt::format("cannot load CA file {}: {}", options_.ca_file,
                                                     ec.message()));
    }
    impl_->tls_ctx = std::move(ctx);
  } catch (const std::exception& e) {
    return make_error(Errc::kConfig, std::string("TLS context: ") + e.what());
  }
  return {};
}

Result<ClientResponse> HttpClient::request(const ClientRequest& req) {
  if (req.endpoint.tls) {
    auto st = init();
    if (!st) return st.error();
  }
  try {
    return impl_->request(req);
  } catch (const std::exception& e) {
    return make_error(Errc::kInternal, fmt::format("{} {}{}: {}", req.method, req.endpoint.origin(),
                                                   req.target, e.what()));
  }
}

Result<ClientResponse> HttpClient::request(std::string method, std::string_view url,
                                           HeaderList headers, std::string_view body) {
  auto parsed = parse_url(url);
  if (!parsed) return parsed.error();
  ClientRequest req;
  req.method = std::move(method);
  req.endpoint = std::move(parsed->endpoint);
  req.target = std::move(parsed->target);
  req.headers = std::move(headers);
  req.body = body;
  return request(req);
}

size_t HttpClient::idle_connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->idle.size();
}

uint64_t HttpClient::connections_opened() const { return impl_->opened.load(); }

void HttpClient::clear_idle() {
  std::vector<std::unique_ptr<Connection>> drop;
  std::lock_guard lock(impl_->mu);
  drop.swap(impl_->idle);
}

std::unique_ptr<Connection> HttpClient::Impl::take_idle(const Endpoint& ep) {
  std::vector<std::unique_ptr<Connection>> expired;  // destroyed after the lock is released
  std::unique_ptr<Connection> found;
  {
    std::lock_guard lock(mu);
    const auto oldest = Clock::now() - options.idle_timeout;
    for (size_t i = idle.size(); i-- > 0;) {
      if (idle[i]->idle_since < oldest) {
        expired.push_back(std::move(idle[i]));
        idle.erase(idle.begin() + static_cast<ptrdiff_t>(i));
      } else if (!found && idle[i]->endpoint == ep) {
        found = std::move(idle[i]);
        idle.erase(idle.begin() + static_cast<ptrdiff_t>(i));
      }
    }
  }
  return found;
}

void HttpClient::Impl::put_idle(std::unique_ptr<Connection> c) {
  c->idle_since = Clock::now();
  std::lock_guard lock(mu);
  size_t same = 0;
  for (const auto& i : idle) same += i->endpoint == c->endpoint;
  if (same < options.max_idle_per_host) idle.push_back(std::move(c));
}

Result<std::unique_ptr<Connection>> HttpClient::Impl::connect(const Endpoint& ep,
                                                              Clock::time_point deadline,
                                                              const std::string& what) {
  auto c = std::make_unique<Connection>(ep);
  tcp::resolver resolver(c->ioc);
  asio::steady_timer timer(c->ioc);
  timer.expires_at(deadline);
  tcp::resolver::results_type results;
  beast::error_code rec = asio::error::would_block;
  bool timed_out = false;
  resolver.async_resolve(ep.host, std::to_string(ep.port),
                         [&](beast::error_code ec, tcp::resolver::results_type r) {
                           rec = ec;
                           results = std::move(r);
                           timer.cancel();
                         });
  timer.async_wait([&](beast::error_code ec) {
    if (!ec) {
      timed_out = true;
      resolver.cancel();
    }
  });
  c->ioc.restart();
  c->ioc.run();
  if (timed_out) return make_error(Errc::kTimeout, what + ": resolving " + ep.host + " timed out");
  if (rec)
    return make_error(Errc::kIo, what + ": cannot resolve " + ep.host + ": " + rec.message());

  if (ep.tls)
    c->tls = std::make_unique<ssl::stream<beast::tcp_stream>>(c->ioc, *tls_ctx);
  else
    c->plain = std::make_unique<beast::tcp_stream>(c->ioc);
  auto& lowest = c->lowest();
  lowest.expires_at(deadline);
  auto ec = run_op(c->ioc, [&](auto h) { lowest.async_connect(results, std::move(h)); });
  if (ec) return transport_error(what + ": connect " + ep.host_header(), ec);
  opened.fetch_add(1);
  boost::system::error_code ignored;
  lowest.socket().set_option(tcp::no_delay(true), ignored);

  if (ep.tls) {
    auto& s = *c->tls;
    if (!is_ip_literal(ep.host) && !SSL_set_tlsext_host_name(s.native_handle(), ep.host.c_str()))
      return make_error(Errc::kIo, what + ": cannot set TLS SNI");
    if (options.verify_peer) {
      s.set_verify_mode(ssl::verify_peer);
      s.set_verify_callback(ssl::host_name_verification(ep.host));
    } else {
      s.set_verify_mode(ssl::verify_none);
    }
    ec = run_op(c->ioc, [&](auto h) { s.async_handshake(ssl::stream_base::client, std::move(h)); });
    if (ec) return transport_error(what + ": TLS handshake with " + ep.host_header(), ec);
  }
  return c;
}

template <class Stream>
Result<ClientResponse> HttpClient::Impl::exchange(Connection& c, Stream& stream,
                                                  const ClientRequest& req,
                                                  Clock::time_point deadline,
                                                  const std::string& what, bool& keep_alive,
                                                  bool& before_response) {
  keep_alive = false;
  before_response = true;
  auto& lowest = c.lowest();

  // ---- request ----
  http::request<http::buffer_body> msg;
  msg.method_string(req.method);
  msg.target(req.target);
  msg.version(11);
  bool has_host = false, has_ua = false, has_length = false;
  for (const auto& [name, value] : req.headers) {
    has_host |= iequals(name, "host");
    has_ua |= iequals(name, "user-agent");
    has_length |= iequals(name, "content-length");
    msg.insert(name, value);
  }
  if (!has_host) msg.set(http::field::host, c.endpoint.host_header());
  if (!has_ua && !options.user_agent.empty()) msg.set(http::field::user_agent, options.user_agent);
  const uint64_t body_len = req.body_file ? req.body_file->length : req.body.size();
  const bool body_method = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
  if (!has_length && (body_len > 0 || body_method)) msg.content_length(body_len);
  msg.body().data = nullptr;
  msg.body().more = true;

  http::request_serializer<http::buffer_body> sr{msg};
  lowest.expires_at(deadline);
  auto ec = run_op(c.ioc, [&](auto h) { http::async_write_header(stream, sr, std::move(h)); });
  if (ec) return transport_error(what + ": sending request", ec);

  std::vector<char> buf;
  if (req.body_file) {
    auto file = File::open(req.body_file->path, O_RDONLY);
    if (!file) return file.error();
    buf.resize(std::min<uint64_t>(options.io_chunk, std::max<uint64_t>(body_len, 1)));
    uint64_t sent = 0;
    while (sent < body_len) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), body_len - sent));
      ssize_t n =
          ::pread(file->fd(), buf.data(), want, static_cast<off_t>(req.body_file->offset + sent));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("read " + req.body_file->path, errno);
      if (n == 0)
        return make_error(
            Errc::kIo, fmt::format("read {}: file shorter than offset {} + {}", req.body_file->path,
                                   req.body_file->offset, body_len));
      sent += static_cast<uint64_t>(n);
      msg.body().data = buf.data();
      msg.body().size = static_cast<size_t>(n);
      msg.body().more = sent < body_len;
      lowest.expires_at(deadline);
      ec = run_op(c.ioc, [&](auto h) { http::async_write(stream, sr, std::move(h)); });
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return transport_error(what + ": sending body", ec);
    }
    if (body_len == 0) {
      msg.body().more = false;
      ec = run_op(c.ioc, [&](auto h) { http::async_write(stream, sr, std::move(h)); });
      if (ec) return transport_error(what + ": sending request", ec);
    }
  } else {
    msg.body().data = body_len ? const_cast<char*>(req.body.data()) : nullptr;
    msg.body().size = static_cast<size_t>(body_len);
    msg.body().more = false;
    lowest.expires_at(deadline);
    ec = run_op(c.ioc, [&](auto h) { http::async_write(stream, sr, std::move(h)); });
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return transport_error(what + ": sending body", ec);
  }

  // ---- response ----
  std::optional<http::response_parser<http::buffer_body>> p;
  for (;;) {
    p.emplace();
    p->body_limit(boost::none);  // bounded below, per destination
    p->header_limit(kHeaderLimit);
    if (req.method == "HEAD") p->skip(true);
    lowest.expires_at(deadline);
    ec =
        run_op(c.ioc, [&](auto h) { http::async_read_header(stream, c.buffer, *p, std::move(h)); });
    if (ec) {
      before_response = !p->got_some();
      return transport_error(what + ": reading response", ec);
    }
    before_response = false;
    const unsigned s = p->get().result_int();
    if (s < 100 || s >= 200 || s == 101) break;  // skip interim 1xx responses
  }

  ClientResponse resp;
  resp.status = static_cast<int>(p->get().result_int());
  for (const auto& f : p->get()) resp.headers.emplace_back(f.name_string(), f.value());
  const bool ok = resp.status >= 200 && resp.status < 300;
  const bool to_sink = ok && req.sink;
  const size_t limit = ok ? req.max_body.value_or(options.max_body) : options.max_error_body;
  if (to_sink && req.on_headers) {
    auto st = req.on_headers(resp);
    if (!st) return st.error();
  }
  // A body kept in memory is allocated once at its announced size, not grown by doubling (an
  // 8 MiB GetObject copied ~16 MiB and faulted in fresh pages at each growth). A HEAD's
  // Content-Length is the object's, with no body.
  if (!to_sink && req.method != "HEAD" && p->content_length() && *p->content_length() <= limit)
    resp.body.reserve(static_cast<size_t>(*p->content_length()));

  if (buf.size() < options.io_chunk) buf.resize(options.io_chunk);
  while (!p->is_done()) {
    p->get().body().data = buf.data();
    p->get().body().size = buf.size();
    lowest.expires_at(deadline);
    ec = run_op(c.ioc, [&](auto h) { http::async_read(stream, c.buffer, *p, std::move(h)); });
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return transport_error(what + ": reading response body", ec);
    const size_t n = buf.size() - p->get().body().size;
    if (n == 0) continue;
    resp.body_bytes += n;
    std::string_view piece(buf.data(), n);
    if (to_sink) {
      auto st = req.sink(piece);
      if (!st) return st.error();
    } else if (resp.body.size() + n <= limit) {
      resp.body.append(piece);
    } else if (ok) {
      return make_error(Errc::kTooLarge,
                        fmt::format("{}: response body larger than {} bytes", what, limit));
    }  // else: an error body beyond max_error_body is drained and dropped
  }
  keep_alive = p->keep_alive();
  return resp;
}

Result<ClientResponse> HttpClient::Impl::request(const ClientRequest& req) {
  const std::string what =
      fmt::format("{} {}{}", req.method, req.endpoint.origin(),
                  req.target.substr(0, std::min<size_t>(req.target.size(), 200)));
  if (req.body_file && !req.body.empty())
    return make_error(Errc::kInvalidArgument, what + ": both a memory and a file body");
  const auto start = Clock::now();
  const auto deadline = start + req.timeout.value_or(options.timeout);
  const auto connect_deadline = std::min(deadline, start + options.connect_timeout);

  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Connection> c = attempt == 0 ? take_idle(req.endpoint) : nullptr;
    const bool reused = c != nullptr;
    if (!c) {
      auto fresh = connect(req.endpoint, attempt == 0 ? connect_deadline : deadline, what);
      if (!fresh) return fresh.error();
      c = std::move(*fresh);
    }
    bool keep_alive = false, before_response = false;
    Result<ClientResponse> r =
        c->tls ? exchange(*c, *c->tls, req, deadline, what, keep_alive, before_response)
               : exchange(*c, *c->plain, req, deadline, what, keep_alive, before_response);
    if (!r) {
      // A kept-alive connection the server closed while idle: retry once on a new connection.
      if (reused && before_response && r.error().code == Errc::kIo) continue;
      return r;
    }
    r->reused_connection = reused;
    if (keep_alive) put_idle(std::move(c));
    return r;
  }
}

}  // namespace ingestor::net
