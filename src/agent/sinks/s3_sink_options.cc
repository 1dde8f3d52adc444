#include "agent/sinks/s3_sink_options.h"

#include <deque>

#include "base/file.h"

namespace ingestor {

namespace {

// Keys shared by both types; rolling keys take the "hdfs." prefix for type = hdfs.
std::vector<KeySpec> sink_keys(const char* p, std::deque<std::string>& names, bool hdfs) {
  auto k = [&](const char* key) -> std::string_view {
    names.push_back(std::string(p) + key);
    return names.back();
  };
  std::vector<KeySpec> keys{
      {k("path"), KeyType::kString, std::nullopt, true,
       hdfs ? "s3a://bucket/dir (S3), file:///dir or /dir (local files; a bare path follows "
              "fs.defaultFS of core-site.xml); Flume's escapes allowed after the bucket"
            : "s3a://bucket/prefix or s3://bucket/prefix; Flume's escapes allowed after the "
              "bucket"},
      {k("filePrefix"), KeyType::kString, "FlumeData", false,
       "Object name prefix (escapes allowed)"},
      {k("fileSuffix"), KeyType::kString, "", false,
       "Object name suffix, with its dot (.log); empty with a codec: the codec's extension"},
      {k("inUsePrefix"), KeyType::kString, "", false,
       hdfs ? "Local paths: name prefix of a file being written (S3: nothing in-use is uploaded)"
            : "Accepted for Flume compatibility; nothing in-use is ever written to the bucket"},
      {k("inUseSuffix"), KeyType::kString, ".tmp", false,
       hdfs ? "Local paths: name suffix of a file being written; renamed away when it is closed"
            : "Accepted for Flume compatibility; nothing in-use is ever written to the bucket"},
      {k("emptyInUseSuffix"), KeyType::kBool, "false", false,
       hdfs ? "Local paths: no in-use suffix" : "Accepted; no effect"},
      {k("rollInterval"), KeyType::kLong, "30", false, "Seconds before an object is closed; 0: off",
       0},
      {k("rollSize"), KeyType::kLong, "1024", false,
       "Encoded (compressed) bytes before an object is closed; 0: off", 0},
      {k("rollCount"), KeyType::kLong, "10", false, "Events before an object is closed; 0: off", 0},
      {k("idleTimeout"), KeyType::kLong, "0", false,
       "Seconds without events before an object is closed; 0: off", 0},
      {k("batchSize"), KeyType::kInt, "100", false, "Events taken per transaction", 1},
      {k("codeC"), KeyType::kString, "", false,
       "CompressedStream: gzip, bzip2 or zstd; SequenceFile: default (zlib), deflate, gzip or "
       "bzip2, BLOCK compression (none: DefaultCodec without an extension); snappy and lzo are "
       "refused"},
      // Flume's hdfs sink defaults to SequenceFile; our own `s3` type writes the events' text.
      {k("fileType"), KeyType::kString, hdfs ? "SequenceFile" : "DataStream", false,
       "SequenceFile (Hadoop's, key LongWritable = the timestamp header or now), DataStream or "
       "CompressedStream; serializer applies to the last two only"},
      {k("writeFormat"), KeyType::kString, "Writable", false,
       "SequenceFile values: Writable (BytesWritable) or Text (case-sensitive)"},
      {k("maxOpenFiles"), KeyType::kLong, "5000", false, "Open objects kept; the eldest is closed",
       1},
      {k("round"), KeyType::kBool, "false", false, "Round the timestamp down"},
      {k("roundValue"), KeyType::kInt, "1", false, "Round down to a multiple of this", 1, 60},
      {k("roundUnit"), KeyType::kString, "second", false, "second, minute or hour"},
      {k("timeZone"), KeyType::kString, "", false,
       "Time zone of the escapes (America/Los_Angeles); default: the local zone"},
      {k("useLocalTimeStamp"), KeyType::kBool, "false", false,
       "Use the clock instead of the timestamp header"},
      {k("callTimeout"), KeyType::kLong, "30000", false, "Milliseconds allowed per S3 call", 1},
      {k("threadsPoolSize"), KeyType::kInt, "10", false, "Accepted for Flume compatibility"},
      {k("rollTimerPoolSize"), KeyType::kInt, "1", false, "Accepted for Flume compatibility"},
      {k("closeTries"), KeyType::kInt, "0", false, "Accepted; uploads retry until they succeed"},
      {k("retryInterval"), KeyType::kLong, "180", false,
       "Accepted; uploads back off between 1 s and 60 s"},
      // HDFS security and client keys: real Flume keys that S3 and local paths have no use for.
      {k("kerberosPrincipal"), KeyType::kString, "", false, "Accepted; HDFS only, no effect"},
      {k("kerberosKeytab"), KeyType::kString, "", false, "Accepted; HDFS only, no effect"},
      {k("proxyUser"), KeyType::kString, "", false, "Accepted; HDFS only, no effect"},
      {k("useRawLocalFileSystem"), KeyType::kBool, "false", false,
       "Accepted; local paths are always written directly"},
      {"serializer", KeyType::kString, "TEXT", false, "text, header_and_text or avro_event"},
      {"serializer.*", KeyType::kPrefix, std::nullopt, false,
       "Serializer options: appendNewline (true); avro_event: compressionCodec (null), "
       "syncIntervalBytes (2048000)"},
      {"s3.endpoint", KeyType::kString, "", false,
       "S3 endpoint URL (http://127.0.0.1:9000); default: AWS for the region, or fs.s3a.endpoint"},
      {"s3.region", KeyType::kString, "us-east-1", false, "S3 region"},
      {"s3.pathStyleAccess", KeyType::kString, "", false,
       "true: http://host/bucket/key; false: http://bucket.host/key; default: auto"},
      {"s3.checksum", KeyType::kString, "CRC32C", false,
       "What each upload carries for S3 to verify: CRC32C (x-amz-checksum-crc32c, unsigned "
       "payload; cheap) or MD5 (Content-MD5 and a signed payload, for S3-compatible stores "
       "without additional checksums)"},
      {"s3.accessKey", KeyType::kString, "", false,
       "Access key id (better: the environment, ~/.aws or an instance role)"},
      {"s3.secretKey", KeyType::kString, "", false, "Secret access key"},
      {"s3.stagingDir", KeyType::kString, "", false,
       "Local directory where objects are staged (fsynced) before upload; default "
       "ingestor-data/staging/<sink>"},
      {"s3.maxStagedBytes", KeyType::kLong, "1073741824", false,
       "Staged bytes awaiting upload above which the sink stops taking events", 1},
      {"s3.partSize", KeyType::kLong, "16777216", false,
       "Multipart part size; larger objects upload in parts, each as soon as it has filled",
       5 * 1024 * 1024},
      {"s3.deadLetterDir", KeyType::kString, "", false,
       "Where events that cannot be placed go (missing timestamp...); default <stagingDir>/"
       "dead-letter"},
  };
  if (hdfs) {
    keys.push_back({"deadLetterDir", KeyType::kString, "", false,
                    "Local paths: where events that cannot be placed go (missing timestamp...); "
                    "default ingestor-data/dead-letter/<sink>"});
  }
  return keys;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

const ComponentSpec& s3_sink_spec() {
  static std::deque<std::string> names;
  static const ComponentSpec spec{"sink", "s3", "",
                                  "Writes events into S3 objects, exactly once per object, "
                                  "staged on local disk first.",
                                  sink_keys("", names, false)};
  return spec;
}

const ComponentSpec& hdfs_sink_spec() {
  static std::deque<std::string> names;
  static const ComponentSpec spec{
      "sink", "hdfs", "org.apache.flume.sink.hdfs.HDFSEventSink",
      "Flume's hdfs sink: s3a:// paths are written as the s3 sink (no .tmp objects); "
      "file:// and bare paths as local files with in-use names; hdfs:// is not supported.",
      sink_keys("hdfs.", names, true)};
  return spec;
}

Result<std::pair<std::string, std::string>> split_s3_url(const std::string& url) {
  std::string rest;
  for (const char* scheme : {"s3a://", "s3n://", "s3://"}) {
    if (url.rfind(scheme, 0) == 0) rest = url.substr(std::string_view(scheme).size());
  }
  if (rest.empty()) {
    return make_error(Errc::kConfig, "'" + url +
                                         "' is not an S3 path: expected s3a://bucket/prefix "
                                         "(hdfs:// and file:// are not supported)");
  }
  size_t slash = rest.find('/');
  std::string bucket = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash + 1);
  while (!path.empty() && path.back() == '/') path.pop_back();
  while (!path.empty() && path.front() == '/') path.erase(0, 1);
  if (bucket.empty() || bucket.find('%') != std::string::npos)
    return make_error(Errc::kConfig, "'" + url + "': the bucket name must be given literally");
  return std::make_pair(bucket, path);
}

Result<S3SinkOptions> s3_sink_options(const std::string& type_alias, const std::string& name,
                                      const Settings& s, const std::string& conf_dir,
                                      std::vector<std::string>* warnings,
                                      const std::string& s3_path) {
  const std::string p = type_alias == "hdfs" ? "hdfs." : "";
  auto key = [&](const char* k) { return p + k; };
  S3SinkOptions o;
  auto where = split_s3_url(s3_path.empty() ? s.str(key("path")) : s3_path);
  if (!where) return make_error(Errc::kConfig, key("path") + ": " + where.error().message);
  o.bucket = where->first;
  o.key_path = where->second;
  if (auto st = read_flume_file_options(p, s, o); !st) return st.error();

  // S3 settings: sink keys, then core-site.xml, then the credentials chain (at start).
  o.endpoint = s.str("s3.endpoint");
  o.region = s.str("s3.region");
  std::string ps = lower(s.str("s3.pathStyleAccess"));
  if (ps == "true") o.path_style = true;
  if (ps == "false") o.path_style = false;
  std::string ck = lower(s.str("s3.checksum"));
  if (ck == "crc32c")
    o.body_checksum = s3::BodyChecksum::kCrc32c;
  else if (ck == "md5")
    o.body_checksum = s3::BodyChecksum::kContentMd5;
  else
    return make_error(Errc::kConfig,
                      "s3.checksum = " + s.str("s3.checksum") + ": expected CRC32C or MD5");
  o.access_key = s.str("s3.accessKey");
  o.secret_key = s.str("s3.secretKey");
  if (!conf_dir.empty()) {
    std::string path = conf_dir + "/core-site.xml";
    auto cs = read_core_site(conf_dir);
    if (!cs) return cs.error();
    {
      if (o.endpoint.empty() && !cs->endpoint.empty()) {
        o.endpoint = cs->endpoint;
        if (o.endpoint.find("://") == std::string::npos) o.endpoint = "https://" + o.endpoint;
      }
      if (!o.path_style && cs->path_style) o.path_style = cs->path_style;
      if (o.access_key.empty() && !cs->access_key.empty()) {
        o.access_key = cs->access_key;
        o.secret_key = cs->secret_key;
        o.session_token = cs->session_token;
        if (warnings)
          warnings->push_back(path +
                              ": S3 keys read from fs.s3a.access.key/secret.key; keys in files "
                              "belong in a secrets store (use the environment, ~/.aws or an "
                              "instance role)");
      }
    }
  }
  if (!o.access_key.empty() && o.secret_key.empty())
    return make_error(Errc::kConfig, "s3.accessKey is set but s3.secretKey is not");
  o.staging_dir = s.str("s3.stagingDir");
  if (o.staging_dir.empty()) o.staging_dir = "ingestor-data/staging/" + name;
  o.max_staged_bytes = s.i64("s3.maxStagedBytes");
  o.part_size = s.i64("s3.partSize");
  o.dead_letter_dir = s.str("s3.deadLetterDir");
  if (o.dead_letter_dir.empty()) o.dead_letter_dir = o.staging_dir + "/dead-letter";
  return o;
}

}  // namespace ingestor
