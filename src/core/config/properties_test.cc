#include "core/config/properties.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

namespace ingestor {
namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

Properties parse_ok(std::string_view text) {
  auto r = parse_properties(text, "test.conf");
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? std::move(*r) : Properties{};
}

std::string value_of(const Properties& p, std::string_view key) {
  const std::string* v = p.get(key);
  return v ? *v : std::string("<absent>");
}

// --- Properties (the ordered map) ---------------------------------------------------------------

TEST(PropertiesMap, KeepsFirstSeenOrderAndReplacesInPlace) {
  Properties p;
  p.set("b", "1");
  p.set("a", "2");
  p.set("b", "3");
  EXPECT_EQ(p.entries(), (Entries{{"b", "3"}, {"a", "2"}}));
  EXPECT_EQ(p.size(), 2u);
  EXPECT_EQ(value_of(p, "a"), "2");
  EXPECT_EQ(p.get("c"), nullptr);
}

TEST(PropertiesMap, LookupsSurviveGrowthEraseAndCopy) {
  Properties p;
  for (int i = 0; i < 200; ++i) p.set("k" + std::to_string(i), "v" + std::to_string(i));
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(value_of(p, "k" + std::to_string(i)), "v" + std::to_string(i));
  }
  EXPECT_TRUE(p.erase("k5"));
  EXPECT_FALSE(p.erase("k5"));
  EXPECT_EQ(p.get("k5"), nullptr);
  EXPECT_EQ(value_of(p, "k6"), "v6");
  EXPECT_EQ(p.size(), 199u);

  Properties copy;
  {
    Properties tmp = p;  // copy construction
    copy = tmp;          // copy assignment; tmp dies, copy must not point into it
  }
  EXPECT_EQ(value_of(copy, "k199"), "v199");
  copy.set("k0", "changed");
  EXPECT_EQ(value_of(p, "k0"), "v0");
  Properties moved = std::move(copy);
  EXPECT_EQ(value_of(moved, "k0"), "changed");
  EXPECT_EQ(value_of(moved, "k7"), "v7");
}

TEST(PropertiesMap, MergeLaterOverridesAndAppendsNewKeys) {
  Properties a = parse_ok("x=1\ny=2\n");
  Properties b = parse_ok("y=20\nz=30\n");
  a.merge(b);
  EXPECT_EQ(a.entries(), (Entries{{"x", "1"}, {"y", "20"}, {"z", "30"}}));
}

// --- java.util.Properties.load rules -------------------------------------------------------------

TEST(ParseProperties, SeparatorsEqualsColonAndWhiteSpace) {
  Properties p = parse_ok("a=1\nb:2\nc 3\nd\t4\ne\f5\nf = 6\ng : 7\nh   =   8\ni :=9\nj==10\n");
  EXPECT_EQ(value_of(p, "a"), "1");
  EXPECT_EQ(value_of(p, "b"), "2");
  EXPECT_EQ(value_of(p, "c"), "3");
  EXPECT_EQ(value_of(p, "d"), "4");
  EXPECT_EQ(value_of(p, "e"), "5");
  EXPECT_EQ(value_of(p, "f"), "6");
  EXPECT_EQ(value_of(p, "g"), "7");
  EXPECT_EQ(value_of(p, "h"), "8");
  // After the first separator, a second one is part of the value.
  EXPECT_EQ(value_of(p, "i"), "=9");
  EXPECT_EQ(value_of(p, "j"), "=10");
}

TEST(ParseProperties, OnlyTheFirstSeparatorSplits) {
  Properties p = parse_ok("url=http://host:80/a=b c\nk v w\n");
  EXPECT_EQ(value_of(p, "url"), "http://host:80/a=b c");
  EXPECT_EQ(value_of(p, "k"), "v w");
}

