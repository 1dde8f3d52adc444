// The taildir source's keys (reference/flume-components.md 1.1): Flume's names and defaults, the
// group syntax, headers.<g>.<key> split at the first dot, and the errors that name the key.
#include <gtest/gtest.h>

#include <filesystem>

#include "agent/sources/taildir_source.h"

namespace ingestor {
namespace {

Result<TaildirOptions> parse(const Context& ctx, std::vector<std::string>* warnings = nullptr,
                             Diagnostics* diags_out = nullptr) {
  Diagnostics d;
  Settings s = Settings::validate(taildir_source_spec(), ctx, "source", "r1", "a1.sources.r1.", d);
  if (diags_out) *diags_out = d;
  if (d.has_errors())
    return make_error(Errc::kConfig, d.all().front().key + ": " + d.all().front().message);
  return taildir_source_options(s, warnings);
}

TEST(TaildirOptions, FlumesDefaults) {
  setenv("HOME", "/home/flume", 1);
  auto o = parse({{"filegroups", "f1"}, {"filegroups.f1", "/var/log/test1/example.log"}});
  ASSERT_TRUE(o) << o.error().message;
  ASSERT_EQ(o->groups.size(), 1u);
  EXPECT_EQ(o->groups[0].dir, "/var/log/test1");
  EXPECT_TRUE(o->groups[0].pattern.matches("example.log"));
  EXPECT_TRUE(o->groups[0].pattern.matches("exampleXlog"));     // a regex: '.' is any character
  EXPECT_FALSE(o->groups[0].pattern.matches("example.log.1"));  // the whole name
  EXPECT_EQ(o->position_file, "/home/flume/.flume/taildir_position.json");
  EXPECT_EQ(o->batch_size, 100u);
  EXPECT_EQ(o->max_batch_count, INT64_MAX);
  EXPECT_EQ(o->idle_timeout, std::chrono::milliseconds(120000));
  EXPECT_EQ(o->write_pos_interval, std::chrono::milliseconds(3000));
  EXPECT_EQ(o->backoff_increment, std::chrono::milliseconds(1000));
  EXPECT_EQ(o->max_backoff, std::chrono::milliseconds(5000));
  EXPECT_TRUE(o->cache_pattern_matching);
  EXPECT_FALSE(o->file_header);
  EXPECT_EQ(o->file_header_key, "file");
  EXPECT_FALSE(o->byte_offset_header);
  EXPECT_FALSE(o->skip_to_end);
}

TEST(TaildirOptions, GroupsHeadersAndRelativeDirectories) {
  auto o = parse({{"filegroups", "f1 f2"},
                  {"filegroups.f1", "/var/log/test1/example.log"},
                  {"filegroups.f2", "logs/.*log.*"},
                  {"headers.f1.headerKey1", "value1"},
                  {"headers.f2.header.with.dots", "value2"},
                  {"fileHeader", "true"},
                  {"fileHeaderKey", "path"}});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->groups[0].headers,
            (std::vector<std::pair<std::string, std::string>>{{"headerKey1", "value1"}}));
  EXPECT_EQ(o->groups[1].headers,
            (std::vector<std::pair<std::string, std::string>>{{"header.with.dots", "value2"}}));
  EXPECT_EQ(o->groups[1].dir, (std::filesystem::current_path() / "logs").string());
  EXPECT_TRUE(o->file_header);
  EXPECT_EQ(o->file_header_key, "path");
}

TEST(TaildirOptions, ErrorsNameTheKey) {
  struct Case {
    Context ctx;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{{"filegroups.f1", "/a/b"}}, "filegroups"},
      {{{"filegroups", "f1 f2"}, {"filegroups.f1", "/a/b"}}, "filegroups.f2: missing"},
      {{{"filegroups", "f1"}, {"filegroups.f1", "/a/"}}, "filegroups.f1: expected"},
      {{{"filegroups", "f1"}, {"filegroups.f1", "/a/(unclosed"}}, "filegroups.f1"},
      {{{"filegroups", "f1"}, {"filegroups.f1", "/a/b"}, {"headers.f9.k", "v"}},
       "no file group 'f9'"},
      {{{"filegroups", "f1"}, {"filegroups.f1", "/a/b"}, {"batchSize", "0"}}, "batchSize"},
      {{{"filegroups", "f1"}, {"filegroups.f1", "/a/b"}, {"skipToend", "true"}}, "skipToEnd"},
  };
  for (const auto& c : cases) {
    auto o = parse(c.ctx);
    ASSERT_FALSE(o) << c.want;
    EXPECT_NE(o.error().message.find(c.want), std::string::npos) << o.error().message;
  }
}

TEST(TaildirOptions, NonPositiveMaxBatchCountWarnsAndUsesTheDefault) {
  std::vector<std::string> warnings;
  auto o = parse({{"filegroups", "f1"},
                  {"filegroups.f1", "/a/b"},
                  {"maxBatchCount", "0"},
                  {"filegroups.f7", "/c/d"}},
                 &warnings);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->max_batch_count, INT64_MAX);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("filegroups.f7"), std::string::npos);
  EXPECT_NE(warnings[1].find("Invalid maxBatchCount specified"), std::string::npos);
}

}  // namespace
}  // namespace ingestor
