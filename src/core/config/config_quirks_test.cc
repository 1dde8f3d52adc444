// Configuration files as they are written: one test per quirk (docs/configuration.md).
#include "core/config/config_quirks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/config/agent_config.h"

namespace ingestor {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct Read {
  Properties props;
  std::vector<std::string> notes;
  bool errors = false;
};

Read read(std::string_view text, bool lenient = false) {
  std::vector<PropertyLine> lines;
  auto p = parse_properties(text, "agent.conf", &lines);
  EXPECT_TRUE(p);
  Diagnostics d;
  Read r;
  r.props = apply_config_quirks(lines, lenient, d);
  for (const auto& x : d.all()) r.notes.push_back(x.to_string());
  r.errors = d.has_errors();
  return r;
}

std::string get(const Read& r, std::string_view k) {
  const std::string* v = r.props.get(k);
  return v ? *v : "<unset>";
}

TEST(ConfigQuirks, DuplicateKeyLastWinsWithOneWarning) {
  Read r = read("a1.sources = r1\na1.channels = c1\na1.sources = r2\n");
  EXPECT_EQ(get(r, "a1.sources"), "r2");
  EXPECT_THAT(r.notes, ElementsAre("warning: file agent.conf:3: a1.sources: set again (first at "
                                   "agent.conf:1): the last value wins"));
}

TEST(ConfigQuirks, HashInsideAValueIsKept) {
  Read r = read("a1.sinks.k1.sink.directory = /var/out # the output\n# a real comment\n");
  EXPECT_EQ(get(r, "a1.sinks.k1.sink.directory"), "/var/out # the output");
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_THAT(r.notes[0], HasSubstr("'#' inside a value is part of the value"));
  EXPECT_THAT(read("a1.x.y.z = a#b\n").notes, IsEmpty());  // no space before: quiet
}

TEST(ConfigQuirks, WhitespaceSeparator) {
  Read r = read("a1.sources r1\na1.channels\tc1\na1.sinks:k1\n");
  EXPECT_EQ(get(r, "a1.sources"), "r1");
  EXPECT_EQ(get(r, "a1.channels"), "c1");
  EXPECT_EQ(get(r, "a1.sinks"), "k1");
  EXPECT_THAT(r.notes, IsEmpty());
}

TEST(ConfigQuirks, CrlfAndCrLineEnds) {
  Read r = read("a1.sources = r1\r\na1.channels = c1\ra1.sinks = k1\r\n");
  EXPECT_EQ(get(r, "a1.sources"), "r1");
  EXPECT_EQ(get(r, "a1.channels"), "c1");
  EXPECT_EQ(get(r, "a1.sinks"), "k1");
  EXPECT_THAT(r.notes, IsEmpty());
}

TEST(ConfigQuirks, NonBreakingSpaceIsAnErrorStrictAndASpaceLenient) {
  const char* text =
      "a1.sources = r1\xC2\xA0\n\xC2\xA0"
      "a1.channels = c1\n";
  Read strict = read(text);
  EXPECT_TRUE(strict.errors);
  ASSERT_EQ(strict.notes.size(), 2u);
  EXPECT_THAT(strict.notes[0],
              HasSubstr("error: file agent.conf:1: a1.sources: non-breaking space"));
  Read lenient = read(text, true);
  EXPECT_FALSE(lenient.errors);
  EXPECT_EQ(get(lenient, "a1.sources"), "r1");
  EXPECT_EQ(get(lenient, "a1.channels"), "c1");
  EXPECT_EQ(lenient.notes.size(), 2u);
}

TEST(ConfigQuirks, ALineOfNonBreakingSpacesOnlyIsIgnoredInBothModes) {
  const char* text = "a1.sources = r1\n\xC2\xA0\xC2\xA0\na1.channels = c1\n";
  for (bool lenient : {false, true}) {
    Read r = read(text, lenient);
    EXPECT_FALSE(r.errors) << lenient;
    ASSERT_EQ(r.notes.size(), 1u) << lenient;
    EXPECT_THAT(r.notes[0], HasSubstr("warning: file agent.conf:2: a line of non-breaking spaces"));
    EXPECT_EQ(get(r, "a1.channels"), "c1");
    EXPECT_EQ(r.props.size(), 2u);
  }
}

TEST(ConfigQuirks, SlashSlashLinesAreIgnoredWithAWarning) {
  Read r = read("// the agent\n//a1.sinks = k9\na1.sinks = k1\n");
  EXPECT_EQ(get(r, "a1.sinks"), "k1");
  EXPECT_EQ(r.props.size(), 1u);
  ASSERT_EQ(r.notes.size(), 2u);
  EXPECT_THAT(r.notes[0], HasSubstr("agent.conf:1: a '//' line is not a comment"));
  EXPECT_EQ(r.props.get("//a1.sinks"), nullptr);
  Read url = read("a1.sinks.k1.endpoint = http://host/x\n");
  EXPECT_THAT(url.notes, IsEmpty());
}

TEST(ConfigQuirks, PastedShellCommandsAreIgnored) {
  Read r = read(
      "$ bin/flume-ng agent -n a1 -c conf -f conf/a.conf\n"
      "bin/flume-ng agent --conf conf -Dflume.root.logger=INFO,console\n"
      "flume-ng agent -n a1\n"
      "nohup ./bin/flume-ng agent &\n"
      "export JAVA_OPTS=-Xmx1g\n"
      "a1.sources = r1\n"
      "a1.sources.r1.command = ${HOME}/x.sh\n");
  EXPECT_EQ(r.props.size(), 2u);
  EXPECT_EQ(r.notes.size(), 5u);
  for (const auto& n : r.notes) EXPECT_THAT(n, HasSubstr("looks like a pasted shell command"));
}

TEST(ConfigQuirks, ListedButNotConfiguredAndConfiguredButNotListed) {
  Read r = read(
      "a1.sources = r1\na1.channels = c1 c2\na1.sinks = k1\n"
      "a1.sources.r1.type = netcat\na1.sources.r1.channels = c1\n"
      "a1.channels.c1.type = memory\n"
      "a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n"
      "a1.sinks.k2.type = null\na1.sinks.k2.channel = c1\n");
  Diagnostics d;
  AgentConfig c = parse_agent_config(r.props, "a1", d);
  std::vector<std::string> notes;
  for (const auto& x : d.all()) notes.push_back(x.to_string());
  // c2 is listed with no keys: an error for c2 alone (--lenient drops it and runs the rest, as
  // Flume); k2 is configured but not listed: a warning, its keys ignored.
  EXPECT_TRUE(d.has_errors_for("channel", "c2"));
  EXPECT_FALSE(d.has_errors_for("channel", "c1"));
  EXPECT_THAT(notes, ::testing::Contains(HasSubstr("sink k2: a1.sinks.k2.")));
  EXPECT_THAT(notes, ::testing::Contains(HasSubstr("channel c2: a1.channels: listed but has no "
                                                   "properties")));
}

}  // namespace
}  // namespace ingestor
