// Fuzz target `http_source` (fuzz/README.md): the HTTP source's request handlers as pure
// functions (http_source.h), without a socket: Flume's JSONHandler body format and the BLOB
// handler's query parameters, with the charsets the Content-Type may name (charset.h).
//
// Input: "CONTENT-TYPE\nBODY" (no newline: the whole input is the body, with no Content-Type).
// With a Content-Type starting with "blob?", the rest of that line is the BLOB handler's query.
//
// Invariants:
//  - a JSON error is kInvalidArgument (400) or kUnsupported (500), never anything else;
//  - UTF-8 JSON: the events written back as a JSON array ({"headers":{...},"body":"..."}) read
//    back as the same events; event bodies are valid UTF-8;
//  - BLOB: one event whose body is the request body and whose header names are unique;
//  - charsets: decoding any bytes gives valid UTF-8, and valid UTF-8 survives encoding to
//    UTF-16/UTF-32 and decoding again.

#include <boost/json.hpp>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "agent/sources/http_source.h"
#include "base/charset.h"
#include "base/fuzz_check.h"

namespace {

using namespace ingestor;

bool valid_utf8(std::string_view s) { return decode_to_utf8(s, Charset::kUtf8) == s; }

std::string to_json(const Batch& events) {
  boost::json::array arr;
  for (const Event& e : events) {
    boost::json::object headers;
    for (const auto& [k, v] : e.headers) headers[k] = v;
    arr.push_back(boost::json::object{{"headers", std::move(headers)},
                                      {"body", boost::json::string(e.body.view())}});
  }
  return boost::json::serialize(arr);
}

bool same_events(const Batch& a, const Batch& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a[i].headers == b[i].headers) || a[i].body.view() != b[i].body.view()) return false;
  }
  return true;
}

void check_charsets(std::string_view bytes) {
  for (Charset cs : {Charset::kUtf8, Charset::kUtf16, Charset::kUtf16Le, Charset::kUtf32,
                     Charset::kUtf32Le, Charset::kLatin1, Charset::kAscii}) {
    const std::string text = decode_to_utf8(bytes, cs);
    INGESTOR_FUZZ_CHECK(valid_utf8(text), charset_name(cs));
  }
  const std::string text = decode_to_utf8(bytes, Charset::kUtf8);
  for (Charset cs : {Charset::kUtf16, Charset::kUtf16Be, Charset::kUtf16Le, Charset::kUtf32,
                     Charset::kUtf32Be, Charset::kUtf32Le}) {
    INGESTOR_FUZZ_CHECK(decode_to_utf8(encode_from_utf8(text, cs), cs) == text, charset_name(cs));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  const std::string_view content_type = fuzz::take_first_line(body);
  if (content_type.starts_with("blob?")) {
    auto events = blob_handler_events(content_type.substr(5), body, {});
    INGESTOR_FUZZ_CHECK(events.has_value() && events->size() == 1);
    INGESTOR_FUZZ_CHECK((*events)[0].body.view() == body);
    std::set<std::string> names;
    for (const auto& [k, v] : (*events)[0].headers) INGESTOR_FUZZ_CHECK(names.insert(k).second, k);
    auto mandatory = blob_handler_events(content_type.substr(5), body, {"a", "b"});
    INGESTOR_FUZZ_CHECK(mandatory.has_value() ==
                        ((*events)[0].headers.contains("a") && (*events)[0].headers.contains("b")));
    return 0;
  }
  check_charsets(body);

  auto events = json_handler_events(content_type, body);
  if (!events) {
    INGESTOR_FUZZ_CHECK(
        events.error().code == Errc::kInvalidArgument || events.error().code == Errc::kUnsupported,
        events.error().message);
    return 0;
  }
  const bool utf8 = content_type.find(';') == std::string_view::npos;  // no charset parameter
  if (!utf8) return 0;
  for (const Event& e : *events) INGESTOR_FUZZ_CHECK(valid_utf8(e.body.view()));
  const std::string json = to_json(*events);
  auto again = json_handler_events("application/json", json);
  INGESTOR_FUZZ_CHECK(again.has_value(), again.error().message + "\n" + json);
  INGESTOR_FUZZ_CHECK(same_events(*events, *again), json);
  return 0;
}
