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
#include "agent/sinks/sink_test_util.h"
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
  EXPECT_TRUE(serializer_options("text", {{"appendNewLine", "true"}}, o));  // wrong case
  EXPECT_TRUE(serializer_options("text", {{"compressionCodec", "deflate"}}, o));  // avro's key
}

TEST(Serializer, AvroEventOptions) {
  SerializerOptions o;
  EXPECT_FALSE(serializer_options("avro_event", {}, o));
  EXPECT_EQ(o.type, SerializerType::kAvroEvent);
  EXPECT_EQ(o.avro_codec, AvroCodec::kNull);
  EXPECT_EQ(o.sync_interval_bytes, 2048000);
  SerializerOptions c;
  EXPECT_FALSE(serializer_options(
      "org.apache.flume.serialization.FlumeEventAvroEventSerializer$Builder",
      {{"compressionCodec", "snappy"}, {"syncIntervalBytes", "32"}}, c));
  EXPECT_EQ(c.type, SerializerType::kAvroEvent);
  EXPECT_EQ(c.avro_codec, AvroCodec::kSnappy);
  EXPECT_EQ(c.sync_interval_bytes, 32);
  // Avro's range for the sync interval; codecs we do not write; text's key; the schema-driven
  // serializer of the hdfs sink.
  EXPECT_TRUE(serializer_options("avro_event", {{"syncIntervalBytes", "31"}}, o));
  EXPECT_TRUE(serializer_options("avro_event", {{"syncIntervalBytes", "1073741825"}}, o));
  EXPECT_TRUE(serializer_options("avro_event", {{"syncIntervalBytes", "2k"}}, o));
  auto err = serializer_options("avro_event", {{"compressionCodec", "xz"}}, o);
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("compressionCodec"), std::string::npos);
  EXPECT_TRUE(serializer_options("avro_event", {{"appendNewline", "false"}}, o));
  err = serializer_options("org.apache.flume.sink.hdfs.AvroEventSerializer$Builder", {}, o);
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("not supported"), std::string::npos);
}

using sink_test::AvroFile;
using sink_test::FileSizeLimit;
using sink_test::read_null_container;

TEST(Serializer, AvroEventWritesAHeaderThenWholeBlocks) {
  SerializerOptions o;
  ASSERT_FALSE(serializer_options("avro_event", {{"syncIntervalBytes", "64"}}, o));
  EventSerializer ser(o);
  EventSerializer::File f;
  ser.new_file(f);
  std::string out;
  std::vector<Event> sent;
  for (int i = 0; i < 10; ++i) sent.push_back(Event::of("event " + std::to_string(i) + " body",
                                                        {{"n", std::to_string(i)}}));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ser.add(f, sent[i], out));
  EXPECT_EQ(out, "");  // 3 events are under 64 bytes: the block stays open
  for (int i = 3; i < 10; ++i) ASSERT_TRUE(ser.add(f, sent[i], out));
  EXPECT_NE(out, "");  // a block reached syncIntervalBytes
  ASSERT_TRUE(ser.end_block(f, out));
  ASSERT_TRUE(ser.end_block(f, out));  // nothing open: nothing written
  AvroFile got = read_null_container(out);
  EXPECT_EQ(got.meta["avro.schema"], kFlumeEventSchema);
  EXPECT_EQ(got.meta["avro.codec"], "null");
  EXPECT_GE(got.block_counts.size(), 2u);
  ASSERT_EQ(got.events.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(got.events[i].body.view(), sent[i].body.view());
    EXPECT_EQ(got.events[i].headers, sent[i].headers);
  }
  // The same file goes on: no second header.
  std::string more;
  ASSERT_TRUE(ser.add(f, sent[0], more));
  ASSERT_TRUE(ser.end_block(f, more));
  EXPECT_EQ(read_null_container(out + more).events.size(), sent.size() + 1);
}

TEST(Serializer, AvroEventDiscardDropsTheOpenBlockAndRearmsTheHeader) {
  SerializerOptions o;
  ASSERT_FALSE(serializer_options("avro_event", {}, o));
  EventSerializer ser(o);
  EventSerializer::File f;
  ser.new_file(f);
  std::string out;
  ASSERT_TRUE(ser.add(f, Event::of("lost"), out));
  ASSERT_TRUE(ser.end_block(f, out));
  out.clear();  // the write failed and the file was cut back to empty
  ASSERT_TRUE(ser.add(f, Event::of("also lost"), out));
  ser.discard(f, int64_t{0});  // the file keeps nothing
  ASSERT_TRUE(ser.add(f, Event::of("kept"), out));
  ASSERT_TRUE(ser.end_block(f, out));
  AvroFile got = read_null_container(out);
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_EQ(got.events[0].body.view(), "kept");
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

TEST(RollingFileSink, AFailedWriteLeavesWholeAvroFiles) {
  // A write fails part way: the file is cut back to where the failed group began and closed, the
  // takes roll back, and the next file (with its own header) gets the events.
  TempDir dir;
  std::vector<Event> first;
  for (int i = 0; i < 20; ++i) first.push_back(Event::of("event " + std::to_string(i)));
  auto ch = channel(std::move(first));
  auto o = rolling_file_sink_options(settings(
      rolling_file_sink_spec(), {{"sink.directory", dir.path.string()},
                                 {"sink.serializer", "avro_event"},
                                 {"sink.serializer.compressionCodec", "null"},
                                 {"sink.batchSize", "10"}}));
  ASSERT_TRUE(o);
  RollingFileSink sink("k1", *o);
  sink.set_channel(ch.get());
  ASSERT_TRUE(sink.start());
  while (*sink.process() == SinkStatus::kReady) {
  }
  ASSERT_EQ(dir.files().size(), 1u);
  const auto size = fs::file_size(dir.files()[0]);
  {
    Tx tx = ch->begin();
    Batch b;
    for (int i = 20; i < 60; ++i) b.push_back(Event::of("event " + std::to_string(i)));
    ASSERT_TRUE(tx.put(b));
    ASSERT_TRUE(tx.commit());
  }
  {
    FileSizeLimit limit(size + 50);
    EXPECT_FALSE(sink.process());
  }
  EXPECT_EQ(fs::file_size(dir.files()[0]), size);
  while (*sink.process() == SinkStatus::kReady) {
  }
  sink.stop();
  auto files = dir.files();
  ASSERT_EQ(files.size(), 2u);
  std::vector<std::string> bodies;
  for (const auto& f : files)
    for (const Event& e : read_null_container(slurp(f)).events)
      bodies.emplace_back(e.body.view());
  ASSERT_EQ(bodies.size(), 60u);
  for (int i = 0; i < 60; ++i) EXPECT_EQ(bodies[i], "event " + std::to_string(i));
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
