// The hdfs sink on local paths: path resolution (file://, bare paths and fs.defaultFS, hdfs://
// refused), naming with in-use names, rolling, codecs, truncation of a failed write, and the
// in-use files a crash left. The real binary is covered by tests/test_hdfs_local_sink.py.
#include "agent/sinks/hdfs_local_sink.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "agent/channels/memory_channel.h"
#include "agent/sinks/s3_sink_options.h"
#include "agent/sinks/sink_test_util.h"

namespace ingestor {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ingestor-hdfslocal-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::vector<std::string> names(const std::string& sub = "") const {
    std::vector<std::string> out;
    for (auto& e : fs::directory_iterator(path + sub)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  }
};

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Settings settings(Context ctx) {
  Diagnostics d;
  Settings s = Settings::validate(hdfs_sink_spec(), ctx, "sink", "k1", "a1.sinks.k1.", d);
  EXPECT_FALSE(d.has_errors()) << (d.all().empty() ? "" : d.all()[0].to_string());
  return s;
}

std::unique_ptr<MemoryChannel> channel() {
  MemoryChannelOptions o;
  o.capacity = 10000;
  o.transaction_capacity = 1000;
  return std::make_unique<MemoryChannel>("c1", o);
}

void put(Channel& ch, int from, int to, Headers h = {}) {
  Tx tx = ch.begin();
  Batch b;
  for (int i = from; i < to; ++i) b.push_back(Event::of("event " + std::to_string(i), h));
  ASSERT_TRUE(tx.put(b));
  ASSERT_TRUE(tx.commit());
}

std::string lines(int from, int to) {
  std::string s;
  for (int i = from; i < to; ++i) s += "event " + std::to_string(i) + "\n";
  return s;
}

std::unique_ptr<HdfsLocalSink> make_sink(const std::string& dir, Context extra) {
  Context ctx{{"hdfs.path", "file://" + dir},
              {"hdfs.fileType", "DataStream"},
              {"hdfs.rollInterval", "0"},
              {"hdfs.rollSize", "0"},
              {"hdfs.rollCount", "0"}};
  for (auto& [k, v] : extra) ctx[k] = v;
  if (ctx["hdfs.fileType"] == "SequenceFile") ctx.erase("hdfs.fileType");  // Flume's default
  auto target = resolve_hdfs_path("hdfs.path", ctx["hdfs.path"], "");
  EXPECT_TRUE(target && target->local);
  auto o = hdfs_local_options("k1", settings(ctx), target->path);
  EXPECT_TRUE(o) << o.error().message;
  auto sink = HdfsLocalSink::create("k1", std::move(*o));
  EXPECT_TRUE(sink) << sink.error().message;
  return std::move(*sink);
}

TEST(HdfsPath, FileUrlsAndBarePathsAreLocal) {
  auto t = resolve_hdfs_path("hdfs.path", "file:///data/flume/%Y", "");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->local);
  EXPECT_EQ(t->path, "/data/flume/%Y");
  t = resolve_hdfs_path("hdfs.path", "file:/data", "");
  ASSERT_TRUE(t && t->local);
  EXPECT_EQ(t->path, "/data");
  t = resolve_hdfs_path("hdfs.path", "file://localhost/data", "");
  ASSERT_TRUE(t && t->local);
  EXPECT_EQ(t->path, "/data");
  t = resolve_hdfs_path("hdfs.path", "/data/flume", "");  // Hadoop's default fs: file:///
  ASSERT_TRUE(t && t->local);
  EXPECT_EQ(t->path, "/data/flume");
  t = resolve_hdfs_path("hdfs.path", "s3a://b/p", "");
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->local);
  EXPECT_FALSE(resolve_hdfs_path("hdfs.path", "file://otherhost/data", ""));
  t = resolve_hdfs_path("hdfs.path", "data/flume", "");  // relative: to the working directory
  ASSERT_TRUE(t && t->local);
  EXPECT_EQ(t->path, fs::current_path().string() + "/data/flume");
  EXPECT_FALSE(resolve_hdfs_path("hdfs.path", "ftp://host/data", ""));
}

TEST(HdfsPath, HdfsIsOneLineNamingTheS3aAndFilePaths) {
  auto t = resolve_hdfs_path("hdfs.path", "hdfs://namenode:8020/flume/events/%Y", "");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().message,
            "hdfs.path = hdfs://namenode:8020/flume/events/%Y: HDFS is not supported; write to "
            "S3 with hdfs.path = s3a://<bucket>/flume/events/%Y or to local files with "
            "hdfs.path = file:///flume/events/%Y");
  EXPECT_EQ(t.error().message.find('\n'), std::string::npos);
}

