#include "store/webhook_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

namespace ingestor::store {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

Result<int> http_post(const std::string& url, const std::string& body,
                      const std::string& content_type, std::chrono::milliseconds timeout,
                      const std::string& authorization) {
  auto u = boost::urls::parse_uri(url);
  if (!u || u->scheme() != "http" || u->host().empty())
    return make_error(Errc::kInvalidArgument,
                      "webhook URL must be http://host[:port]/path: " + url);
  std::string host = u->host();
  std::string port = u->has_port() ? std::string(u->port()) : "80";
  std::string target = u->encoded_target().empty() ? "/" : std::string(u->encoded_target());

  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, u->has_port() ? host + ":" + port : host);
  req.set(http::field::content_type, content_type);
  req.set(http::field::user_agent, "ingestor-store");
  req.set(http::field::connection, "close");
  if (!authorization.empty()) req.set(http::field::authorization, authorization);
  req.body() = body;
  req.prepare_payload();
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  beast::error_code result;
  bool got = false;

  resolver.async_resolve(host, port, [&](beast::error_code ec, tcp::resolver::results_type r) {
    if (ec) {
      result = ec;
      return;
    }
    stream.expires_after(timeout);
    stream.async_connect(r, [&](beast::error_code ec, const tcp::endpoint&) {
      if (ec) {
        result = ec;
        return;
      }
      stream.expires_after(timeout);
      http::async_write(stream, req, [&](beast::error_code ec, size_t) {
        if (ec) {
          result = ec;
          return;
        }
        stream.expires_after(timeout);
        http::async_read(stream, buf, res, [&](beast::error_code ec, size_t) {
          if (ec) {
            result = ec;
            return;
          }
          got = true;
        });
      });
    });
  });
  ioc.run_for(timeout * 4);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  if (got) return static_cast<int>(res.result_int());
  if (result == beast::error::timeout || !result)
    return make_error(Errc::kTimeout, "POST " + url + ": timed out");
  return make_error(Errc::kUnavailable, "POST " + url + ": " + result.message());
}

}  // namespace ingestor::store
