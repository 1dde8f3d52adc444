#include "s3/object_notice.h"

#include <boost/json.hpp>

#include "base/hash.h"

namespace ingestor::s3 {

namespace json = boost::json;

std::string notice_json(const ObjectNotice& n) {
  json::object o;
  o["bucket"] = n.bucket;
  o["key"] = n.key;
  o["size"] = n.size;
  o["etag"] = n.etag;
  o["eventTime"] = n.event_time;
  o["sequencer"] = n.sequencer;
  return json::serialize(o);
}

Result<ObjectNotice> parse_notice_json(std::string_view body) {
  auto bad = [](std::string m) { return make_error(Errc::kInvalidArgument, std::move(m)); };
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return bad("body is not JSON: " + ec.message());
  if (!v.is_object()) return bad("body is not a JSON object");
  const json::object& o = v.get_object();
  ObjectNotice n;
  auto str = [&](std::string_view name, bool required, std::string& out) -> Status {
    auto it = o.find(name);
    if (it == o.end() || it->value().is_null()) {
      if (required) return bad("field '" + std::string(name) + "' is missing");
      return {};
    }
    if (!it->value().is_string()) return bad("field '" + std::string(name) + "' is not a string");
    out = std::string(it->value().get_string());
    if (required && out.empty()) return bad("field '" + std::string(name) + "' is empty");
    return {};
  };
  if (auto st = str("bucket", true, n.bucket); !st) return st.error();
  if (auto st = str("key", true, n.key); !st) return st.error();
  if (auto st = str("etag", true, n.etag); !st) return st.error();
  if (auto st = str("eventTime", false, n.event_time); !st) return st.error();
  if (auto st = str("sequencer", false, n.sequencer); !st) return st.error();
  if (n.etag.size() >= 2 && n.etag.front() == '"' && n.etag.back() == '"')
    n.etag = n.etag.substr(1, n.etag.size() - 2);
  auto it = o.find("size");
  if (it == o.end() || it->value().is_null()) return bad("field 'size' is missing");
  const json::value& s = it->value();
  if (s.is_uint64()) {
    n.size = s.get_uint64();
  } else if (s.is_int64() && s.get_int64() >= 0) {
    n.size = static_cast<uint64_t>(s.get_int64());
  } else {
    return bad("field 'size' is not a non-negative integer");
  }
  return n;
}

std::string idempotency_key(const ObjectNotice& n) {
  std::string m;
  m.reserve(n.bucket.size() + n.key.size() + n.etag.size() + n.sequencer.size() + 3);
  m.append(n.bucket).push_back('\0');
  m.append(n.key).push_back('\0');
  m.append(n.etag).push_back('\0');
  m.append(n.sequencer);
  return sha256_hex(m);
}

std::string sign_body(std::string_view secret, std::string_view body) {
  return "sha256=" + to_hex(hmac_sha256(secret, body));
}

bool verify_signature(std::string_view secret, std::string_view body, std::string_view header) {
  constexpr std::string_view kPrefix = "sha256=";
  if (header.substr(0, kPrefix.size()) != kPrefix) return false;
  std::string got(header.substr(kPrefix.size()));
  for (auto& c : got) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string want = to_hex(hmac_sha256(secret, body));
  return constant_time_equal(got, want);
}

}  // namespace ingestor::s3
