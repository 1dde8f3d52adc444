// search_replace: Flume's TestSearchAndReplaceInterceptor checklist.
#include "agent/interceptors/search_replace_interceptor.h"

#include "agent/interceptors/test_util.h"

namespace ingestor {
namespace {

using interceptor_test::bodies;
using interceptor_test::settings;

std::string replace(Context ctx, const char* body) {
  auto i = SearchReplaceInterceptor::create(settings(search_replace_interceptor_spec(), ctx));
  EXPECT_TRUE(i);
  if (!i) return "";
  Batch b = bodies({body});
  (*i)->intercept(b);
  return b[0].body.str();
}

TEST(SearchReplaceInterceptor, FlumeChecklist) {
  EXPECT_EQ(
      replace({{"searchPattern", "^prefix"}, {"replaceString", ""}}, "prefix non-prefix suffix"),
      " non-prefix suffix");
  EXPECT_EQ(replace({{"searchPattern", "^prefix"}}, "prefix non-prefix suffix"),
            " non-prefix suffix");
  EXPECT_EQ(replace({{"searchPattern", "^<[0-9]+>"}}, "<13>Jan  1 host: msg"), "Jan  1 host: msg");
  EXPECT_EQ(replace({{"searchPattern", "The quick brown ([a-z]+) jumped over the lazy ([a-z]+)."},
                     {"replaceString", "The hungry $2 ate the careless $1."}},
                    "The quick brown fox jumped over the lazy dog."),
            "The hungry dog ate the careless fox.");
  EXPECT_EQ(replace({{"searchPattern", "[A-Za-z0-9_.+-]+@[A-Za-z0-9_-]+\\.com"},
                     {"replaceString", "REDACTED"}},
                    "Email addresses: test@test.com and foo@test.com"),
            "Email addresses: REDACTED and REDACTED");
}

// A batch's rewritten bodies share one buffer: bodies with no match keep theirs, a body the
// replacement empties is empty, and every body outlives the next batch through the interceptor.
TEST(SearchReplaceInterceptor, ABatchRewrittenTogether) {
  auto i = SearchReplaceInterceptor::create(
      settings(search_replace_interceptor_spec(), {{"searchPattern", "a+"}, {"replaceString", ""}}));
  ASSERT_TRUE(i);
  Batch b = bodies({"xaay", "none", "aaa", "ba", ""});
  const char* untouched = b[1].body.data();
  (*i)->intercept(b);
  ASSERT_EQ(b.size(), 5u);
  EXPECT_EQ(b[0].body.str(), "xy");
  EXPECT_EQ(b[1].body.str(), "none");
  EXPECT_EQ(b[1].body.data(), untouched);  // no match: no copy
  EXPECT_TRUE(b[2].body.empty());
  EXPECT_EQ(b[3].body.str(), "b");
  EXPECT_TRUE(b[4].body.empty());
  Batch next = bodies({"aq", "zzaa"});
  (*i)->intercept(next);
  EXPECT_EQ(next[0].body.str(), "q");
  EXPECT_EQ(next[1].body.str(), "zz");
  EXPECT_EQ(b[0].body.str(), "xy");
  EXPECT_EQ(b[3].body.str(), "b");
  b.erase(b.begin());  // the shared chunk lives while any of its slices does
  EXPECT_EQ(b[2].body.str(), "b");
}

TEST(SearchReplaceInterceptor, JavaConstructsAndCharset) {
  EXPECT_EQ(replace({{"searchPattern", "(?<word>\\w+)@"}, {"replaceString", "${word} at-"}},
                    "me@example"),
            "me at-example");
  EXPECT_EQ(replace({{"searchPattern", "\\p{Digit}+"}, {"replaceString", "#"}}, "a1b22c"), "a#b#c");
  auto i = SearchReplaceInterceptor::create(
      settings(search_replace_interceptor_spec(),
               {{"searchPattern", "\xc3\xa9"}, {"replaceString", "e"}, {"charset", "ISO-8859-1"}}));
  ASSERT_TRUE(i);
  Batch b = bodies({"caf\xe9"});  // Latin-1 bytes
  (*i)->intercept(b);
  EXPECT_EQ(b[0].body.str(), "cafe");
}

TEST(SearchReplaceInterceptor, ConfigErrorsNameTheKey) {
  Diagnostics d;
  settings(search_replace_interceptor_spec(), {}, &d);
  ASSERT_TRUE(d.has_errors());
  EXPECT_NE(d.all()[0].message.find("searchPattern"), std::string::npos);
  auto bad = SearchReplaceInterceptor::create(
      settings(search_replace_interceptor_spec(), {{"searchPattern", "(unclosed"}}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("searchPattern", 0), 0u) << bad.error().message;
  auto ref = SearchReplaceInterceptor::create(settings(
      search_replace_interceptor_spec(), {{"searchPattern", "a"}, {"replaceString", "$2"}}));
  ASSERT_FALSE(ref);
  EXPECT_EQ(ref.error().message.rfind("replaceString", 0), 0u) << ref.error().message;
  auto cs = SearchReplaceInterceptor::create(
      settings(search_replace_interceptor_spec(), {{"searchPattern", "a"}, {"charset", "EBCDIC"}}));
  ASSERT_FALSE(cs);
  EXPECT_EQ(cs.error().message.rfind("charset", 0), 0u);
}

}  // namespace
}  // namespace ingestor