TEST(HdfsPath, BarePathsFollowFsDefaultFsOfCoreSite) {
  TempDir conf;
  auto write = [&](const std::string& fs) {
    std::ofstream(conf.path + "/core-site.xml")
        << "<configuration><property><name>fs.defaultFS</name><value>" << fs
        << "</value></property></configuration>";
  };
  write("s3a://logs/");
  auto t = resolve_hdfs_path("hdfs.path", "/flume/events", conf.path);
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->local);
  EXPECT_EQ(t->path, "s3a://logs/flume/events");
  write("file:///");
  t = resolve_hdfs_path("hdfs.path", "/flume/events", conf.path);
  ASSERT_TRUE(t && t->local);
  write("hdfs://nn:8020");
  t = resolve_hdfs_path("hdfs.path", "/flume/events", conf.path);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("fs.defaultFS hdfs://nn:8020"), std::string::npos);
  EXPECT_NE(t.error().message.find("file:///flume/events"), std::string::npos);
}

TEST(HdfsLocalOptions, CodecsAndInUseNames) {
  auto o = hdfs_local_options("k1",
                              settings({{"hdfs.path", "/d"},
                                        {"hdfs.fileType", "CompressedStream"},
                                        {"hdfs.codeC", "BZip2Codec"},
                                        {"hdfs.inUsePrefix", "_"}}),
                              "/d");
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->codec, Codec::kBzip2);
  EXPECT_EQ(o->effective_suffix(), ".bz2");
  EXPECT_EQ(o->in_use_prefix, "_");
  EXPECT_EQ(o->in_use_suffix, ".tmp");
  o = hdfs_local_options("k1",
                         settings({{"hdfs.path", "/d"},
                                   {"hdfs.fileType", "DataStream"},
                                   {"hdfs.emptyInUseSuffix", "true"}}),
                         "/d");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->in_use_suffix, "");
  for (const char* c : {"snappy", "SnappyCodec", "lzo", "com.hadoop.compression.lzo.LzopCodec"}) {
    auto bad = hdfs_local_options(
        "k1",
        settings({{"hdfs.path", "/d"}, {"hdfs.fileType", "CompressedStream"}, {"hdfs.codeC", c}}),
        "/d");
    ASSERT_FALSE(bad) << c;
    EXPECT_NE(bad.error().message.find("use gzip, bzip2 or zstd"), std::string::npos) << c;
  }
  EXPECT_EQ(HdfsLocalSink::file_path("/d", "sub/Flume", 7, ".gz", "_", ".tmp"),
            "/d/sub/_Flume.7.gz.tmp");
}

TEST(HdfsLocalSink, InUseWhileWritingFinalNamesAfterCountRolls) {
  TempDir dir;
  auto ch = channel();
  auto sink = make_sink(dir.path, {{"hdfs.rollCount", "10"},
                                   {"hdfs.batchSize", "5"},
                                   {"hdfs.filePrefix", "ev"},
                                   {"hdfs.inUsePrefix", "_"}});
  sink->set_channel(ch.get());
  ASSERT_TRUE(sink->start());
  put(*ch, 0, 25);
  while (true) {
    auto r = sink->process();
    ASSERT_TRUE(r) << r.error().message;
    if (*r == SinkStatus::kBackoff) break;
  }
  auto names = dir.names();
  ASSERT_EQ(names.size(), 3u);
  // Two closed files of 10 events with consecutive N, one in-use file with the last 5.
  EXPECT_TRUE(names[0].starts_with("_ev.") && names[0].ends_with(".tmp")) << names[0];
  EXPECT_TRUE(names[1].starts_with("ev.")) << names[1];
  const uint64_t n1 = std::stoull(names[1].substr(3));
  EXPECT_EQ(names[2], "ev." + std::to_string(n1 + 1));
  EXPECT_EQ(names[0], "_ev." + std::to_string(n1 + 2) + ".tmp");
  EXPECT_EQ(slurp(dir.path + "/" + names[1]), lines(0, 10));
  EXPECT_EQ(slurp(dir.path + "/" + names[2]), lines(10, 20));
  EXPECT_EQ(slurp(dir.path + "/" + names[0]), lines(20, 25));  // committed: in the file already
  sink->stop();
  names = dir.names();
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[2], "ev." + std::to_string(n1 + 2));
  EXPECT_EQ(slurp(dir.path + "/" + names[2]), lines(20, 25));
}

