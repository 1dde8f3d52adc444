// S3 sink: options (Flume's hdfs keys on s3a:// paths), naming, staging recovery decisions.
// The delivery path against a real store is covered by tests/test_s3_sink.py.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>

#include <filesystem>
#include <fstream>

#include "agent/sinks/s3_sink.h"
#include "agent/sinks/s3_sink_options.h"
#include "agent/sinks/s3_staging.h"
#include "base/file.h"

namespace ingestor {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ingestor-s3sink-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

Result<S3SinkOptions> hdfs_options(Context ctx, const std::string& conf_dir = "",
                                   std::vector<std::string>* warnings = nullptr) {
  Diagnostics d;
  Settings s = Settings::validate(hdfs_sink_spec(), ctx, "sink", "k1", "a1.sinks.k1.", d);
  EXPECT_FALSE(d.has_errors()) << (d.all().empty() ? "" : d.all()[0].to_string());
  return s3_sink_options("hdfs", "k1", s, conf_dir, warnings);
}

TEST(S3SinkOptions, FlumeHdfsKeysAndDefaults) {
  auto o = hdfs_options({{"hdfs.path", "s3a://my-bucket/flume/events/%Y-%m-%d"},
                         {"hdfs.fileType", "DataStream"}});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->bucket, "my-bucket");
  EXPECT_EQ(o->key_path, "flume/events/%Y-%m-%d");
  EXPECT_EQ(o->file_prefix, "FlumeData");
  EXPECT_EQ(o->roll_interval_s, 30);
  EXPECT_EQ(o->roll_size, 1024);
  EXPECT_EQ(o->roll_count, 10);
  EXPECT_EQ(o->batch_size, 100u);
  EXPECT_EQ(o->codec, Codec::kNone);
  EXPECT_EQ(o->effective_suffix(), "");
  EXPECT_EQ(o->body_checksum, s3::BodyChecksum::kCrc32c);
}

TEST(S3SinkOptions, CompressedStreamTakesTheCodecExtension) {
  auto o = hdfs_options({{"hdfs.path", "s3://b/p"},
                         {"hdfs.fileType", "CompressedStream"},
                         {"hdfs.codeC", "gzip"}});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->codec, Codec::kGzip);
  EXPECT_EQ(o->effective_suffix(), ".gz");
  o = hdfs_options({{"hdfs.path", "s3://b/p"},
                    {"hdfs.fileType", "CompressedStream"},
                    {"hdfs.codeC", "zstd"},
                    {"hdfs.fileSuffix", ".log.zst"}});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->effective_suffix(), ".log.zst");
}

// Our own `s3` type (no Flume class) writes the events' text unless told otherwise.
TEST(S3SinkOptions, TheS3TypeDefaultsToDataStream) {
  Diagnostics d;
  Settings s = Settings::validate(s3_sink_spec(), {{"path", "s3a://b/p"}}, "sink", "k1",
                                  "a1.sinks.k1.", d);
  ASSERT_FALSE(d.has_errors()) << d.all()[0].to_string();
  auto o = s3_sink_options("s3", "k1", s, "", nullptr);
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_NE(o->serializer.type, SerializerType::kSequenceFile);
}

