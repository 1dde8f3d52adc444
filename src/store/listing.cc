#include "store/listing.h"

#include "base/hash.h"

namespace ingestor::store {

namespace {
// The smallest string greater than every string starting with `p`: p + "\xff" works because
// 0xFF never occurs in UTF-8 (and keys are validated UTF-8).
std::string skip_past(const std::string& p) { return p + '\xff'; }
}  // namespace

ListPage list_page(const ListQuery& q, const FetchFn& fetch) {
  ListPage page;
  if (q.max_keys <= 0) return page;
  std::string cursor = q.after;
  // A bound that names a common prefix resumes after everything under it.
  if (!q.delimiter.empty() && cursor.size() > q.prefix.size() && cursor.starts_with(q.prefix) &&
      cursor.ends_with(q.delimiter) &&
      cursor.find(q.delimiter, q.prefix.size()) == cursor.size() - q.delimiter.size()) {
    cursor = skip_past(cursor);
  }
  size_t count = 0;
  const size_t max = static_cast<size_t>(q.max_keys);
  constexpr size_t kBatch = 1000;
  for (;;) {
    std::vector<ListEntry> batch = fetch(cursor, q.prefix, kBatch);
    if (batch.empty()) return page;
    bool refetch = false;
    for (auto& e : batch) {
      if (!e.key.starts_with(q.prefix)) return page;  // sorted: nothing further matches
      std::optional<std::string> cp;
      if (!q.delimiter.empty()) {
        size_t pos = e.key.find(q.delimiter, q.prefix.size());
        if (pos != std::string::npos) cp = e.key.substr(0, pos + q.delimiter.size());
      }
      if (count == max) {
        page.truncated = true;
        return page;
      }
      ++count;
      if (cp) {
        page.common_prefixes.push_back(*cp);
        page.last = *cp;
        cursor = skip_past(*cp);
        refetch = true;
        break;
      }
      page.last = e.key;
      cursor = e.key;
      page.contents.push_back(std::move(e));
    }
    if (!refetch && batch.size() < kBatch) return page;
  }
}

std::string encode_continuation_token(const std::string& cursor) {
  return base64_encode("c1:" + cursor);
}

std::optional<std::string> decode_continuation_token(const std::string& token) {
  auto raw = base64_decode(token);
  if (!raw || !raw->starts_with("c1:")) return std::nullopt;
  return raw->substr(3);
}

}  // namespace ingestor::store