TEST(HdfsLocalSink, CompressedFilesDecodeWithEachCodec) {
  for (auto [codec, c] : {std::pair{"gzip", Codec::kGzip}, std::pair{"bzip2", Codec::kBzip2},
                          std::pair{"zstd", Codec::kZstd}}) {
    TempDir dir;
    auto ch = channel();
    auto sink = make_sink(
        dir.path,
        {{"hdfs.fileType", "CompressedStream"}, {"hdfs.codeC", codec}, {"hdfs.batchSize", "7"}});
    sink->set_channel(ch.get());
    ASSERT_TRUE(sink->start());
    put(*ch, 0, 50);
    while (*sink->process() == SinkStatus::kReady) {
    }
    sink->stop();
    auto names = dir.names();
    ASSERT_EQ(names.size(), 1u) << codec;
    EXPECT_TRUE(names[0].ends_with(codec_extension(c))) << names[0];
    auto text = decompress(c, slurp(dir.path + "/" + names[0]));
    ASSERT_TRUE(text) << codec;
    EXPECT_EQ(*text, lines(0, 50)) << codec;
  }
}

using sink_test::FileSizeLimit;

TEST(HdfsLocalSink, AvroFileStaysAContainerAfterAFailedWrite) {
  // A write fails part way (the file's first one, which holds the header, then a later one): the
  // sink cuts the file back to its last commit, the takes roll back, and the retry writes the
  // header again if the file had none. The file ends as one container with every event once.
  TempDir dir;
  auto ch = channel();
  auto sink = make_sink(dir.path, {{"serializer", "avro_event"}, {"hdfs.batchSize", "10"}});
  sink->set_channel(ch.get());
  ASSERT_TRUE(sink->start());
  auto drain = [&] {
    while (true) {
      auto r = sink->process();
      ASSERT_TRUE(r) << r.error().message;
      if (*r == SinkStatus::kBackoff) break;
    }
  };
  auto in_use = [&] { return dir.path + "/" + dir.names()[0]; };
  put(*ch, 0, 20);
  {
    FileSizeLimit limit(10);  // the header alone is longer
    EXPECT_FALSE(sink->process());
    EXPECT_EQ(fs::file_size(in_use()), 0u);
  }
  drain();
  const auto size = fs::file_size(in_use());
  put(*ch, 20, 60);
  {
    FileSizeLimit limit(size + 50);
    EXPECT_FALSE(sink->process());
    EXPECT_EQ(fs::file_size(in_use()), size);
  }
  drain();
  sink->stop();
  auto names = dir.names();
  ASSERT_EQ(names.size(), 1u);
  auto got = sink_test::read_null_container(slurp(dir.path + "/" + names[0]));
  EXPECT_EQ(got.meta["avro.codec"], "null");
  ASSERT_EQ(got.events.size(), 60u);
  for (int i = 0; i < 60; ++i) EXPECT_EQ(got.events[i].body.view(), "event " + std::to_string(i));
}

// Bodies of an uncompressed Writable SequenceFile (BytesWritable values), checking the framing:
// every record whole, every escape carrying the header's sync marker, the file ending at one.
std::vector<std::string> sequence_file_bodies(const std::string& f) {
  auto be32 = [&](size_t p) {
    return static_cast<int32_t>((static_cast<uint8_t>(f[p]) << 24) |
                                (static_cast<uint8_t>(f[p + 1]) << 16) |
                                (static_cast<uint8_t>(f[p + 2]) << 8) | static_cast<uint8_t>(f[p + 3]));
  };
  const std::string head = std::string("SEQ\x06") + "\x21org.apache.hadoop.io.LongWritable" +
                           "\x22org.apache.hadoop.io.BytesWritable" + std::string(6, '\0');
  EXPECT_EQ(f.substr(0, head.size()), head);
  size_t p = head.size();
  const std::string sync = f.substr(p, 16);
  p += 16;
  std::vector<std::string> bodies;
  bool ends_at_sync = false;
  while (p + 4 <= f.size()) {
    int32_t n = be32(p);
    ends_at_sync = n == -1;
    if (n == -1) {
      EXPECT_EQ(f.substr(p + 4, 16), sync);
      p += 20;
      continue;
    }
    EXPECT_EQ(be32(p + 4), 8);
    EXPECT_EQ(be32(p + 16), n - 12);
    bodies.push_back(f.substr(p + 20, static_cast<size_t>(n - 12)));
    p += 8 + static_cast<size_t>(n);
  }
  EXPECT_EQ(p, f.size());
  EXPECT_TRUE(ends_at_sync);
  return bodies;
}