TEST(S3SinkOptions, SequenceFileIsTheDefault) {
  auto o = hdfs_options({{"hdfs.path", "s3a://b/p"}, {"serializer", "avro_event"}});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->serializer.type, SerializerType::kSequenceFile);  // `serializer` is ignored
  EXPECT_EQ(o->serializer.seq.value, SeqValueType::kBytesWritable);
  EXPECT_EQ(o->serializer.seq.codec, SeqCodec::kNone);
  EXPECT_EQ(o->codec, Codec::kNone);
  EXPECT_EQ(o->effective_suffix(), "");
  o = hdfs_options({{"hdfs.path", "s3a://b/p"},
                    {"hdfs.fileType", "sequencefile"},
                    {"hdfs.writeFormat", "Text"},
                    {"hdfs.codeC", "gzip"}});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->serializer.seq.value, SeqValueType::kText);
  EXPECT_EQ(o->serializer.seq.codec, SeqCodec::kGzip);
  EXPECT_EQ(o->codec, Codec::kNone);         // no stream compression around it
  EXPECT_EQ(o->effective_suffix(), ".gz");  // Flume's BucketWriter: the codec's extension
  o = hdfs_options({{"hdfs.path", "s3a://b/p"}, {"hdfs.codeC", "None"}});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->serializer.seq.codec, SeqCodec::kDefault);  // Hadoop: BLOCK needs a codec
  EXPECT_EQ(o->effective_suffix(), "");
  auto wf = hdfs_options({{"hdfs.path", "s3a://b/p"}, {"hdfs.writeFormat", "text"}});
  ASSERT_FALSE(wf);
  EXPECT_NE(wf.error().message.find("hdfs.writeFormat"), std::string::npos);
  auto snappy = hdfs_options({{"hdfs.path", "s3a://b/p"}, {"hdfs.codeC", "snappy"}});
  ASSERT_FALSE(snappy);
  EXPECT_NE(snappy.error().message.find("not supported with SequenceFile"), std::string::npos);
}

TEST(S3SinkOptions, ClearErrors) {
  auto hdfs = hdfs_options({{"hdfs.path", "hdfs://nn/p"}, {"hdfs.fileType", "DataStream"}});
  ASSERT_FALSE(hdfs);
  EXPECT_NE(hdfs.error().message.find("hdfs.path"), std::string::npos);
  auto codec = hdfs_options({{"hdfs.path", "s3a://b/p"},
                             {"hdfs.fileType", "CompressedStream"},
                             {"hdfs.codeC", "snappy"}});
  ASSERT_FALSE(codec);
  EXPECT_NE(codec.error().message.find("snappy"), std::string::npos);
  auto tz = hdfs_options({{"hdfs.path", "s3a://b/p"},
                          {"hdfs.fileType", "DataStream"},
                          {"hdfs.timeZone", "Nowhere/Land"}});
  ASSERT_FALSE(tz);
  EXPECT_NE(tz.error().message.find("hdfs.timeZone"), std::string::npos);
  auto unit = hdfs_options({{"hdfs.path", "s3a://b/p"},
                            {"hdfs.fileType", "DataStream"},
                            {"hdfs.roundUnit", "day"}});
  ASSERT_FALSE(unit);
  auto checksum = hdfs_options(
      {{"hdfs.path", "s3a://b/p"}, {"hdfs.fileType", "DataStream"}, {"s3.checksum", "SHA1"}});
  ASSERT_FALSE(checksum);
  EXPECT_NE(checksum.error().message.find("s3.checksum = SHA1: expected CRC32C or MD5"),
            std::string::npos);
  auto md5 = hdfs_options(
      {{"hdfs.path", "s3a://b/p"}, {"hdfs.fileType", "DataStream"}, {"s3.checksum", "md5"}});
  ASSERT_TRUE(md5);
  EXPECT_EQ(md5->body_checksum, s3::BodyChecksum::kContentMd5);
}

TEST(S3SinkOptions, CoreSiteXmlGivesKeysEndpointAndAWarning) {
  TempDir dir;
  std::ofstream(dir.path + "/core-site.xml") << R"(<?xml version="1.0"?>
<configuration>
  <property><name>fs.s3a.access.key</name><value>AKID</value></property>
  <property><name>fs.s3a.secret.key</name><value>SECRET</value></property>
  <property><name>fs.s3a.endpoint</name><value>127.0.0.1:9000</value></property>
  <property><name>fs.s3a.path.style.access</name><value>true</value></property>
</configuration>)";
  std::vector<std::string> warnings;
  auto o = hdfs_options({{"hdfs.path", "s3a://b/p"}, {"hdfs.fileType", "DataStream"}}, dir.path,
                        &warnings);
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->access_key, "AKID");
  EXPECT_EQ(o->secret_key, "SECRET");
  EXPECT_EQ(o->endpoint, "https://127.0.0.1:9000");
  EXPECT_EQ(o->path_style, true);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("secrets store"), std::string::npos);
  EXPECT_FALSE(parse_core_site("<configuration><property>"));
}

