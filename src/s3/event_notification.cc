#include "s3/event_notification.h"

#include <boost/json.hpp>
#include <ctime>

#include "s3/event_parse.h"

namespace ingestor::s3 {

namespace json = boost::json;

std::string event_key_encode(std::string_view key) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(key.size());
  for (char ch : key) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '*' || c == '/') {
      out += ch;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<std::string> event_key_decode(std::string_view s) {
  // The same form-URL encoding the relay decodes (s3/event_parse.h): one decoder for both.
  auto out = form_url_decode(s);
  if (!out) return make_error(Errc::kInvalidArgument, "bad escape in event key");
  return out;
}

std::string format_event_time(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

namespace {

json::object record_object(const S3EventRecord& r) {
  json::object o;
  o["eventVersion"] = r.event_version;
  o["eventSource"] = r.event_source;
  o["awsRegion"] = r.aws_region;
  o["eventTime"] = format_event_time(r.event_time);
  o["eventName"] = r.event_name;
  o["userIdentity"] = json::object{{"principalId", r.principal_id}};
  o["requestParameters"] = json::object{{"sourceIPAddress", r.source_ip}};
  o["responseElements"] =
      json::object{{"x-amz-request-id", r.request_id}, {"x-amz-id-2", r.host_id}};
  json::object s3;
  s3["s3SchemaVersion"] = "1.0";
  s3["configurationId"] = r.configuration_id;
  s3["bucket"] = json::object{{"name", r.bucket},
                              {"ownerIdentity", json::object{{"principalId", r.principal_id}}},
                              {"arn", "arn:aws:s3:::" + r.bucket}};
  s3["object"] = json::object{{"key", event_key_encode(r.key)},
                              {"size", r.size},
                              {"eTag", r.etag},
                              {"sequencer", r.sequencer}};
  o["s3"] = std::move(s3);
  return o;
}

std::string str_at(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (v && v->is_string()) return std::string(v->as_string());
  return {};
}

}  // namespace

std::string event_record_json(const S3EventRecord& r) { return json::serialize(record_object(r)); }

std::string event_envelope_json(const S3EventRecord& r) {
  json::object env;
  env["EventName"] = "s3:" + r.event_name;
  env["Key"] = r.bucket + "/" + r.key;
  env["Records"] = json::array{record_object(r)};
  return json::serialize(env);
}

Result<std::vector<S3EventRecord>> parse_event_notification(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return make_error(Errc::kInvalidArgument, "notification is not JSON");
  const json::object* root = &v.as_object();
  json::value inner;
  if (!root->contains("Records")) {
    // SNS wraps the S3 body in a "Message" string.
    std::string msg = str_at(*root, "Message");
    if (!msg.empty()) {
      inner = json::parse(msg, ec);
      if (ec || !inner.is_object())
        return make_error(Errc::kInvalidArgument, "SNS Message is not JSON");
      root = &inner.as_object();
    }
  }
  std::vector<S3EventRecord> out;
  auto* recs = root->if_contains("Records");
  if (!recs) return out;  // s3:TestEvent and friends
  if (!recs->is_array()) return make_error(Errc::kInvalidArgument, "Records is not an array");
  for (const auto& rv : recs->as_array()) {
    if (!rv.is_object()) return make_error(Errc::kInvalidArgument, "record is not an object");
    const auto& ro = rv.as_object();
    S3EventRecord r;
    r.event_version = str_at(ro, "eventVersion");
    r.event_source = str_at(ro, "eventSource");
    r.aws_region = str_at(ro, "awsRegion");
    r.event_name = str_at(ro, "eventName");
    if (r.event_name.starts_with("s3:")) r.event_name.erase(0, 3);
    auto* s3v = ro.if_contains("s3");
    if (!s3v || !s3v->is_object()) return make_error(Errc::kInvalidArgument, "record without s3");
    const auto& s3o = s3v->as_object();
    r.configuration_id = str_at(s3o, "configurationId");
    auto* b = s3o.if_contains("bucket");
    auto* obj = s3o.if_contains("object");
    if (!b || !b->is_object() || !obj || !obj->is_object())
      return make_error(Errc::kInvalidArgument, "record without s3.bucket or s3.object");
    r.bucket = str_at(b->as_object(), "name");
    auto key = event_key_decode(str_at(obj->as_object(), "key"));
    if (!key) return key.error();
    r.key = std::move(*key);
    if (r.bucket.empty() || r.key.empty())
      return make_error(Errc::kInvalidArgument, "record without bucket name or key");
    if (auto* sz = obj->as_object().if_contains("size")) {
      if (sz->is_uint64()) r.size = sz->as_uint64();
      if (sz->is_int64() && sz->as_int64() >= 0) r.size = static_cast<uint64_t>(sz->as_int64());
    }
    r.etag = str_at(obj->as_object(), "eTag");
    r.sequencer = str_at(obj->as_object(), "sequencer");
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace ingestor::s3