TEST(ParseProperties, CommentsWithHashAndBangAlsoAfterLeadingWhiteSpace) {
  Properties p = parse_ok(
      "# comment\n"
      "! comment\n"
      "   # indented comment\n"
      "\t! indented comment\n"
      "a=1 # not a comment\n"
      "b=x!y\n");
  EXPECT_EQ(p.entries(), (Entries{{"a", "1 # not a comment"}, {"b", "x!y"}}));
}

TEST(ParseProperties, CommentEndingInBackslashDoesNotContinue) {
  Properties p = parse_ok("# comment \\\na=1\n");
  EXPECT_EQ(p.entries(), (Entries{{"a", "1"}}));
}

TEST(ParseProperties, BlankLinesAreSkipped) {
  Properties p = parse_ok("\n   \n\t\f\na=1\n\n");
  EXPECT_EQ(p.entries(), (Entries{{"a", "1"}}));
}

TEST(ParseProperties, LeadingWhiteSpaceOfALineIsIgnored) {
  Properties p = parse_ok("    a = 1\n\t\tb=2\n");
  EXPECT_EQ(p.entries(), (Entries{{"a", "1"}, {"b", "2"}}));
}

TEST(ParseProperties, BackslashContinuationDropsLeadingWhiteSpaceOfNextLine) {
  Properties p = parse_ok(
      "a1.sources = r1 \\\n"
      "             r2 \\\n"
      "\t\tr3\n"
      "b=x\\\n"
      "y\n");
  EXPECT_EQ(value_of(p, "a1.sources"), "r1 r2 r3");
  EXPECT_EQ(value_of(p, "b"), "xy");
}

TEST(ParseProperties, ContinuationInTheKey) {
  Properties p = parse_ok("long\\\n   key = v\n");
  EXPECT_EQ(value_of(p, "longkey"), "v");
}

TEST(ParseProperties, ContinuedLineStartingWithHashIsNotAComment) {
  Properties p = parse_ok("a=1\\\n  # still value\n");
  EXPECT_EQ(value_of(p, "a"), "1# still value");
}

TEST(ParseProperties, EvenNumberOfBackslashesDoesNotContinue) {
  Properties p = parse_ok("a=x\\\\\nb=y\\\\\\\nz\n");
  EXPECT_EQ(value_of(p, "a"), "x\\");
  EXPECT_EQ(value_of(p, "b"), "y\\z");
}

TEST(ParseProperties, ContinuationOntoBlankLineEndsTheValue) {
  Properties p = parse_ok("a=x\\\n\nb=y\n");
  EXPECT_EQ(p.entries(), (Entries{{"a", "x"}, {"b", "y"}}));
  Properties q = parse_ok("a=x\\\n    \nb=y\n");
  EXPECT_EQ(q.entries(), (Entries{{"a", "x"}, {"b", "y"}}));
}

TEST(ParseProperties, TrailingBackslashAtEndOfInputIsDropped) {
  Properties p = parse_ok("a=x\\");
  EXPECT_EQ(value_of(p, "a"), "x");
}

TEST(ParseProperties, CrLfAndCrLineEndings) {
  Properties crlf = parse_ok("a=1\r\nb=2\r\n# c\r\nc=3\\\r\n   4\r\n");
  EXPECT_EQ(crlf.entries(), (Entries{{"a", "1"}, {"b", "2"}, {"c", "34"}}));
  Properties cr = parse_ok("a=1\rb=2\r# c\rc=3\\\r   4\r");
  EXPECT_EQ(cr.entries(), (Entries{{"a", "1"}, {"b", "2"}, {"c", "34"}}));
  Properties mixed = parse_ok("a=1\rb=2\nc=3\r\nd=4");
  EXPECT_EQ(mixed.size(), 4u);
  EXPECT_EQ(value_of(mixed, "d"), "4");
}

TEST(ParseProperties, EscapesInValues) {
  Properties p = parse_ok("a=x\\ty\\nz\\rw\\fv\nb=\\q\\\\\\=\\:\\#\\!\\ x\n");
  EXPECT_EQ(value_of(p, "a"), "x\ty\nz\rw\fv");
  EXPECT_EQ(value_of(p, "b"), "q\\=:#! x");
}