TEST(S3Sink, ObjectNamesAsFlume) {
  EXPECT_EQ(S3Sink::object_key("flume/events/2024-01-01", "events", 1700000000001, ".log"),
            "flume/events/2024-01-01/events.1700000000001.log");
  EXPECT_EQ(S3Sink::object_key("", "FlumeData", 5, ""), "FlumeData.5");
  EXPECT_EQ(S3Sink::object_key("/a/b/", "p", 7, ".gz"), "a/b/p.7.gz");
}

TEST(S3Staging, RecoveryKeepsCommittedBytesUnderTheManifestedKey) {
  TempDir dir;
  uint64_t a, b, c;
  {
    auto st = S3Staging::open(dir.path, nullptr);
    ASSERT_TRUE(st);
    auto oa = (*st)->create("bkt", "p/a.1");
    auto ob = (*st)->create("bkt", "p/b.1");
    auto oc = (*st)->create("bkt", "p/c.1");
    ASSERT_TRUE(oa && ob && oc);
    a = oa->id, b = ob->id, c = oc->id;
    ASSERT_TRUE((*st)->append(a, "line1\n"));
    ASSERT_TRUE((*st)->append(b, "x\n"));
    ASSERT_TRUE((*st)->commit());
    EXPECT_EQ((*st)->staged_bytes(), 8u);
    // A batch written but not committed when the process dies: torn.
    ASSERT_TRUE((*st)->append(a, "torn-batch\n"));
    (void)c;  // c: nothing ever committed
  }
  std::vector<StagedObject> rec;
  auto st = S3Staging::open(dir.path, &rec);
  ASSERT_TRUE(st) << st.error().message;
  ASSERT_EQ(rec.size(), 2u);
  std::map<std::string, StagedObject> by_key;
  for (auto& o : rec) by_key[o.key] = o;
  ASSERT_TRUE(by_key.count("p/a.1"));
  EXPECT_EQ(by_key["p/a.1"].size, 6u);  // the torn batch is gone
  EXPECT_EQ(*read_file(by_key["p/a.1"].data_path), "line1\n");
  EXPECT_TRUE(by_key["p/a.1"].sealed);
  EXPECT_EQ(by_key["p/a.1"].md5_hex.size(), 32u);
  EXPECT_EQ(by_key["p/b.1"].size, 2u);
  EXPECT_FALSE(fs::exists(dir.path + "/" + std::to_string(c) + ".meta"));  // nothing committed
  // Uploaded objects disappear from staging.
  (*st)->remove(a);
  EXPECT_FALSE(fs::exists(dir.path + "/" + std::to_string(a) + ".data"));
  EXPECT_EQ((*st)->staged_bytes(), 2u);
}

TEST(S3Staging, SealedManifestWithoutDataWasUploadedAndOrphanDataIsDeleted) {
  TempDir dir;
  uint64_t id;
  {
    auto st = S3Staging::open(dir.path, nullptr);
    ASSERT_TRUE(st);
    auto o = (*st)->create("bkt", "k");
    ASSERT_TRUE(o);
    id = o->id;
    ASSERT_TRUE((*st)->append(id, "hello"));
    ASSERT_TRUE((*st)->commit());
    ASSERT_TRUE((*st)->seal(id));
  }
  // A run that died between deleting an uploaded object's data and its manifest.
  fs::remove(dir.path + "/" + std::to_string(id) + ".data");
  std::ofstream(dir.path + "/999.data") << "orphan";
  std::vector<StagedObject> rec;
  auto st = S3Staging::open(dir.path, &rec);
  ASSERT_TRUE(st);
  EXPECT_TRUE(rec.empty());
  EXPECT_FALSE(fs::exists(dir.path + "/" + std::to_string(id) + ".meta"));
  EXPECT_FALSE(fs::exists(dir.path + "/999.data"));
}

