// Flume's taildir position file (reference/flume-components.md 1.1 "Position file"): the exact
// bytes Gson writes, what Flume's reader accepts, and malformed inputs refused with a message
// saying where (and, through SourcePositions, naming the file).
#include "agent/sources/taildir_position_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "agent/channels/memory_channel.h"
#include "core/channel_processor.h"

namespace ingestor {
namespace {

PositionMap map_of(std::initializer_list<std::tuple<uint64_t, uint64_t, std::string>> entries) {
  PositionMap m;
  for (const auto& [ino, pos, path] : entries)
    m.emplace(std::to_string(ino), taildir_position_value(pos, path));
  return m;
}

TEST(TaildirPositionFile, WritesFlumesBytes) {
  // The reference's example, entries in inode order, one line, no white space, no newline.
  EXPECT_EQ(write_taildir_positions(map_of({{2496007, 0, "/var/log/test2/a.log"},
                                            {2496006, 1234, "/var/log/test1/example.log"}})),
            R"([{"inode":2496006,"pos":1234,"file":"/var/log/test1/example.log"},)"
            R"({"inode":2496007,"pos":0,"file":"/var/log/test2/a.log"}])");
  // Numeric order of inodes, not the order of their decimal strings.
  EXPECT_EQ(write_taildir_positions(map_of({{10, 1, "/b"}, {9, 2, "/a"}})),
            R"([{"inode":9,"pos":2,"file":"/a"},{"inode":10,"pos":1,"file":"/b"}])");
  EXPECT_EQ(write_taildir_positions({}), "[]");
}

TEST(TaildirPositionFile, EscapesPathsAsGsonDoes) {
  const std::string path = "/l/<a>&b='c'\"d\\e\tf\ng\x01h\x7f\xc3\xa9\xe2\x80\xa8.log";
  EXPECT_EQ(
      write_taildir_positions(map_of({{1, 2, path}})),
      R"([{"inode":1,"pos":2,"file":"/l/\u003ca\u003e\u0026b\u003d\u0027c\u0027\"d\\e\tf\ng\u0001h)"
      "\x7f\xc3\xa9"
      R"(\u2028.log"}])");
  auto back = read_taildir_positions(write_taildir_positions(map_of({{1, 2, path}})));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, map_of({{1, 2, path}}));
}

TEST(TaildirPositionFile, RoundTripsBytesThatAreNotUtf8) {
  const PositionMap m = map_of({{7, 99, "/x/\xff\xfe.log"}, {8, 0, "/x/plain"}});
  auto back = read_taildir_positions(write_taildir_positions(m));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, m);
}

TEST(TaildirPositionFile, ReadsWhatFlumesReaderAccepts) {
  auto m = read_taildir_positions(
      " [ {\"file\" : \"/a\", \"pos\": \"12\", \"inode\": 5.0},\n"
      "{\"inode\":6,\"pos\":0,\"file\":\"/b\\u0026\"} ]\n");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(*m, map_of({{5, 12, "/a"}, {6, 0, "/b&"}}));
  // Flume writes an empty file when no file matched.
  for (const char* empty : {"", "  \n", "[]"}) {
    auto e = read_taildir_positions(empty);
    ASSERT_TRUE(e) << empty;
    EXPECT_TRUE(e->empty());
  }
  // A later entry for the same inode wins.
  auto dup = read_taildir_positions(
      R"([{"inode":1,"pos":1,"file":"/a"},{"inode":1,"pos":9,"file":"/a"}])");
  ASSERT_TRUE(dup);
  EXPECT_EQ(*dup, map_of({{1, 9, "/a"}}));
}

TEST(TaildirPositionFile, RefusesMalformedInput) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"([{"inode":1,"pos":1,"file":"/a"})", "not valid JSON"},
      {"garbage", "not valid JSON"},
      {R"({"inode":1,"pos":1,"file":"/a"})", "expected a JSON array"},
      {R"([1])", "entry 1: expected an object"},
      {R"([{"inode":1,"pos":1,"file":"/a"},{"pos":1,"file":"/a"}])", "entry 2: missing \"inode\""},
      {R"([{"inode":1,"file":"/a"}])", "entry 1: missing \"pos\""},
      {R"([{"inode":1,"pos":1}])", "entry 1: missing \"file\""},
      {R"([{"inode":1,"pos":1,"file":"/a","lastUpdated":3}])", "entry 1: unknown key"},
      {R"([{"inode":-1,"pos":1,"file":"/a"}])", "\"inode\" is not a whole number"},
      {R"([{"inode":1,"pos":1.5,"file":"/a"}])", "\"pos\" is not a whole number"},
      {R"([{"inode":1,"pos":"x","file":"/a"}])", "\"pos\" is not a whole number"},
      {R"([{"inode":1,"pos":null,"file":"/a"}])", "\"pos\" is not a whole number"},
      {R"([{"inode":1,"pos":1,"file":7}])", "\"file\" is not a string"},
  };
  for (const auto& [text, want] : cases) {
    auto r = read_taildir_positions(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, Errc::kCorrupt) << text;
    EXPECT_NE(r.error().message.find(want), std::string::npos)
        << text << " -> " << r.error().message;
  }
}

TEST(TaildirPositionFile, ValueEncoding) {
  auto p = parse_taildir_position_value(taildir_position_value(42, "/dir with space/a b"));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->pos, 42u);
  EXPECT_EQ(p->path, "/dir with space/a b");
  EXPECT_FALSE(parse_taildir_position_value("nospace"));
  EXPECT_FALSE(parse_taildir_position_value("-1 /a"));
  EXPECT_FALSE(parse_taildir_inode("12a"));
  EXPECT_EQ(parse_taildir_inode("12"), 12u);
}

TEST(TaildirPositionFile, SourcePositionsNameTheMalformedFile) {
  const auto dir = std::filesystem::temp_directory_path() / ("tdpos-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "taildir_position.json").string();
  std::ofstream(file) << R"([{"inode":1,"pos":1}])";
  MemoryChannelOptions o;
  MemoryChannel ch("c1", o);
  ChannelProcessor proc({}, ChannelSelector{{&ch}, {}, nullptr});
  SourcePositions pos("r1", proc, file, taildir_position_format());
  auto r = pos.load();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(file), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("missing \"file\""), std::string::npos) << r.error().message;
  // A commit rewrites the file in Flume's format.
  std::filesystem::remove(file);
  SourcePositions ok("r1", proc, file, taildir_position_format());
  ASSERT_TRUE(ok.load());
  ASSERT_TRUE(ok.committed({{"5", taildir_position_value(10, "/l/a.log")}}));
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, R"([{"inode":5,"pos":10,"file":"/l/a.log"}])");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ingestor
