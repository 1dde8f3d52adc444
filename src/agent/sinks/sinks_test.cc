// Serializers, logger's event dump, null sink and file_roll.
#include <gtest/gtest.h>

#include <dirent.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "agent/channels/memory_channel.h"
#include "agent/sinks/logger_sink.h"
#include "agent/sinks/null_sink.h"
#include "agent/sinks/rolling_file_sink.h"
#include "agent/sinks/serializer.h"

namespace ingestor {
namespace {

namespace fs = std::filesystem;

Settings settings(const ComponentSpec& spec, Context ctx) {
  Diagnostics d;
  Settings s = Settings::validate(spec, ctx, "sink", "k1", "a1.sinks.k1.", d);
  EXPECT_FALSE(d.has_errors()) << (d.all().empty() ? "" : d.all()[0].to_string());
  return s;
}

std::unique_ptr<MemoryChannel> channel(std::vector<Event> events) {
  MemoryChannelOptions o;
  o.capacity = 1000;
  o.transaction_capacity = 1000;
  auto ch = std::make_unique<MemoryChannel>("c1", o);
  Tx tx = ch->begin();
  Batch b(std::move(events));
  EXPECT_TRUE(tx.put(b));
  EXPECT_TRUE(tx.commit());
  return ch;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/ingestor-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::vector<fs::path> files() const {
    std::vector<fs::path> out;
    for (auto& e : fs::directory_iterator(path)) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST(Serializer, TextAndHeaderAndText) {
  std::string out;
  Event e = Event::of("body", {{"k1", "v1"}, {"k2", "v2"}});
  serialize_event({SerializerType::kText, true}, e, out);
  EXPECT_EQ(out, "body\n");
  out.clear();
  serialize_event({SerializerType::kText, false}, e, out);
  EXPECT_EQ(out, "body");
  out.clear();
  serialize_event({SerializerType::kHeaderAndText, true}, e, out);
  EXPECT_EQ(out, "{k1=v1, k2=v2} body\n");
  EXPECT_EQ(java_map_string(Headers{}), "{}");
}

TEST(Serializer, OptionsParsing) {
  SerializerOptions o;
  EXPECT_FALSE(serializer_options("TEXT", {{"appendNewline", "false"}}, o));
  EXPECT_FALSE(o.append_newline);
  EXPECT_FALSE(serializer_options("header_and_text", {}, o));
  EXPECT_EQ(o.type, SerializerType::kHeaderAndText);
  EXPECT_TRUE(serializer_options("avro_event", {}, o));
  EXPECT_TRUE(serializer_options("text", {{"appendNewLine", "true"}}, o));  // wrong case
}

TEST(LoggerSink, DumpMatchesFlumeFormat) {
  Event e = Event::of("Hello World\r", {{"h", "v"}});
  // 12 bytes shown as "XX " and padded to 16 slots, then the printable characters.
  EXPECT_EQ(dump_event(e, 16),
            "{ headers:{h=v} body: 48 65 6C 6C 6F 20 57 6F 72 6C 64 0D             Hello World.\n }");
  EXPECT_EQ(dump_event(Event::of(""), 16), "{ headers:{} body: }");
  // maxBytesToLog cuts the dump.
  EXPECT_EQ(dump_event(Event::of("abcdef"), 2),
            "{ headers:{} body: 61 62                                           ab\n }");
}

TEST(NullSink, DiscardsAndCounts) {
  auto ch = channel({Event::of("a"), Event::of("b"), Event::of("c")});
  NullSink sink("k1", settings(null_sink_spec(), {{"batchSize", "2"}}));
  sink.set_channel(ch.get());
  ASSERT_TRUE(sink.start());
  EXPECT_EQ(*sink.process(), SinkStatus::kReady);
  EXPECT_EQ(*sink.process(), SinkStatus::kReady);
  EXPECT_EQ(*sink.process(), SinkStatus::kBackoff);  // empty channel, as Flume
  EXPECT_EQ(ch->size(), 0u);
  EXPECT_EQ(sink.counters().event_drain_success.get(), 3);
  EXPECT_EQ(sink.counters().batch_complete.get(), 1);
  EXPECT_EQ(sink.counters().batch_underflow.get(), 1);
  EXPECT_EQ(sink.counters().batch_empty.get(), 1);
}

TEST(RollingFileSink, WritesBatchesAndNamesFilesAsFlume) {
  TempDir dir;
  auto ch = channel({Event::of("one"), Event::of("two", {{"k", "v"}})});
  auto o = rolling_file_sink_options(settings(
      rolling_file_sink_spec(), {{"sink.directory", dir.path.string()},
                                 {"sink.serializer", "header_and_text"},
                                 {"sink.pathManager.prefix", "events-"},
                                 {"sink.pathManager.extension", "log"}}));
  ASSERT_TRUE(o);
  RollingFileSink sink("k1", *o);
  sink.set_channel(ch.get());
  ASSERT_TRUE(sink.start());
  EXPECT_EQ(*sink.process(), SinkStatus::kReady);
  EXPECT_EQ(*sink.process(), SinkStatus::kBackoff);
  sink.stop();
  auto files = dir.files();
  ASSERT_EQ(files.size(), 1u);
  std::string name = files[0].filename().string();
  EXPECT_EQ(name.rfind("events-", 0), 0u) << name;
  EXPECT_EQ(name.substr(name.size() - 6), "-1.log") << name;
  EXPECT_EQ(slurp(files[0]), "{} one\n{k=v} two\n");
}

TEST(RollingFileSink, RollsOnIntervalWithoutEmptyFiles) {
  TempDir dir;
  auto ch = channel({Event::of("a")});
  auto o = rolling_file_sink_options(settings(
      rolling_file_sink_spec(),
      {{"sink.directory", dir.path.string()}, {"sink.rollInterval", "1"}}));
  ASSERT_TRUE(o);
  RollingFileSink sink("k1", *o);
  sink.set_channel(ch.get());
  ASSERT_TRUE(sink.start());
  ASSERT_EQ(*sink.process(), SinkStatus::kReady);
  auto due = sink.next_timer();
  EXPECT_NE(due, std::chrono::steady_clock::time_point::max());
  std::this_thread::sleep_until(due + std::chrono::milliseconds(10));
  EXPECT_EQ(*sink.process(), SinkStatus::kBackoff);  // closes the file, opens nothing
  EXPECT_EQ(sink.next_timer(), std::chrono::steady_clock::time_point::max());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(*sink.process(), SinkStatus::kBackoff);
  {
    Tx tx = ch->begin();
    ASSERT_TRUE(tx.put(Event::of("b")));
    ASSERT_TRUE(tx.commit());
  }
  ASSERT_EQ(*sink.process(), SinkStatus::kReady);
  sink.stop();
  auto files = dir.files();
  ASSERT_EQ(files.size(), 2u);  // idle time left no empty file
  EXPECT_EQ(slurp(files[0]) + slurp(files[1]), "a\nb\n");
  EXPECT_EQ(sink.counters().connection_created.get(), 2);
  EXPECT_EQ(sink.counters().connection_closed.get(), 2);
}

TEST(RollingFileSink, UnwritableDirectoryFailsAtStart) {
  auto o = rolling_file_sink_options(
      settings(rolling_file_sink_spec(), {{"sink.directory", "/proc/no/such/dir"}}));
  ASSERT_TRUE(o);
  RollingFileSink sink("k1", *o);
  auto s = sink.start();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("sink.directory"), std::string::npos);
}

TEST(RollingFileSink, BadPathManagerIsAConfigError) {
  auto o = rolling_file_sink_options(settings(
      rolling_file_sink_spec(), {{"sink.directory", "/tmp"}, {"sink.pathManager", "daily"}}));
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message.find("sink.pathManager"), std::string::npos);
}

}  // namespace
}  // namespace ingestor