TEST(HdfsLocalSink, SequenceFileStaysWholeAfterAFailedWrite) {
  // As for avro_event: a write fails part way (the first, which holds the header, then a later
  // one); the file is cut back to its last commit and the encoder's position with it, so the
  // retried events give one SequenceFile holding every event once.
  TempDir dir;
  auto ch = channel();
  Context ctx{{"hdfs.batchSize", "10"}, {"hdfs.fileType", "SequenceFile"}};
  auto sink = make_sink(dir.path, ctx);
  sink->set_channel(ch.get());
  ASSERT_TRUE(sink->start());
  auto drain = [&] {
    while (true) {
      auto r = sink->process();
      ASSERT_TRUE(r) << r.error().message;
      if (*r == SinkStatus::kBackoff) break;
    }
  };
  auto in_use = [&] { return dir.path + "/" + dir.names()[0]; };
  put(*ch, 0, 20, {{"timestamp", "1700000000000"}});
  {
    FileSizeLimit limit(10);  // the header alone is longer
    EXPECT_FALSE(sink->process());
    EXPECT_EQ(fs::file_size(in_use()), 0u);
  }
  drain();
  const auto size = fs::file_size(in_use());
  put(*ch, 20, 60, {{"timestamp", "1700000000000"}});
  {
    FileSizeLimit limit(size + 50);
    EXPECT_FALSE(sink->process());
    EXPECT_EQ(fs::file_size(in_use()), size);
  }
  drain();
  sink->stop();
  auto names = dir.names();
  ASSERT_EQ(names.size(), 1u);
  auto bodies = sequence_file_bodies(slurp(dir.path + "/" + names[0]));
  ASSERT_EQ(bodies.size(), 60u);
  for (int i = 0; i < 60; ++i) EXPECT_EQ(bodies[i], "event " + std::to_string(i));
}

TEST(HdfsLocalSink, EscapesPickTheDirectoryAndIntervalRollsEndTheWriter) {
  TempDir dir;
  auto ch = channel();
  auto sink = make_sink(dir.path + "/%{src}", {{"hdfs.rollInterval", "1"}});
  sink->set_channel(ch.get());
  ASSERT_TRUE(sink->start());
  put(*ch, 0, 3, {{"src", "a"}});
  put(*ch, 3, 5, {{"src", "b"}});
  while (*sink->process() == SinkStatus::kReady) {
  }
  EXPECT_EQ(dir.names(), (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(dir.names("/a").size(), 1u);
  EXPECT_TRUE(dir.names("/a")[0].ends_with(".tmp"));
  EXPECT_LT(std::chrono::steady_clock::now(), sink->next_timer());
  EXPECT_LE(sink->next_timer(), std::chrono::steady_clock::now() + std::chrono::seconds(1));
  // Past the interval a process() closes both files.
  while (std::chrono::steady_clock::now() < sink->next_timer())
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(sink->process());
  auto a = dir.names("/a"), b = dir.names("/b");
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_FALSE(a[0].ends_with(".tmp"));
  EXPECT_EQ(slurp(dir.path + "/a/" + a[0]), lines(0, 3));
  EXPECT_EQ(slurp(dir.path + "/b/" + b[0]), lines(3, 5));
  sink->stop();
}

TEST(HdfsLocalSink, InUseFilesOfAPreviousRunAreClosedAtStart) {
  TempDir dir;
  std::ofstream(dir.path + "/FlumeData.123.tmp") << "left\n";
  std::ofstream(dir.path + "/other.tmp") << "not ours\n";
  auto sink = make_sink(dir.path, {});
  auto ch = channel();
  sink->set_channel(ch.get());
  ASSERT_TRUE(sink->start());
  EXPECT_EQ(dir.names(), (std::vector<std::string>{"FlumeData.123", "other.tmp"}));
  EXPECT_EQ(slurp(dir.path + "/FlumeData.123"), "left\n");
  sink->stop();
}

TEST(HdfsLocalSink, MissingTimestampGoesToTheDeadLetterFile) {
  TempDir dir;
  auto ch = channel();
  auto sink = make_sink(dir.path + "/%Y", {{"deadLetterDir", dir.path + "/dead"}});
  sink->set_channel(ch.get());
  ASSERT_TRUE(sink->start());
  put(*ch, 0, 2);
  while (*sink->process() == SinkStatus::kReady) {
  }
  auto dead = dir.names("/dead");
  ASSERT_EQ(dead.size(), 1u);
  std::string text = slurp(dir.path + "/dead/" + dead[0]);
  EXPECT_NE(text.find("body=event 0\n"), std::string::npos);
  EXPECT_NE(text.find("body=event 1\n"), std::string::npos);
  sink->stop();
}

}  // namespace
}  // namespace ingestor
