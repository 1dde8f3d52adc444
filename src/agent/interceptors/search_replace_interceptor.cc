#include "agent/interceptors/search_replace_interceptor.h"

namespace ingestor {

const ComponentSpec& search_replace_interceptor_spec() {
  static const ComponentSpec spec{
      "interceptor",
      "search_replace",
      "org.apache.flume.interceptor.SearchAndReplaceInterceptor$Builder",
      "Replaces every match of a regex in the body.",
      {
          {"searchPattern", KeyType::kString, std::nullopt, true, "Regex (Java syntax)"},
          {"replaceString", KeyType::kString, "", false,
           "Replacement: $1, ${name} and \\x escapes (empty deletes the match)"},
          {"charset", KeyType::kString, "UTF-8", false, "Charset of the body"},
      }};
  return spec;
}

Result<std::unique_ptr<SearchReplaceInterceptor>> SearchReplaceInterceptor::create(
    const Settings& s) {
  auto cs = charset_from_name(s.str("charset"));
  if (!cs)
    return make_error(Errc::kConfig, "charset: unsupported charset '" + s.str("charset") + "'");
  auto re = Regex::compile(s.str("searchPattern"), "searchPattern");
  if (!re) return re.error();
  auto r = re->parse_replacement(s.str("replaceString"), "replaceString");
  if (!r) return r.error();
  return std::unique_ptr<SearchReplaceInterceptor>(
      new SearchReplaceInterceptor(std::move(*re), std::move(*r), *cs));
}

void SearchReplaceInterceptor::intercept(Batch& events) {
  std::string out;
  for (Event& e : events) {
    out.clear();
    if (charset_ == Charset::kUtf8) {
      if (re_.replace_all(e.body.view(), replacement_, out) == 0) continue;
      e.body = Slice::copy_of(out);
      continue;
    }
    const std::string text = decode_to_utf8(e.body.view(), charset_);
    if (re_.replace_all(text, replacement_, out) == 0) continue;
    e.body = Slice::copy_of(encode_from_utf8(out, charset_));
  }
}

}  // namespace ingestor