TEST(ParseProperties, EscapedSeparatorsInKeys) {
  Properties p = parse_ok("a\\=b=1\nc\\:d:2\ne\\ f 3\n\\#g=4\n");
  EXPECT_EQ(value_of(p, "a=b"), "1");
  EXPECT_EQ(value_of(p, "c:d"), "2");
  EXPECT_EQ(value_of(p, "e f"), "3");
  EXPECT_EQ(value_of(p, "#g"), "4");
}

TEST(ParseProperties, UnicodeEscapes) {
  Properties p = parse_ok(
      "a=\\u0041\\u00e9\\u20AC\n"    // A, e-acute, euro sign
      "b=\\uD83D\\uDE00\n"           // a surrogate pair: one emoji
      "c=\\uD83D\n"                  // a lone surrogate
      "\\u006b\\u0065\\u0079=v\n");  // an escaped key
  EXPECT_EQ(value_of(p, "a"), "A\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(value_of(p, "b"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(value_of(p, "c"), "\xEF\xBF\xBD");
  EXPECT_EQ(value_of(p, "key"), "v");
}

TEST(ParseProperties, Utf8TextPassesThrough) {
  Properties p = parse_ok("gr\xC3\xBC\xC3\x9F=\xE2\x82\xAC 5\n");
  EXPECT_EQ(value_of(p, "gr\xC3\xBC\xC3\x9F"), "\xE2\x82\xAC 5");
}

TEST(ParseProperties, MalformedUnicodeEscapeNamesFileAndLine) {
  auto r = parse_properties("a=1\n\n# x\nb=\\u12G4\n", "agent.conf");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::kConfig);
  EXPECT_EQ(r.error().message, "agent.conf:4: malformed \\uXXXX escape");

  auto short_escape = parse_properties("a=\\u12", "x.conf");
  ASSERT_FALSE(short_escape.has_value());
  EXPECT_EQ(short_escape.error().message, "x.conf:1: malformed \\uXXXX escape");

  auto in_key = parse_properties("ok=1\n\\uZZZZ=1\n", "k.conf");
  ASSERT_FALSE(in_key.has_value());
  EXPECT_EQ(in_key.error().message, "k.conf:2: malformed \\uXXXX escape");
}

TEST(ParseProperties, MalformedEscapeOnAContinuationLineReportsThatLine) {
  auto r = parse_properties("a=1 \\\n  2 \\\n  \\u00\n", "c.conf");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "c.conf:3: malformed \\uXXXX escape");
}

TEST(ParseProperties, EmptyValuesAndKeysWithoutValue) {
  Properties p = parse_ok("a=\nb\nc =   \nd:\n");
  EXPECT_EQ(p.entries(), (Entries{{"a", ""}, {"b", ""}, {"c", ""}, {"d", ""}}));
}

TEST(ParseProperties, EmptyKey) {
  Properties p = parse_ok("=v\n:w\n");
  EXPECT_EQ(p.entries(), (Entries{{"", "w"}}));
}

TEST(ParseProperties, LastDuplicateWinsAndKeepsFirstPosition) {
  Properties p = parse_ok("a=1\nb=2\na=3\n");
  EXPECT_EQ(p.entries(), (Entries{{"a", "3"}, {"b", "2"}}));
}

TEST(ParseProperties, KeysAndValuesAreTrimmedAsFlumeDoes) {
  // Java keeps trailing white space of a value, and escaped white space; Flume then trims both.
  Properties p = parse_ok("a = value   \nb=\\t tabbed\\t\n\\ c\\  = 1\n");
  EXPECT_EQ(value_of(p, "a"), "value");
  EXPECT_EQ(value_of(p, "b"), "tabbed");
  EXPECT_EQ(value_of(p, "c"), "1");
}