TEST(S3Staging, SealComputesMd5AndRekeyPersists) {
  TempDir dir;
  uint64_t id;
  {
    auto st = S3Staging::open(dir.path, nullptr);
    ASSERT_TRUE(st);
    auto o = (*st)->create("bkt", "k");
    ASSERT_TRUE(o);
    id = o->id;
    ASSERT_TRUE((*st)->append(id, "hello"));
    ASSERT_TRUE((*st)->commit());
    auto s = (*st)->seal(id);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->md5_hex, "5d41402abc4b2a76b9719d911017c592");  // md5("hello")
    ASSERT_TRUE((*st)->rekey(id, "k-renamed"));
  }
  std::vector<StagedObject> rec;
  auto st = S3Staging::open(dir.path, &rec);
  ASSERT_TRUE(st);
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].key, "k-renamed");
  EXPECT_EQ(rec[0].md5_hex, "5d41402abc4b2a76b9719d911017c592");
}

TEST(S3Staging, HighWaterPositionSurvivesRestarts) {
  TempDir dir;
  {
    auto st = S3Staging::open(dir.path, nullptr);
    ASSERT_TRUE(st);
    EXPECT_EQ((*st)->high_water(), 0u);
    auto o = (*st)->create("bkt", "k");
    ASSERT_TRUE(o);
    ASSERT_TRUE((*st)->append(o->id, "x"));
    ASSERT_TRUE((*st)->commit(41));
    ASSERT_TRUE((*st)->commit(40));  // never goes back
    EXPECT_EQ((*st)->high_water(), 41u);
  }
  for (int restart = 0; restart < 2; ++restart) {  // the rewritten log keeps it too
    auto st = S3Staging::open(dir.path, nullptr);
    ASSERT_TRUE(st);
    EXPECT_EQ((*st)->high_water(), 41u);
  }
}

TEST(S3Staging, AbortDropsAFailedBatchSoTheRetryIsStagedOnce) {
  TempDir dir;
  uint64_t id;
  {
    auto st = S3Staging::open(dir.path, nullptr);
    ASSERT_TRUE(st);
    auto o = (*st)->create("bkt", "k");
    ASSERT_TRUE(o);
    id = o->id;
    ASSERT_TRUE((*st)->append(id, "a\n"));
    ASSERT_TRUE((*st)->commit(1));
    // A batch whose commit fails later: its events go back to the channel...
    ASSERT_TRUE((*st)->append(id, "b\nc\n"));
    ASSERT_TRUE((*st)->abort());
    EXPECT_EQ((*st)->staged_bytes(), 2u);
    // ...and come again: staged once, written where the committed bytes end (no hole).
    ASSERT_TRUE((*st)->append(id, "b\nc\n"));
    ASSERT_TRUE((*st)->commit(3));
    EXPECT_EQ(*read_file(dir.path + "/" + std::to_string(id) + ".data"), "a\nb\nc\n");
    ASSERT_TRUE((*st)->abort());  // nothing uncommitted: nothing changes
  }
  std::vector<StagedObject> rec;
  auto st = S3Staging::open(dir.path, &rec);
  ASSERT_TRUE(st);
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].size, 6u);
  EXPECT_EQ(*read_file(rec[0].data_path), "a\nb\nc\n");
  EXPECT_EQ((*st)->high_water(), 3u);
}

