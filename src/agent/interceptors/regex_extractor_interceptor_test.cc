// regex_extractor: Flume's TestRegexExtractorInterceptor and ...MillisSerializer checklists.
#include "agent/interceptors/regex_extractor_interceptor.h"

#include "agent/interceptors/test_util.h"

namespace ingestor {
namespace {

using interceptor_test::bodies;
using interceptor_test::settings;

Result<std::unique_ptr<RegexExtractorInterceptor>> make(Context ctx) {
  return RegexExtractorInterceptor::create(settings(regex_extractor_interceptor_spec(), ctx));
}

Headers run(Context ctx, const char* body) {
  auto i = make(ctx);
  EXPECT_TRUE(i) << (i ? "" : i.error().message);
  if (!i) return {};
  Batch b = bodies({body});
  (*i)->intercept(b);
  return b[0].headers;
}

TEST(RegexExtractorInterceptor, GroupsToHeaders) {
  Context three{{"regex", "(\\d):(\\d):(\\d)"},
                {"serializers", "s1 s2 s3"},
                {"serializers.s1.name", "Num1"},
                {"serializers.s2.name", "Num2"},
                {"serializers.s3.name", "Num3"}};
  EXPECT_EQ(run(three, "1:2:3.4foobar5"), (Headers{{"Num1", "1"}, {"Num2", "2"}, {"Num3", "3"}}));
  EXPECT_EQ(run(three, "no digits"), Headers{});
  Context one{{"regex", "(\\d):(\\d)"}, {"serializers", "s1"}, {"serializers.s1.name", "Num1"}};
  EXPECT_EQ(run(one, "1:2"), (Headers{{"Num1", "1"}}));
  // type default/DEFAULT/the pass-through class are one thing.
  for (const char* t :
       {"DEFAULT", "default",
        "org.apache.flume.interceptor.RegexExtractorInterceptorPassThroughSerializer"}) {
    Context c = one;
    c["serializers.s1.type"] = t;
    EXPECT_EQ(run(c, "1:2"), (Headers{{"Num1", "1"}})) << t;
  }
  // A group that did not take part sets no header.
  Context opt{{"regex", "(a)?(b)"},
              {"serializers", "s1 s2"},
              {"serializers.s1.name", "A"},
              {"serializers.s2.name", "B"}};
  EXPECT_EQ(run(opt, "b"), (Headers{{"B", "b"}}));
}

TEST(RegexExtractorInterceptor, MillisSerializer) {
  Context c{{"regex", "^(\\d\\d\\d\\d-\\d\\d-\\d\\d \\d\\d:\\d\\d)(:\\d\\d,\\d\\d\\d)"},
            {"serializers", "s1 s2"},
            {"serializers.s1.type",
             "org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer"},
            {"serializers.s1.name", "timestamp"},
            {"serializers.s1.pattern", "yyyy-MM-dd HH:mm"},
            {"serializers.s2.name", "data"}};
  Headers h = run(c, "2012-10-17 14:34:00,000 INFO something");
  // In the local zone, as Flume's JVM default.
  const int64_t off = TimeZone::local()->utc_offset(1350484440);
  EXPECT_EQ(
      h, (Headers{{"timestamp", std::to_string((1350484440 - off) * 1000)}, {"data", ":00,000"}}));
}

TEST(RegexExtractorInterceptor, ConfigErrors) {
  auto message = [](Context ctx) {
    Diagnostics d;
    Settings s = settings(regex_extractor_interceptor_spec(), ctx, &d);
    if (d.has_errors()) return d.all()[0].key + ": " + d.all()[0].message;
    auto i = RegexExtractorInterceptor::create(s);
    return i ? std::string("ok") : i.error().message;
  };
  EXPECT_NE(message({{"serializers", "s1"}, {"serializers.s1.name", "a"}}).find("regex"),
            std::string::npos);
  EXPECT_EQ(
      message({{"regex", "?&?&&&?&?&?&&&??"}, {"serializers", "s1"}, {"serializers.s1.name", "a"}})
          .rfind("regex", 0),
      0u);
  EXPECT_NE(message({{"regex", "(a)"}}).find("serializers"), std::string::npos);
  EXPECT_EQ(message({{"regex", "(a)"}, {"serializers", "s1"}}),
            "serializers.s1.name: Supplied name cannot be empty.");
  EXPECT_EQ(message({{"regex", "(a)"}, {"serializers", "s1"}, {"serializers.s1.name", "  "}}),
            "serializers.s1.name: Supplied name cannot be empty.");
  const std::string millis =
      "org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer";
  EXPECT_EQ(message({{"regex", "(a)"},
                     {"serializers", "s1"},
                     {"serializers.s1.name", "t"},
                     {"serializers.s1.type", millis}}),
            "serializers.s1.pattern: Must configure with a valid pattern");
  EXPECT_NE(message({{"regex", "(a)"},
                     {"serializers", "s1"},
                     {"serializers.s1.name", "t"},
                     {"serializers.s1.type", millis},
                     {"serializers.s1.pattern", "ABCDEFG"}})
                .find("serializers.s1.pattern: Illegal pattern component: A"),
            std::string::npos);
  EXPECT_NE(message({{"regex", "(a)"},
                     {"serializers", "s1"},
                     {"serializers.s1.name", "t"},
                     {"serializers.s1.type", "com.example.Mine"}})
                .find("serializers.s1.type: serializer 'com.example.Mine' is not supported"),
            std::string::npos);
}

}  // namespace
}  // namespace ingestor
