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

Result<std::string> form_url_decode(std::string_view s) {
  auto bad = [](std::string m) { return make_error(Errc::kInvalidArgument, std::move(m)); };
  auto hexval = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return bad("truncated %-escape");
      int h = hexval(s[i + 1]);
      int l = hexval(s[i + 2]);
      if (h < 0 || l < 0) return bad("bad %-escape");
      out += static_cast<char>(h * 16 + l);
      i += 2;
    } else {
      out += s[i];
    }
  }
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

// parse_record() (event_parse.cc) reads back every member written here.
json::object record_object(const S3EventRecord& r) {
  json::object o;
  o["eventVersion"] = r.event_version;
  o["eventSource"] = r.event_source;
  o["awsRegion"] = r.aws_region;
  o["eventTime"] = r.event_time;
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
  auto parsed = parse_s3_notification(body);
  if (!parsed) return parsed.error();
  return std::move(parsed->objects);
}

}  // namespace ingestor::s3