// The sink runs a commit's fsyncs on another thread: prepare (what it covers), sync, finish.
TEST(S3Staging, ACommitInStepsCoversWhatWasAppendedBeforeItWasPrepared) {
  TempDir dir;
  uint64_t id;
  {
    auto st = S3Staging::open(dir.path, nullptr);
    ASSERT_TRUE(st);
    auto o = (*st)->create("bkt", "k");
    ASSERT_TRUE(o);
    id = o->id;
    ASSERT_TRUE((*st)->append(id, "a\n"));
    auto c = (*st)->prepare_commit(7);
    ASSERT_FALSE(c.empty());
    Status synced = S3Staging::sync_commit(c);
    ASSERT_TRUE(synced);
    ASSERT_TRUE((*st)->finish_commit(c, synced));
    EXPECT_EQ((*st)->staged_bytes(), 2u);
    EXPECT_EQ((*st)->high_water(), 7u);
    EXPECT_TRUE((*st)->prepare_commit(7).empty());  // nothing new to cover
    // A failed sync records nothing: the batch is aborted and its bytes dropped.
    ASSERT_TRUE((*st)->append(id, "b\n"));
    auto failed = (*st)->prepare_commit(8);
    EXPECT_FALSE((*st)->finish_commit(failed, make_error(Errc::kIo, "fsync: EIO")));
    EXPECT_EQ((*st)->staged_bytes(), 2u);
    EXPECT_EQ((*st)->high_water(), 7u);
    ASSERT_TRUE((*st)->abort());
    EXPECT_EQ(*read_file(dir.path + "/" + std::to_string(id) + ".data"), "a\n");
  }
  std::vector<StagedObject> rec;
  auto st = S3Staging::open(dir.path, &rec);
  ASSERT_TRUE(st);
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].size, 2u);
  EXPECT_EQ((*st)->high_water(), 7u);
}

// Files may grow to `bytes` only while it lives: writes past it are cut short or fail (EFBIG),
// as on a full disk, without a mount.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGXFSZ, &ignore, &old_action_);
    getrlimit(RLIMIT_FSIZE, &old_);
    rlimit lim = old_;
    lim.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &lim);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    sigaction(SIGXFSZ, &old_action_, nullptr);
  }

 private:
  rlimit old_{};
  struct sigaction old_action_ {};
};

TEST(S3Staging, AShortWriteOnAFullDiskIsCutOffBeforeTheBatchIsRetried) {
  TempDir dir;
  auto st = S3Staging::open(dir.path, nullptr);
  ASSERT_TRUE(st);
  auto o = (*st)->create("bkt", "k");
  ASSERT_TRUE(o);
  const std::string data = dir.path + "/" + std::to_string(o->id) + ".data";
  ASSERT_TRUE((*st)->append(o->id, "a\n"));
  ASSERT_TRUE((*st)->commit(1));
  {
    FileSizeLimit full(6);  // 4 of the next 6 bytes fit
    EXPECT_FALSE((*st)->append(o->id, "b\nc\nd\n"));
  }
  ASSERT_TRUE((*st)->abort());
  // The batch comes again and lands where the committed bytes end, not behind the torn part.
  ASSERT_TRUE((*st)->append(o->id, "b\nc\nd\n"));
  ASSERT_TRUE((*st)->commit(4));
  EXPECT_EQ(*read_file(data), "a\nb\nc\nd\n");
  st->reset();
  std::vector<StagedObject> rec;
  ASSERT_TRUE(S3Staging::open(dir.path, &rec));
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].size, 8u);
}

