#include "core/config/spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/config/suggest.h"

namespace ingestor {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Lines = std::vector<std::string>;

const ComponentSpec& netcat_spec() {
  static const ComponentSpec spec{
      "source",
      "netcat",
      "org.apache.flume.source.NetcatSource",
      "Reads lines of text from TCP clients; each line is one event.",
      {
          {"bind", KeyType::kString, std::nullopt, true, "Host name or IP address to bind"},
          {"port", KeyType::kInt, std::nullopt, true, "TCP port", 1, 65535},
          {"max-line-length", KeyType::kInt, "512", false, "Longest line, in chars", 1},
          {"ack-every-event", KeyType::kBool, "true", false, "Reply OK to each event"},
          {"encoding", KeyType::kString, "utf-8", false, "Charset of the input"},
      }};
  return spec;
}

const ComponentSpec& rich_spec() {
  static const ComponentSpec spec{
      "sink",
      "file_roll",
      "org.apache.flume.sink.RollingFileSink",
      "Writes events to files in a directory.",
      {
          {.key = "sink.directory",
           .default_value = std::nullopt,
           .required = true,
           .help = "Directory"},
          {.key = "sink.rollInterval",
           .type = KeyType::kLong,
           .default_value = "30",
           .help = "Seconds between rolls",
           .min = 0},
          {.key = "batchSize",
           .type = KeyType::kInt,
           .default_value = "100",
           .help = "",
           .min = 1,
           .max = 10000},
          {.key = "ratio", .type = KeyType::kDouble, .default_value = "0.5", .help = ""},
          {.key = "hosts", .type = KeyType::kList, .default_value = "a b", .help = ""},
          {.key = "sink.serializer", .default_value = "TEXT", .help = ""},
          {.key = "sink.serializer.*",
           .type = KeyType::kPrefix,
           .default_value = std::nullopt,
           .help = "Serializer settings"},
          {.key = "ssl",
           .type = KeyType::kBool,
           .default_value = "false",
           .help = "Use TLS",
           .alias = "enableSSL"},
          {.key = "offset", .type = KeyType::kLong, .default_value = std::nullopt, .help = ""},
          {.key = "prefix", .default_value = "", .help = ""},
          {.key = "small",
           .type = KeyType::kInt,
           .default_value = std::nullopt,
           .help = "",
           .max = 10},
      }};
  return spec;
}

struct Validated {
  Settings settings;
  Diagnostics diags;
};

Validated validate(const ComponentSpec& spec, const Context& ctx, bool lenient = false) {
  Validated v;
  v.settings = Settings::validate(spec, ctx, spec.kind, "r1", "a1.sources.r1.", v.diags, lenient);
  return v;
}

Lines lines(const Diagnostics& d) {
  Lines out;
  for (const auto& x : d.all()) out.push_back(x.to_string());
  return out;
}

// The single diagnostic for one bad value of `key`.
std::string one_problem(const ComponentSpec& spec, Context ctx) {
  Validated v = validate(spec, ctx);
  EXPECT_EQ(v.diags.size(), 1u) << ::testing::PrintToString(lines(v.diags));
  return v.diags.size() == 1 ? v.diags.all()[0].message : "";
}

Context netcat(Context extra) {
  Context ctx{{"bind", "0.0.0.0"}, {"port", "44444"}};
  for (auto& [k, val] : extra) ctx[k] = val;
  return ctx;
}

TEST(Settings, ValidValuesAndDefaults) {
  Validated v = validate(netcat_spec(), netcat({{"ack-every-event", "FALSE"}}));
  EXPECT_THAT(lines(v.diags), IsEmpty());
  const Settings& s = v.settings;
  EXPECT_EQ(s.str("bind"), "0.0.0.0");
  EXPECT_EQ(s.i64("port"), 44444);
  EXPECT_EQ(s.i64("max-line-length"), 512);  // default
  EXPECT_FALSE(s.boolean("ack-every-event"));
  EXPECT_EQ(s.str("encoding"), "utf-8");
  EXPECT_TRUE(s.has("port"));
  EXPECT_FALSE(s.has("encoding"));
  // Keys outside the spec read as nothing.
  EXPECT_EQ(s.str("nope"), "");
  EXPECT_EQ(s.i64("nope"), 0);
  EXPECT_FALSE(s.boolean("nope"));
  EXPECT_FALSE(s.has("nope"));
}

TEST(Settings, DefaultConstructedSettingsReadAsNothing) {
  Settings s;
  EXPECT_EQ(s.str("port"), "");
  EXPECT_EQ(s.i64("port"), 0);
  EXPECT_EQ(s.dbl("port"), 0.0);
  EXPECT_TRUE(s.list("port").empty());
}

TEST(Settings, UnknownKeyWithSuggestion) {
  Validated v = validate(netcat_spec(), netcat({{"prot", "1"}}));
  EXPECT_THAT(lines(v.diags), ElementsAre("error: source r1: a1.sources.r1.prot: unknown key "
                                          "'prot' for netcat source; did you mean 'port'?"));
  EXPECT_TRUE(v.diags.has_errors_for("source", "r1"));
  EXPECT_EQ(one_problem(netcat_spec(), netcat({{"max-line-lenght", "1"}})),
            "unknown key 'max-line-lenght' for netcat source; did you mean 'max-line-length'?");
  EXPECT_EQ(one_problem(netcat_spec(), netcat({{"Encoding", "x"}})),
            "unknown key 'Encoding' for netcat source; did you mean 'encoding'?");
}

TEST(Settings, UnknownKeyListsKnownKeys) {
  EXPECT_EQ(one_problem(netcat_spec(), netcat({{"foo", "1"}})),
            "unknown key 'foo' for netcat source (known: bind, port, max-line-length, "
            "ack-every-event, encoding)");
  // Long lists are cut after ten keys.
  EXPECT_EQ(one_problem(rich_spec(), {{"sink.directory", "/d"}, {"zzzzzzzz", "1"}}),
            "unknown key 'zzzzzzzz' for file_roll sink (known: sink.directory, sink.rollInterval, "
            "batchSize, ratio, hosts, sink.serializer, sink.serializer.*, ssl, offset, prefix, "
            "...)");
}

TEST(Settings, UnknownKeyIsAWarningInLenientMode) {
  Validated v = validate(netcat_spec(), netcat({{"prot", "1"}}), /*lenient=*/true);
  EXPECT_THAT(lines(v.diags),
              ElementsAre("warning: source r1: a1.sources.r1.prot: unknown key 'prot' for netcat "
                          "source; did you mean 'port'?; ignored"));
  EXPECT_FALSE(v.diags.has_errors());
}

TEST(Settings, MissingRequiredKey) {
  Validated v = validate(netcat_spec(), {{"bind", "localhost"}});
  EXPECT_THAT(lines(v.diags),
              ElementsAre("error: source r1: a1.sources.r1.port: missing required key 'port'"));
  Validated none = validate(netcat_spec(), {});
  EXPECT_EQ(none.diags.size(), 2u);
}

TEST(Settings, BadRequiredValueIsNotAlsoReportedAsMissing) {
  Validated v = validate(netcat_spec(), netcat({{"port", "abc"}}));
  EXPECT_THAT(lines(v.diags), ElementsAre("error: source r1: a1.sources.r1.port: expected an "
                                          "integer, got 'abc'"));
  EXPECT_FALSE(v.settings.has("port"));
  EXPECT_EQ(v.settings.i64("port"), 0);
}

TEST(Settings, IntegersFollowIntegerParseInt) {
  const auto& spec = netcat_spec();
  for (const char* ok : {"80", "+80", " 80 ", "0080", "65535", "1"}) {
    Validated v = validate(spec, netcat({{"port", ok}}));
    EXPECT_THAT(lines(v.diags), IsEmpty()) << ok;
  }
  EXPECT_EQ(validate(spec, netcat({{"port", "+0080"}})).settings.i64("port"), 80);
  for (const char* bad : {"abc", "8o", "1.5", "", "+", "-", "0x10", "1e3", "8 0", "++1"}) {
    EXPECT_EQ(one_problem(spec, netcat({{"port", bad}})),
              std::string("expected an integer, got '") + bad + "'")
        << bad;
  }
}

TEST(Settings, IntegerRanges) {
  const auto& spec = netcat_spec();
  EXPECT_EQ(one_problem(spec, netcat({{"port", "70000"}})),
            "must be between 1 and 65535, got 70000");
  EXPECT_EQ(one_problem(spec, netcat({{"port", "0"}})), "must be between 1 and 65535, got 0");
  EXPECT_EQ(one_problem(spec, netcat({{"port", "-5"}})), "must be between 1 and 65535, got -5");
  // Only a minimum: the maximum is that of a Java int.
  EXPECT_EQ(one_problem(spec, netcat({{"max-line-length", "0"}})), "must be at least 1, got 0");
  EXPECT_EQ(one_problem(spec, netcat({{"max-line-length", "2147483648"}})),
            "must be at most 2147483647, got 2147483648");
  EXPECT_THAT(lines(validate(spec, netcat({{"max-line-length", "2147483647"}})).diags), IsEmpty());
  // Only a maximum.
  const auto& rich = rich_spec();
  EXPECT_EQ(one_problem(rich, {{"sink.directory", "/d"}, {"small", "11"}}),
            "must be at most 10, got 11");
  EXPECT_EQ(one_problem(rich, {{"sink.directory", "/d"}, {"small", "-2147483649"}}),
            "must be at least -2147483648, got -2147483649");
}

TEST(WholeNumber, TheIntegerSyntaxWithinARange) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(parse_whole_number(" +0256 ", 1, 256), 256);
  EXPECT_EQ(parse_whole_number("1", 1, 256), 1);
  EXPECT_EQ(parse_whole_number("9223372036854775807", 0, kMax), kMax);
  EXPECT_EQ(parse_whole_number("-9223372036854775808", kMin, 0), kMin);
  for (const char* bad : {"0", "257", "-1", "", "abc", "4.5", "0x10", "1e2", "9223372036854775808"})
    EXPECT_EQ(parse_whole_number(bad, 1, 256), std::nullopt) << bad;
  EXPECT_EQ(parse_whole_number("9223372036854775808", 0, kMax), std::nullopt);  // past 64 bits
  EXPECT_EQ(expected_whole_number(1, 256), "expected a whole number from 1 to 256");
  EXPECT_EQ(expected_whole_number(1, 86'400'000, "milliseconds"),
            "expected a whole number of milliseconds from 1 to 86400000");
  EXPECT_EQ(expected_whole_number(0, kMax, "bytes"), "expected a whole number of bytes, 0 or more");
}