TEST(ParseProperties, EmptyInput) {
  EXPECT_EQ(parse_ok("").size(), 0u);
  EXPECT_EQ(parse_ok("\n\n# only comments\n").size(), 0u);
}

// --- files -------------------------------------------------------------------------------------

class PropertiesFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ingestor_props_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(PropertiesFiles, LaterFilesOverrideEarlierOnes) {
  const auto base = write("base.conf", "a1.sources = r1\na1.sources.r1.port = 1\nx = base\n");
  const auto over = write("over.conf", "a1.sources.r1.port = 2\ny = over\n");
  auto r = load_properties_files({base, over});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(
      r->entries(),
      (Entries{{"a1.sources", "r1"}, {"a1.sources.r1.port", "2"}, {"x", "base"}, {"y", "over"}}));
}

TEST_F(PropertiesFiles, MissingFileIsNamed) {
  const auto missing = (dir_ / "nope.conf").string();
  auto r = load_properties_files({write("ok.conf", "a=1\n"), missing});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "cannot read " + missing + ": No such file or directory");
}

TEST_F(PropertiesFiles, DirectoryIsAnError) {
  auto r = load_properties_files({dir_.string()});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "cannot read " + dir_.string() + ": Is a directory");
}

TEST_F(PropertiesFiles, SyntaxErrorNamesTheFile) {
  const auto bad = write("bad.conf", "a=1\nb=\\uXYZW\n");
  auto r = load_properties_files({bad});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, bad + ":2: malformed \\uXXXX escape");
}

// --- substitution ------------------------------------------------------------------------------

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Substitution, EnvironmentVariables) {
  Properties p = parse_ok("a1.sinks.k1.hdfs.path = s3a://${env:BUCKET}/logs/${env:ENV}\n");
  std::vector<std::string> unresolved;
  substitute_values(p, fake_env({{"BUCKET", "my-bucket"}, {"ENV", "prod"}}), &unresolved);
  EXPECT_EQ(value_of(p, "a1.sinks.k1.hdfs.path"), "s3a://my-bucket/logs/prod");
  EXPECT_TRUE(unresolved.empty());
}

// -DpropertiesImplementation=org.apache.flume.node.EnvVarResolverProperties: a bare ${NAME}
// that is no key reads the environment; a key still wins; without the flag it stays as written.
TEST(Substitution, EnvVarResolverPropertiesReadsBareNamesFromTheEnvironment) {
  const char* text = "a1.sources.r1.port = ${NC_PORT}\nhost = h1\na1.sources.r1.bind = ${host}\n";
  Properties p = parse_ok(text);
  std::vector<std::string> unresolved;
  substitute_values(p, fake_env({{"NC_PORT", "44444"}, {"host", "from-env"}}), &unresolved, true);
  EXPECT_EQ(value_of(p, "a1.sources.r1.port"), "44444");
  EXPECT_EQ(value_of(p, "a1.sources.r1.bind"), "h1");
  EXPECT_TRUE(unresolved.empty());
  Properties q = parse_ok(text);
  substitute_values(q, fake_env({{"NC_PORT", "44444"}}), &unresolved);
  EXPECT_EQ(value_of(q, "a1.sources.r1.port"), "${NC_PORT}");
  EXPECT_EQ(unresolved.size(), 1u);
}

// Each line doubles the one below it: without a budget, 31 lines would take 2^31 bytes and hang
// the start (found by the properties fuzz target).
TEST(Substitution, ThatDoublesAtEveryLevelStopsAtABudget) {
  std::string text;
  for (int i = 0; i < 31; ++i)
    text += "k" + std::to_string(i) + " = ${k" + std::to_string(i + 1) + "}${k" +
            std::to_string(i + 1) + "}\n";
  text += "k31 = x\n";
  auto p = parse_properties(text, "doubling.conf");
  ASSERT_TRUE(p);
  std::vector<std::string> unresolved;
  substitute_values(*p, fake_env({}), &unresolved);
  EXPECT_LE(p->get("k0")->size(), size_t{4} << 20);
  EXPECT_EQ(*p->get("k20"), std::string(2048, 'x'));  // small values still resolve
  ASSERT_FALSE(unresolved.empty());
  EXPECT_NE(unresolved.front().find("longer than 1 MiB"), std::string::npos) << unresolved.front();
}

