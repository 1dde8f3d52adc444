#include "store/listing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

namespace ingestor::store {
namespace {

// An in-memory model of the objects table.
struct Model {
  std::set<std::string> keys;
  int fetches = 0;
  FetchFn fetch() {
    return [this](const std::string& after, const std::string& from, size_t limit) {
      ++fetches;
      std::vector<ListEntry> out;
      for (auto it = keys.upper_bound(after); it != keys.end() && out.size() < limit; ++it)
        if (*it >= from) out.push_back({*it, 1, "e", 0});
      return out;
    };
  }
};

// Pages through everything with a continuation cursor, as a client does.
std::vector<std::string> all_pages(Model& m, ListQuery q, int* pages) {
  std::vector<std::string> seen;
  *pages = 0;
  for (;;) {
    ListPage p = list_page(q, m.fetch());
    ++*pages;
    for (auto& c : p.contents) seen.push_back(c.key);
    for (auto& c : p.common_prefixes) seen.push_back(c);
    if (!p.truncated) break;
    auto tok = decode_continuation_token(encode_continuation_token(p.last));
    EXPECT_TRUE(tok);
    q.after = *tok;
    EXPECT_LT(*pages, 10000);
  }
  return seen;
}

TEST(Listing, DelimiterRollsUpAndCountsOnce) {
  Model m;
  m.keys = {"a/1", "a/2", "a/3", "b", "c/x/y", "c/z", "d"};
  ListQuery q;
  q.delimiter = "/";
  q.max_keys = 2;
  ListPage p = list_page(q, m.fetch());
  EXPECT_EQ(p.common_prefixes, std::vector<std::string>({"a/"}));
  ASSERT_EQ(p.contents.size(), 1u);
  EXPECT_EQ(p.contents[0].key, "b");
  EXPECT_TRUE(p.truncated);
  int pages = 0;
  q.max_keys = 1;
  EXPECT_EQ(all_pages(m, q, &pages), std::vector<std::string>({"a/", "b", "c/", "d"}));
  EXPECT_EQ(pages, 4);
}

TEST(Listing, PrefixStartAfterAndZeroMaxKeys) {
  Model m;
  m.keys = {"logs/1", "logs/2", "logs/3", "other"};
  ListQuery q;
  q.prefix = "logs/";
  q.after = "logs/1";
  ListPage p = list_page(q, m.fetch());
  ASSERT_EQ(p.contents.size(), 2u);
  EXPECT_EQ(p.contents[0].key, "logs/2");
  EXPECT_FALSE(p.truncated);
  q.max_keys = 0;
  p = list_page(q, m.fetch());
  EXPECT_TRUE(p.contents.empty());
  EXPECT_FALSE(p.truncated);
}

TEST(Listing, MarkerNamingACommonPrefixSkipsItsKeys) {
  Model m;
  m.keys = {"a/1", "a/2", "b/1", "c"};
  ListQuery q;
  q.delimiter = "/";
  q.after = "a/";
  ListPage p = list_page(q, m.fetch());
  EXPECT_EQ(p.common_prefixes, std::vector<std::string>({"b/"}));
  ASSERT_EQ(p.contents.size(), 1u);
  EXPECT_EQ(p.contents[0].key, "c");
}

TEST(Listing, ModelBasedRandomPagination) {
  std::mt19937 rng(7);
  const char* parts[] = {"a", "b", "/", "x/", "\xc3\xa9", "+", " "};
  for (int round = 0; round < 20; ++round) {
    Model m;
    for (int i = 0; i < 300; ++i) {
      std::string k;
      int n = 1 + static_cast<int>(rng() % 5);
      for (int j = 0; j < n; ++j) k += parts[rng() % 7];
      m.keys.insert(k);
    }
    for (std::string prefix : {"", "a", "x/"}) {
      for (std::string delim : {"", "/"}) {
        // Expected: the model's answer computed directly.
        std::vector<std::string> expect;
        std::set<std::string> cps;
        for (const auto& k : m.keys) {
          if (!k.starts_with(prefix)) continue;
          size_t pos = delim.empty() ? std::string::npos : k.find(delim, prefix.size());
          if (pos != std::string::npos) {
            std::string cp = k.substr(0, pos + 1);
            if (cps.insert(cp).second) expect.push_back(cp);
          } else {
            expect.push_back(k);
          }
        }
        ListQuery q;
        q.prefix = prefix;
        q.delimiter = delim;
        q.max_keys = 1 + static_cast<int>(rng() % 7);
        int pages = 0;
        // Within a page S3 returns Contents and CommonPrefixes separately: compare as sorted
        // lists (a duplicate or a missing entry still fails).
        std::vector<std::string> got = all_pages(m, q, &pages);
        std::sort(got.begin(), got.end());
        std::sort(expect.begin(), expect.end());
        EXPECT_EQ(got, expect) << "prefix=" << prefix << " delim=" << delim;
        size_t per = static_cast<size_t>(q.max_keys);
        EXPECT_EQ(static_cast<size_t>(pages), std::max<size_t>(1, (expect.size() + per - 1) / per));
      }
    }
  }
}

TEST(Listing, ContinuationTokensAreOpaqueAndChecked) {
  EXPECT_EQ(*decode_continuation_token(encode_continuation_token("a/b c")), "a/b c");
  EXPECT_FALSE(decode_continuation_token("not-a-token"));
  EXPECT_FALSE(decode_continuation_token("YWJj"));  // base64 but not ours
}

}  // namespace
}  // namespace ingestor::store