TEST(S3Staging, AnAbortThatCannotRewriteTheLogIsFinishedBeforeTheNextAppend) {
  TempDir dir;
  auto st = S3Staging::open(dir.path, nullptr);
  ASSERT_TRUE(st);
  auto o = (*st)->create("bkt", "k");
  ASSERT_TRUE(o);
  const std::string data = dir.path + "/" + std::to_string(o->id) + ".data";
  ASSERT_TRUE((*st)->append(o->id, "a\n"));
  ASSERT_TRUE((*st)->commit(1));  // the log now holds two records (40 bytes)
  ASSERT_TRUE((*st)->append(o->id, "b\n"));
  {
    FileSizeLimit full(30);  // neither the log's next record nor a rewritten log fits
    EXPECT_FALSE((*st)->commit(2));
    EXPECT_FALSE((*st)->abort());
  }
  // Room again: "b" was never acknowledged, so the next batch must not carry it.
  ASSERT_TRUE((*st)->append(o->id, "c\n"));
  ASSERT_TRUE((*st)->commit(3));
  EXPECT_EQ(*read_file(data), "a\nc\n");
  st->reset();
  std::vector<StagedObject> rec;
  auto again = S3Staging::open(dir.path, &rec);
  ASSERT_TRUE(again);
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].size, 4u);
  EXPECT_EQ((*again)->high_water(), 3u);
}

TEST(S3Staging, TornCommitLogRecordIsIgnored) {
  std::string log = encode_commit_record(1, 10) + encode_commit_record(2, 20) +
                    encode_commit_record(1, 15);
  uint64_t valid = 0;
  auto m = parse_commit_log(log, &valid);
  EXPECT_EQ(m[1], 15u);
  EXPECT_EQ(m[2], 20u);
  EXPECT_EQ(valid, log.size());
  std::string torn = log.substr(0, log.size() - 3);
  m = parse_commit_log(torn, &valid);
  EXPECT_EQ(m[1], 10u);  // the last record is incomplete
  std::string flipped = log;
  flipped[25] ^= 1;
  m = parse_commit_log(flipped, &valid);
  EXPECT_EQ(m.size(), 1u);
}

// Found by fuzz_s3_staging: a damaged size in a sealed manifest threw std::invalid_argument out of
// S3Staging::open() (the agent died at start) instead of setting the manifest aside.
TEST(S3Staging, DamagedManifestIsSetAsideNotFatal) {
  StagedObject o;
  EXPECT_FALSE(parse_manifest("bucket=b\nkey=6b\nsealed=;0+5 abc\n", o));
  EXPECT_FALSE(parse_manifest("bucket=b\nkey=6b\nsealed=-1 abc\n", o));
  EXPECT_FALSE(parse_manifest("bucket=b\nkey=6b\nsealed=99999999999999999999 abc\n", o));
  EXPECT_FALSE(parse_manifest("bucket=b\nkey=6b\nsealed= abc\n", o));
  ASSERT_TRUE(parse_manifest("bucket=b\nkey=6b\nsealed=12 abc\n", o));
  EXPECT_EQ(o.size, 12u);
  EXPECT_EQ(o.key, "k");
  StagedObject back;
  ASSERT_TRUE(parse_manifest(manifest_text(o), back));
  EXPECT_EQ(back.size, 12u);

  TempDir dir;
  std::ofstream(dir.path + "/7.meta") << "bucket=b\nkey=6b\nsealed=x12 abc\n";
  std::ofstream(dir.path + "/7.data") << "data";
  // A name too long for an id is not a staged object (std::stoull threw out_of_range on it).
  std::ofstream(dir.path + "/123456789012345678901234567890.meta") << "bucket=b\nkey=6b\n";
  std::vector<StagedObject> rec;
  auto st = S3Staging::open(dir.path, &rec);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_TRUE(rec.empty());
  EXPECT_TRUE(fs::exists(dir.path + "/7.meta.bad"));
  EXPECT_TRUE(fs::exists(dir.path + "/7.data"));  // its data is kept aside
}

TEST(S3Staging, DirectoryIsLockedAgainstASecondUser) {
  TempDir dir;
  auto first = S3Staging::open(dir.path, nullptr);
  ASSERT_TRUE(first);
  // flock locks are per open file description: a second open in this process conflicts too.
  auto second = S3Staging::open(dir.path, nullptr);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("in use"), std::string::npos);
}

}  // namespace
}  // namespace ingestor