// Each value stays under the 1 MiB cap, but 100 of them would hold 100 MiB: substitution stops
// with an error naming the key where the whole configuration went over 64 MiB.
TEST(Substitution, TotalExpansionIsCappedWithAnErrorNamingTheKey) {
  std::string text = "b = " + std::string(1024, 'x') + "\nm = ";
  for (int i = 0; i < 1000; ++i) text += "${b}";
  text += "\n";
  for (int i = 0; i < 100; ++i) text += "k" + std::to_string(i) + " = ${m}\n";
  auto p = parse_properties(text, "wide.conf");
  ASSERT_TRUE(p);
  std::vector<std::string> unresolved;
  Status s = substitute_values(*p, fake_env({}), &unresolved);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kConfig);
  // 64 MiB / 1,024,000 bytes: the 66th value (m, k0..k64) goes over.
  EXPECT_EQ(s.error().message.rfind("k64: ${...} substitution stopped", 0), 0u)
      << s.error().message;
  EXPECT_NE(s.error().message.find("64 MiB"), std::string::npos) << s.error().message;
  // Under the cap, the same shape is fine.
  text.resize(text.find("k60 ="));
  p = parse_properties(text, "wide.conf");
  ASSERT_TRUE(p);
  ASSERT_TRUE(substitute_values(*p, fake_env({}), &unresolved));
  EXPECT_EQ(p->get("k59")->size(), 1024000u);
}

TEST(Substitution, ProcessEnvironment) {
  ::setenv("INGESTOR_PROPS_TEST_VAR", "from-env", 1);
  EXPECT_EQ(process_env("INGESTOR_PROPS_TEST_VAR"), "from-env");
  EXPECT_EQ(process_env("INGESTOR_PROPS_TEST_UNSET_VAR"), std::nullopt);
  Properties p = parse_ok("k = ${env:INGESTOR_PROPS_TEST_VAR}\n");
  substitute_values(p, process_env, nullptr);
  EXPECT_EQ(value_of(p, "k"), "from-env");
  ::unsetenv("INGESTOR_PROPS_TEST_VAR");
}

TEST(Substitution, KeyReferencesResolveRecursively) {
  Properties p = parse_ok(
      "base = /data\n"
      "dir = ${base}/spool\n"
      "a1.channels.c1.checkpointDir = ${dir}/checkpoint\n"
      "home = ${env:HOME_DIR}\n");
  std::vector<std::string> unresolved;
  substitute_values(p, fake_env({{"HOME_DIR", "${base}/home"}}), &unresolved);
  EXPECT_EQ(value_of(p, "dir"), "/data/spool");
  EXPECT_EQ(value_of(p, "a1.channels.c1.checkpointDir"), "/data/spool/checkpoint");
  // As in Commons-Text, a resolved value is substituted again.
  EXPECT_EQ(value_of(p, "home"), "/data/home");
  EXPECT_TRUE(unresolved.empty());
}

TEST(Substitution, KeysAreNeverSubstituted) {
  Properties p = parse_ok("${env\\:X}.sources = r1\n");
  substitute_values(p, fake_env({{"X", "a1"}}), nullptr);
  EXPECT_EQ(p.entries(), (Entries{{"${env:X}.sources", "r1"}}));
}