TEST(Settings, Longs) {
  const auto& spec = rich_spec();
  Validated v = validate(spec, {{"sink.directory", "/d"},
                                {"sink.rollInterval", "3000000000"},
                                {"offset", "-9223372036854775808"}});
  EXPECT_THAT(lines(v.diags), IsEmpty());
  EXPECT_EQ(v.settings.i64("sink.rollInterval"), 3000000000);
  EXPECT_EQ(v.settings.i64("offset"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(one_problem(spec, {{"sink.directory", "/d"}, {"offset", "9223372036854775808"}}),
            "must be between -9223372036854775808 and 9223372036854775807, got "
            "9223372036854775808");
  EXPECT_EQ(one_problem(spec, {{"sink.directory", "/d"}, {"offset", "-99999999999999999999"}}),
            "must be between -9223372036854775808 and 9223372036854775807, got "
            "-99999999999999999999");
  EXPECT_EQ(one_problem(spec, {{"sink.directory", "/d"}, {"sink.rollInterval", "-1"}}),
            "must be at least 0, got -1");
  EXPECT_EQ(one_problem(spec, {{"sink.directory", "/d"}, {"offset", "1L"}}),
            "expected an integer, got '1L'");
}

TEST(Settings, Booleans) {
  const auto& spec = netcat_spec();
  for (const char* t : {"true", "TRUE", "True", " tRuE "}) {
    Validated v = validate(spec, netcat({{"ack-every-event", t}}));
    EXPECT_THAT(lines(v.diags), IsEmpty()) << t;
    EXPECT_TRUE(v.settings.boolean("ack-every-event")) << t;
  }
  for (const char* f : {"false", "FALSE", "False"}) {
    Validated v = validate(spec, netcat({{"ack-every-event", f}}));
    EXPECT_THAT(lines(v.diags), IsEmpty()) << f;
    EXPECT_FALSE(v.settings.boolean("ack-every-event")) << f;
  }
  EXPECT_EQ(one_problem(spec, netcat({{"ack-every-event", "yes"}})),
            "expected true or false, got 'yes'");
  // A value that failed validation reads as the default (true here).
  EXPECT_TRUE(
      validate(spec, netcat({{"ack-every-event", "1"}})).settings.boolean("ack-every-event"));
}

TEST(Settings, BadBooleanIsFalseInLenientMode) {
  // Flume's Boolean.parseBoolean: anything but "true" is false.
  Validated v = validate(netcat_spec(), netcat({{"ack-every-event", "yes"}}), /*lenient=*/true);
  EXPECT_THAT(lines(v.diags),
              ElementsAre("warning: source r1: a1.sources.r1.ack-every-event: expected true or "
                          "false, got 'yes'; reads as false"));
  EXPECT_FALSE(v.diags.has_errors());
  EXPECT_FALSE(v.settings.boolean("ack-every-event"));
  EXPECT_TRUE(v.settings.has("ack-every-event"));
}

TEST(Settings, LenientModeStillRejectsBadNumbers) {
  Validated v = validate(netcat_spec(), netcat({{"port", "x"}}), /*lenient=*/true);
  EXPECT_THAT(lines(v.diags),
              ElementsAre("error: source r1: a1.sources.r1.port: expected an integer, got 'x'"));
}

TEST(Settings, Doubles) {
  const auto& spec = rich_spec();
  auto read = [&](const char* text) {
    Validated v = validate(spec, {{"sink.directory", "/d"}, {"ratio", text}});
    EXPECT_THAT(lines(v.diags), IsEmpty()) << text;
    return v.settings.dbl("ratio");
  };
  EXPECT_EQ(read("0.25"), 0.25);
  EXPECT_EQ(read("1e3"), 1000.0);
  EXPECT_EQ(read("-2.5"), -2.5);
  EXPECT_EQ(read("+.5"), 0.5);
  EXPECT_EQ(read("2.5f"), 2.5);
  EXPECT_EQ(read("3D"), 3.0);
  EXPECT_EQ(read("7."), 7.0);
  EXPECT_TRUE(std::isnan(read("NaN")));
  EXPECT_EQ(read("-Infinity"), -HUGE_VAL);
  for (const char* bad : {"abc", "1,5", "", "e5", "inf", "nan", "1.5x"}) {
    EXPECT_EQ(one_problem(spec, {{"sink.directory", "/d"}, {"ratio", bad}}),
              std::string("expected a number, got '") + bad + "'")
        << bad;
  }
  Validated dflt = validate(spec, {{"sink.directory", "/d"}});
  EXPECT_EQ(dflt.settings.dbl("ratio"), 0.5);
}

TEST(Settings, Lists) {
  Validated v = validate(rich_spec(), {{"sink.directory", "/d"}, {"hosts", "h1  h2\th3"}});
  EXPECT_THAT(v.settings.list("hosts"), ElementsAre("h1", "h2", "h3"));
  Validated d = validate(rich_spec(), {{"sink.directory", "/d"}});
  EXPECT_THAT(d.settings.list("hosts"), ElementsAre("a", "b"));
  EXPECT_TRUE(d.settings.list("sink.directory").size() == 1);
}

TEST(Settings, PrefixKeysAcceptAnythingUnderThePrefix) {
  Validated v = validate(rich_spec(), {{"sink.directory", "/d"},
                                       {"sink.serializer", "avro_event"},
                                       {"sink.serializer.appendNewline", "false"},
                                       {"sink.serializer.syncIntervalBytes", "2048"}});
  EXPECT_THAT(lines(v.diags), IsEmpty());
  const Context expected{{"appendNewline", "false"}, {"syncIntervalBytes", "2048"}};
  EXPECT_EQ(v.settings.sub("sink.serializer."), expected);
  EXPECT_EQ(v.settings.sub("sink.serializer"), expected);
  EXPECT_EQ(v.settings.sub("sink.serializer.*"), expected);
  EXPECT_EQ(v.settings.str("sink.serializer"), "avro_event");
  EXPECT_EQ(v.settings.str("sink.serializer.appendNewline"), "false");
  EXPECT_TRUE(v.settings.has("sink.serializer.appendNewline"));
  EXPECT_FALSE(v.settings.has("sink.serializer.other"));
  // A typo in the prefix is suggested with the rest of the key.
  EXPECT_EQ(one_problem(rich_spec(),
                        {{"sink.directory", "/d"}, {"sink.serialiser.appendNewline", "false"}}),
            "unknown key 'sink.serialiser.appendNewline' for file_roll sink; did you mean "
            "'sink.serializer.appendNewline'?");
}

TEST(Settings, Aliases) {
  Validated v = validate(rich_spec(), {{"sink.directory", "/d"}, {"enableSSL", "true"}});
  EXPECT_THAT(lines(v.diags), IsEmpty());
  EXPECT_TRUE(v.settings.boolean("ssl"));
  EXPECT_TRUE(v.settings.boolean("enableSSL"));
  EXPECT_TRUE(v.settings.has("ssl"));

  Validated both =
      validate(rich_spec(), {{"sink.directory", "/d"}, {"enableSSL", "true"}, {"ssl", "false"}});
  EXPECT_THAT(lines(both.diags),
              ElementsAre("warning: sink r1: a1.sources.r1.enableSSL: 'enableSSL' is an older "
                          "spelling of 'ssl', which is also set; using 'ssl'"));
  EXPECT_FALSE(both.settings.boolean("ssl"));

  // Errors name the key as written.
  EXPECT_EQ(one_problem(rich_spec(), {{"sink.directory", "/d"}, {"enableSSL", "maybe"}}),
            "expected true or false, got 'maybe'");
  Validated bad = validate(rich_spec(), {{"sink.directory", "/d"}, {"enableSSL", "maybe"}});
  EXPECT_EQ(bad.diags.all()[0].key, "a1.sources.r1.enableSSL");
}

TEST(Settings, RequiredKeySatisfiedByAlias) {
  static const ComponentSpec spec{"source",
                                  "x",
                                  "",
                                  "",
                                  {{.key = "new",
                                    .default_value = std::nullopt,
                                    .required = true,
                                    .help = "",
                                    .alias = "old"}}};
  Validated v = validate(spec, {{"old", "1"}});
  EXPECT_THAT(lines(v.diags), IsEmpty());
  EXPECT_EQ(v.settings.str("new"), "1");
}

TEST(Settings, RequiredPrefixKey) {
  static const ComponentSpec spec{"selector",
                                  "multiplexing",
                                  "",
                                  "",
                                  {{.key = "mapping.*",
                                    .type = KeyType::kPrefix,
                                    .default_value = std::nullopt,
                                    .required = true,
                                    .help = ""}}};
  EXPECT_EQ(one_problem(spec, {}), "missing required key 'mapping.*'");
  Validated v = validate(spec, {{"mapping.CZ", "c1"}});
  EXPECT_THAT(lines(v.diags), IsEmpty());
  EXPECT_EQ(v.settings.sub("mapping."), (Context{{"CZ", "c1"}}));
}

TEST(Settings, EmptyDefaultIsAnEmptyString) {
  Validated v = validate(rich_spec(), {{"sink.directory", "/d"}});
  EXPECT_EQ(v.settings.str("prefix"), "");
  EXPECT_FALSE(v.settings.has("prefix"));
  EXPECT_EQ(v.settings.i64("offset"), 0);  // no default
}

TEST(Settings, ComponentWithoutAliasIsNamedByClass) {
  static const ComponentSpec spec{"source", "", "com.example.MySource", "", {}};
  EXPECT_EQ(one_problem(spec, {{"k", "v"}}),
            "unknown key 'k' for com.example.MySource source (it takes no keys)");
}

TEST(Describe, PrintsAReadableTable) {
  EXPECT_EQ(describe(netcat_spec()),
            "netcat source (org.apache.flume.source.NetcatSource)\n"
            "  Reads lines of text from TCP clients; each line is one event.\n"
            "\n"
            "  key              type          default  required  help\n"
            "  bind             string        -        yes       Host name or IP address to bind\n"
            "  port             int 1..65535  -        yes       TCP port\n"
            "  max-line-length  int >= 1      512      no        Longest line, in chars\n"
            "  ack-every-event  bool          true     no        Reply OK to each event\n"
            "  encoding         string        utf-8    no        Charset of the input\n");
}

TEST(Describe, ShowsAliasesPrefixesAndEmptyDefaults) {
  const std::string d = describe(rich_spec());
  EXPECT_THAT(d, ::testing::HasSubstr("Use TLS (also: enableSSL)"));
  EXPECT_THAT(d, ::testing::HasSubstr("  sink.serializer.*  "));
  EXPECT_THAT(d, ::testing::HasSubstr("  prefix             string"));
  EXPECT_THAT(d, ::testing::HasSubstr("\"\""));
  EXPECT_THAT(d, ::testing::HasSubstr("int <= 10"));
  EXPECT_THAT(d, ::testing::HasSubstr("int 1..10000"));
}

TEST(Suggest, EditDistance) {
  EXPECT_EQ(edit_distance("port", "port"), 0u);
  EXPECT_EQ(edit_distance("prot", "port"), 1u);  // a transposition
  EXPECT_EQ(edit_distance("batchsize", "batchSize"), 0u);
  EXPECT_EQ(edit_distance("capacity", "capcity"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(closest_match("prot", {"bind", "port"}), "port");
  EXPECT_EQ(closest_match("zzz", {"bind", "port"}), std::nullopt);
  EXPECT_EQ(closest_match("ab", {"xy"}), std::nullopt);
}

}  // namespace
}  // namespace ingestor
