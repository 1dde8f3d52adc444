#include "agent/interceptors/search_replace_interceptor.h"

#include <cstring>

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
  if (charset_ != Charset::kUtf8) {
    std::string out;
    for (Event& e : events) {
      out.clear();
      const std::string text = decode_to_utf8(e.body.view(), charset_);
      if (re_.replace_all(text, replacement_, out) == 0) continue;
      e.body = Slice::copy_of(encode_from_utf8(out, charset_));
    }
    return;
  }
  // The batch's rewritten bodies go into one buffer, then into one chunk that every rewritten
  // event slices (as a source's read buffer): one allocation per batch instead of one per event,
  // and the sink's thread frees it once.
  struct Rewritten {
    size_t event, offset, size;
  };
  std::vector<Rewritten> rewritten;
  thread_local std::string all;  // sources may call from several threads
  all.clear();
  uint32_t slices = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const size_t offset = all.size();
    if (re_.replace_all(events[i].body.view(), replacement_, all) == 0) {
      all.resize(offset);
      continue;
    }
    rewritten.push_back({i, offset, all.size() - offset});
    if (all.size() > offset) ++slices;
  }
  if (slices == 0) {  // no match, or every match left an empty body
    for (const Rewritten& r : rewritten) events[r.event].body = Slice();
    return;
  }
  Chunk* chunk = Chunk::make_at_least(all.size());
  std::memcpy(chunk->data(), all.data(), all.size());
  if (slices > 1) chunk->ref(slices - 1);  // make() gave the first
  for (const Rewritten& r : rewritten)
    events[r.event].body =
        r.size ? Slice(ChunkRef::adopt(chunk), chunk->data() + r.offset, r.size) : Slice();
  // Keep the buffer from growing without bound after one huge batch.
  if (all.capacity() > (8u << 20)) std::string().swap(all);
}

}  // namespace ingestor
