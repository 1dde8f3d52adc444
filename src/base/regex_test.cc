#include "base/regex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace ingestor {
namespace {

Regex re(std::string_view p, Regex::Options o = {}) {
  auto r = Regex::compile(p, "test.regex", o);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return std::move(*r);
}

std::string replace(std::string_view pattern, std::string_view subject, std::string_view rep) {
  Regex r = re(pattern);
  auto parsed = r.parse_replacement(rep, "test.replaceString");
  EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().message);
  std::string out;
  r.replace_all(subject, *parsed, out);
  return out;
}

TEST(Regex, MatchesIsWholeFindIsPartial) {
  Regex r = re("[ab].log");
  EXPECT_TRUE(r.matches("a.log"));
  EXPECT_TRUE(r.matches("bxlog"));
  EXPECT_FALSE(r.matches("a.log.1"));
  EXPECT_TRUE(r.find("xx a.log.1"));
  EXPECT_FALSE(r.find("c.lo"));
}

TEST(Regex, FlumeUserGuideConstructs) {
  Regex alt = re("(INFO.*)|(WARNING.*)");
  EXPECT_TRUE(alt.find("INFO hello"));
  EXPECT_TRUE(alt.find("WARNING x"));
  EXPECT_FALSE(alt.find("DEBUG x"));
  Regex nc = re("^(?:\\n)?(\\d\\d\\d\\d-\\d\\d-\\d\\d\\s\\d\\d:\\d\\d)");
  std::vector<Regex::Group> g;
  ASSERT_TRUE(nc.find("2012-10-18 18:47:57,614 some log line", g));
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(*g[1], "2012-10-18 18:47");
  Regex digits = re("(\\d):(\\d):(\\d)");
  ASSERT_TRUE(digits.find("1:2:3.4foobar5", g));
  EXPECT_EQ(*g[1], "1");
  EXPECT_EQ(*g[2], "2");
  EXPECT_EQ(*g[3], "3");
}

TEST(Regex, JavaOnlySyntax) {
  EXPECT_TRUE(re("^\\p{Alpha}+$").matches("abcXYZ"));
  EXPECT_FALSE(re("^\\p{Alpha}+$").matches("abc1"));
  EXPECT_TRUE(re("[\\p{Digit}x]+").matches("12x3"));
  EXPECT_TRUE(re("\\P{Lower}").matches("A"));
  EXPECT_FALSE(re("[\\P{Lower}]").matches("a"));
  EXPECT_TRUE(re("\\p{L}+").matches("\xc3\xa9t\xc3\xa9"));  // été
  EXPECT_TRUE(re("\\p{IsLatin}+").matches("abc"));
  EXPECT_TRUE(re("\\Q[x]\\E+").matches("[x]]]"));
  EXPECT_TRUE(re("(?i)error").find("An ERROR here"));
  EXPECT_TRUE(re("(?<y>\\d{4})-(?<m>\\d\\d)").find("on 2024-05"));
  EXPECT_TRUE(re("a(?=b)").find("ab"));
  EXPECT_TRUE(re("(?<!x)b").find("ab"));
  EXPECT_TRUE(re("a++b").find("aab"));
  EXPECT_TRUE(re("a*?b").find("aab"));
  EXPECT_TRUE(re("x", {.case_insensitive = true}).find("X"));
}

TEST(Regex, AsciiClassesAndLineTerminatorsAsJava) {
  EXPECT_FALSE(re("^\\w+$").matches("\xc3\xa9"));  // \w is ASCII in Java
  EXPECT_FALSE(re("^\\d$").matches("\xd9\xa3"));   // Arabic-Indic three
  EXPECT_FALSE(re("a.b").find("a\nb"));
  EXPECT_FALSE(re("a.b").find("a\rb"));
  EXPECT_TRUE(re("abc$").find("abc\n"));  // $ before a final line terminator
}

