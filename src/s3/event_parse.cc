#include "s3/event_parse.h"

#include <boost/json.hpp>
#include <initializer_list>

#include "base/charset.h"

namespace ingestor::s3 {

namespace json = boost::json;

namespace {

Error bad(std::string what) { return make_error(Errc::kInvalidArgument, std::move(what)); }

const json::value* member(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  return it == o.end() ? nullptr : &it->value();
}

// A string member; "" when absent. Error when present with another type.
Result<std::string> opt_string(const json::object& o, std::string_view name,
                               const std::string& where) {
  const json::value* v = member(o, name);
  if (!v || v->is_null()) return std::string();
  if (!v->is_string()) return bad(where + "." + std::string(name) + ": not a string");
  return std::string(v->get_string());
}

// A string at `path` below `o`; "" when any step is absent or of another type.
std::string lenient_string(const json::object& o, std::initializer_list<std::string_view> path) {
  const json::object* at = &o;
  const json::value* v = nullptr;
  for (std::string_view name : path) {
    if (!at || !(v = member(*at, name))) return {};
    at = v->if_object();
  }
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

Result<const json::object*> sub_object(const json::object& o, std::string_view name,
                                       const std::string& where) {
  const json::value* v = member(o, name);
  if (!v) return bad(where + "." + std::string(name) + ": missing");
  if (!v->is_object()) return bad(where + "." + std::string(name) + ": not an object");
  return &v->get_object();
}

Result<uint64_t> size_value(const json::value& v, const std::string& where) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<uint64_t>(v.get_int64());
  if (v.is_double()) {
    double d = v.get_double();
    if (d >= 0 && d < 1.8e19 && d == static_cast<double>(static_cast<uint64_t>(d)))
      return static_cast<uint64_t>(d);
  }
  if (v.is_string()) {  // some emitters quote numbers
    const auto& s = v.get_string();
    uint64_t n = 0;
    if (s.empty() || s.size() > 19) return bad(where + ": not a byte count");
    for (char c : s) {
      if (c < '0' || c > '9') return bad(where + ": not a byte count");
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    return n;
  }
  return bad(where + ": not a byte count");
}

Status parse_record(const json::object& rec, const std::string& where, ParsedNotification& out) {
  auto name = opt_string(rec, "eventName", where);
  if (!name) return name.error();
  std::string event_name = *name;
  if (event_name.rfind("s3:", 0) == 0) event_name.erase(0, 3);
  auto version = opt_string(rec, "eventVersion", where);
  if (!version) return version.error();
  if (!version->empty() && version->rfind("2.", 0) != 0 && *version != "2")
    return bad(where + ".eventVersion: unsupported major version '" + *version + "'");
  if (event_name.rfind("ObjectCreated:", 0) != 0) {
    if (event_name.empty()) return bad(where + ".eventName: missing");
    ++out.skipped;
    return {};
  }
  auto s3 = sub_object(rec, "s3", where);
  if (!s3) return s3.error();
  auto bucket = sub_object(**s3, "bucket", where + ".s3");
  if (!bucket) return bucket.error();
  auto object = sub_object(**s3, "object", where + ".s3");
  if (!object) return object.error();

  S3EventRecord c;
  c.event_name = event_name;
  c.event_version = std::move(*version);
  auto bname = opt_string(**bucket, "name", where + ".s3.bucket");
  if (!bname) return bname.error();
  if (bname->empty()) return bad(where + ".s3.bucket.name: missing");
  c.bucket = std::move(*bname);
  auto key = opt_string(**object, "key", where + ".s3.object");
  if (!key) return key.error();
  if (key->empty()) return bad(where + ".s3.object.key: missing");
  auto decoded = form_url_decode(*key);
  if (!decoded) return bad(where + ".s3.object.key: " + decoded.error().message);
  c.key = std::move(*decoded);
  if (c.key.empty()) return bad(where + ".s3.object.key: empty");
  // S3 keys are UTF-8, and the JSON the relay forwards a key in cannot carry other bytes.
  if (decode_to_utf8(c.key, Charset::kUtf8) != c.key) {
    return bad(where + ".s3.object.key: not UTF-8 once decoded");
  }
  if (const json::value* sz = member(**object, "size"); sz && !sz->is_null()) {
    auto n = size_value(*sz, where + ".s3.object.size");
    if (!n) return n.error();
    c.size = *n;
  } else {
    return bad(where + ".s3.object.size: missing");
  }
  auto etag = opt_string(**object, "eTag", where + ".s3.object");
  if (!etag) return etag.error();
  c.etag = std::move(*etag);
  if (c.etag.size() >= 2 && c.etag.front() == '"' && c.etag.back() == '"')
    c.etag = c.etag.substr(1, c.etag.size() - 2);
  auto seq = opt_string(**object, "sequencer", where + ".s3.object");
  if (!seq) return seq.error();
  c.sequencer = std::move(*seq);
  auto time = opt_string(rec, "eventTime", where);
  if (!time) return time.error();
  c.event_time = std::move(*time);
  c.event_source = lenient_string(rec, {"eventSource"});
  c.aws_region = lenient_string(rec, {"awsRegion"});
  c.principal_id = lenient_string(rec, {"userIdentity", "principalId"});
  c.source_ip = lenient_string(rec, {"requestParameters", "sourceIPAddress"});
  c.request_id = lenient_string(rec, {"responseElements", "x-amz-request-id"});
  c.host_id = lenient_string(rec, {"responseElements", "x-amz-id-2"});
  c.configuration_id = lenient_string(**s3, {"configurationId"});
  out.objects.push_back(std::move(c));
  return {};
}

Status parse_value(const json::value& v, int depth, ParsedNotification& out);

Status parse_message_text(std::string_view text, const std::string& where, int depth,
                          ParsedNotification& out) {
  if (depth > 1) return bad(where + ": nested SNS wrapping deeper than one level");
  boost::system::error_code ec;
  json::value inner = json::parse(text, ec);
  if (ec) return bad(where + ": Message is not JSON: " + ec.message());
  return parse_value(inner, depth + 1, out);
}

Status parse_value(const json::value& v, int depth, ParsedNotification& out) {
  if (!v.is_object()) return bad("notification: not a JSON object");
  const json::object& o = v.get_object();
  if (const json::value* ev = member(o, "Event"); ev && ev->is_string()) {
    if (ev->get_string() == "s3:TestEvent") {
      out.test_event = true;
      return {};
    }
  }
  // SNS HTTP(S) subscription message.
  if (const json::value* msg = member(o, "Message"); msg && !member(o, "Records")) {
    if (!msg->is_string()) return bad("Message: not a string");
    return parse_message_text(msg->get_string(), "Message", depth, out);
  }
  const json::value* records = member(o, "Records");
  if (!records) return bad("notification: no Records (and not a test event)");
  if (!records->is_array()) return bad("Records: not an array");
  const json::array& arr = records->get_array();
  for (size_t i = 0; i < arr.size(); ++i) {
    std::string where = "Records[" + std::to_string(i) + "]";
    if (!arr[i].is_object()) return bad(where + ": not an object");
    const json::object& rec = arr[i].get_object();
    // SNS -> Lambda: {"EventSource":"aws:sns","Sns":{"Message":"..."}}.
    if (const json::value* sns = member(rec, "Sns")) {
      if (!sns->is_object()) return bad(where + ".Sns: not an object");
      const json::value* msg = member(sns->get_object(), "Message");
      if (!msg || !msg->is_string()) return bad(where + ".Sns.Message: missing");
      if (auto st = parse_message_text(msg->get_string(), where + ".Sns.Message", depth, out); !st)
        return st;
      continue;
    }
    if (auto st = parse_record(rec, where, out); !st) return st;
  }
  return {};
}

}  // namespace

Result<ParsedNotification> parse_s3_notification(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return bad("notification is not JSON: " + ec.message());
  ParsedNotification out;
  try {
    if (auto st = parse_value(v, 0, out); !st) return st.error();
  } catch (const std::exception& e) {  // Boost.JSON accessors; not expected after the checks
    return bad(std::string("notification: ") + e.what());
  }
  return out;
}

}  // namespace ingestor::s3