TEST(Substitution, DollarDollarEscapesToALiteral) {
  Properties p = parse_ok("a = $${env:X} and ${env:X}\nb = cost $$5 $x ${}\nc = $$${env:X}\n");
  std::vector<std::string> unresolved;
  substitute_values(p, fake_env({{"X", "x"}}), &unresolved);
  EXPECT_EQ(value_of(p, "a"), "${env:X} and x");
  EXPECT_EQ(value_of(p, "b"), "cost $$5 $x ${}");
  EXPECT_EQ(value_of(p, "c"), "$${env:X}");
  EXPECT_EQ(unresolved, (std::vector<std::string>{"b: ${}"}));
}

TEST(Substitution, UnresolvedStaysLiteralAndIsReported) {
  Properties p =
      parse_ok("k1 = ${env:NOPE}/x\nk2 = ${missing.key} ${env:NOPE}\nk3 = ${sys:user.home}\n");
  std::vector<std::string> unresolved;
  substitute_values(p, fake_env({}), &unresolved);
  EXPECT_EQ(value_of(p, "k1"), "${env:NOPE}/x");
  EXPECT_EQ(value_of(p, "k2"), "${missing.key} ${env:NOPE}");
  EXPECT_EQ(value_of(p, "k3"), "${sys:user.home}");
  EXPECT_EQ(unresolved, (std::vector<std::string>{"k1: ${env:NOPE}", "k2: ${missing.key}",
                                                  "k2: ${env:NOPE}", "k3: ${sys:user.home}"}));
}

TEST(Substitution, DefaultValueAfterColonDash) {
  Properties p = parse_ok("a = ${env:NOPE:-fallback}\nb = ${env:SET:-fallback}\n");
  std::vector<std::string> unresolved;
  substitute_values(p, fake_env({{"SET", "set"}}), &unresolved);
  EXPECT_EQ(value_of(p, "a"), "fallback");
  EXPECT_EQ(value_of(p, "b"), "set");
  EXPECT_TRUE(unresolved.empty());
}

TEST(Substitution, VariablesInVariableNames) {
  Properties p = parse_ok("which = BUCKET\nb = ${env:${which}}\n");
  substitute_values(p, fake_env({{"BUCKET", "bkt"}}), nullptr);
  EXPECT_EQ(value_of(p, "b"), "bkt");
}

TEST(Substitution, CyclesAreReportedAndLeftLiteral) {
  Properties p = parse_ok("a = ${b}\nb = ${a}\nself = x${self}\n");
  std::vector<std::string> unresolved;
  substitute_values(p, fake_env({}), &unresolved);
  EXPECT_EQ(value_of(p, "a"), "${b}");
  EXPECT_EQ(value_of(p, "self"), "xx${self}");
  EXPECT_EQ(unresolved, (std::vector<std::string>{"a: ${b} (cycle: b -> a -> b)",
                                                  "b: ${a} (cycle: a -> b -> a)",
                                                  "self: ${self} (cycle: self -> self)"}));
}

TEST(Substitution, UnclosedReferenceIsLiteral) {
  Properties p = parse_ok("a = ${env:X\n");
  std::vector<std::string> unresolved;
  substitute_values(p, fake_env({{"X", "x"}}), &unresolved);
  EXPECT_EQ(value_of(p, "a"), "${env:X");
  EXPECT_TRUE(unresolved.empty());
}

TEST(Substitution, ResultIsTrimmedAsFlumeDoes) {
  Properties p = parse_ok("a = ${env:PADDED}\n");
  substitute_values(p, fake_env({{"PADDED", "  v  "}}), nullptr);
  EXPECT_EQ(value_of(p, "a"), "v");
}

TEST(Substitution, LookupsSeeValuesAsWrittenNotEarlierResults) {
  // b is listed before a; order must not matter.
  Properties p = parse_ok("b = ${a}-b\na = $${literal}\n");
  substitute_values(p, fake_env({}), nullptr);
  EXPECT_EQ(value_of(p, "a"), "${literal}");
  EXPECT_EQ(value_of(p, "b"), "${literal}-b");
}

}  // namespace
}  // namespace ingestor