TEST(Regex, InvalidUtf8SubjectsDoNotFail) {
  EXPECT_TRUE(
      re("b+").find("a\xff\xfe"
                    "bb"));
  EXPECT_TRUE(re("^.*$").find("\xff"));  // Java decodes 0xff to U+FFFD, which '.' matches
  EXPECT_TRUE(
      re("^a.b$").matches("a\xc3"
                          "b"));
  std::vector<Regex::Group> g;
  ASSERT_TRUE(
      re("(b+)").find("\xff"
                      "bb",
                      g));
  EXPECT_EQ(*g[1], "bb");
  std::string out;
  Regex r = re("x");
  auto rep = r.parse_replacement("y", "t");
  ASSERT_TRUE(rep);
  r.replace_all("\xffx\xfe", *rep, out);
  EXPECT_EQ(out, "\xef\xbf\xbdy\xef\xbf\xbd");  // as Flume re-encodes the decoded body
}

TEST(Regex, BadPatternIsAConfigErrorNamingTheKey) {
  auto r = Regex::compile("?&?&&&?&?&?&&&??", "a1.sources.r1.interceptors.i1.regex");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kConfig);
  EXPECT_NE(r.error().message.find("a1.sources.r1.interceptors.i1.regex"), std::string::npos);
  EXPECT_NE(r.error().message.find("offset"), std::string::npos);
  EXPECT_FALSE(Regex::compile("(unclosed", "k"));
}

TEST(Regex, ReplaceAllAsJava) {
  EXPECT_EQ(replace("^prefix", "prefix non-prefix suffix", ""), " non-prefix suffix");
  EXPECT_EQ(replace("^<[0-9]+>", "<13>Jan 1 msg", ""), "Jan 1 msg");
  EXPECT_EQ(replace("The quick brown ([a-z]+) jumped over the lazy ([a-z]+).",
                    "The quick brown fox jumped over the lazy dog.",
                    "The hungry $2 ate the careless $1."),
            "The hungry dog ate the careless fox.");
  EXPECT_EQ(replace("[a-z]+@[a-z]+\\.com", "a@b.com and c@d.com", "REDACTED"),
            "REDACTED and REDACTED");
  EXPECT_EQ(replace("x*", "abc", "-"), "-a-b-c-");
  EXPECT_EQ(replace("(?<w>o)", "foo", "[${w}]"), "f[o][o]");
  EXPECT_EQ(replace("o", "foo", "\\$"), "f$$");
  // $12 with one group: $1 then a literal 2, as Java parses it.
  EXPECT_EQ(replace("(a)", "a", "$12"), "a2");
  // A group that did not take part adds nothing.
  EXPECT_EQ(replace("(a)|(b)", "b", "<$1>"), "<>");
  EXPECT_EQ(replace("\xc3\xa9?", "\xc3\xa9x", "_"), "__x_");
}

TEST(Regex, BadReplacementIsAConfigError) {
  Regex r = re("(a)");
  EXPECT_FALSE(r.parse_replacement("$", "k"));
  EXPECT_FALSE(r.parse_replacement("$2", "k"));
  EXPECT_FALSE(r.parse_replacement("$x", "k"));
  EXPECT_FALSE(r.parse_replacement("${nope}", "k"));
  EXPECT_FALSE(r.parse_replacement("${w", "k"));
  EXPECT_FALSE(r.parse_replacement("abc\\", "k"));
}

TEST(Regex, TranslationLeavesOrdinaryPatternsAlone) {
  for (const char* p : {"a[b]c", "[]a]", "[^]a]", "\\[\\p", "[[:alpha:]]", "x{1,3}"})
    EXPECT_EQ(java_regex_to_pcre2(p), p);
  EXPECT_EQ(java_regex_to_pcre2("\\p{Alpha}"), "[[:alpha:]]");
  EXPECT_EQ(java_regex_to_pcre2("[\\p{Alpha}_]"), "[[:alpha:]_]");
  EXPECT_EQ(java_regex_to_pcre2("\\P{Digit}"), "[^[:digit:]]");
}

TEST(Regex, UsableFromManyThreads) {
  Regex r = re("(\\d+)-(\\d+)");
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      std::vector<Regex::Group> g;
      for (int i = 0; i < 10000; ++i)
        if (r.find("x " + std::to_string(i) + "-7", g) && *g[1] == std::to_string(i)) ++ok;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 40000);
}

}  // namespace
}  // namespace ingestor
