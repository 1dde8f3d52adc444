#pragma once
// Options of the S3 sink, read either as `type = s3` (plain keys: path, filePrefix, rollInterval,
// ...) or as Flume's `type = hdfs` with an `s3a://` or `s3://` hdfs.path and Flume's `hdfs.*` keys
// and defaults (flume.md 3.7). S3 settings come from the sink's keys, then from `core-site.xml`
// in the agent's -c directory (fs.s3a.access.key / secret.key / endpoint / path.style.access, with
// a warning: keys in files belong in a secrets store), then from the standard credentials chain.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "agent/sinks/bucket_path.h"
#include "agent/sinks/serializer.h"
#include "base/compression.h"
#include "core/config/spec.h"
#include "s3/s3_client.h"

namespace ingestor {

const ComponentSpec& s3_sink_spec();    // type = s3
const ComponentSpec& hdfs_sink_spec();  // type = hdfs (org.apache.flume.sink.hdfs.HDFSEventSink)

struct S3SinkOptions {
  // Where objects go: bucket and key pattern (escapes allowed in both the key path and prefix).
  std::string bucket;
  std::string key_path;     // path inside the bucket, no leading or trailing '/'; may be empty
  std::string file_prefix = "FlumeData";
  std::string file_suffix;  // as given; empty + codec: the codec's extension
  int64_t roll_interval_s = 30;
  int64_t roll_size = 1024;  // bytes of encoded (compressed) output; 0: off
  int64_t roll_count = 10;   // 0: off
  int64_t idle_timeout_s = 0;
  size_t batch_size = 100;
  Codec codec = Codec::kNone;
  TimeOptions time;
  std::chrono::milliseconds call_timeout{30000};
  SerializerOptions serializer;
  int64_t max_open_files = 5000;

  // S3.
  std::string endpoint;  // empty: AWS's endpoint for the region
  std::string region = "us-east-1";
  std::optional<bool> path_style;
  s3::BodyChecksum body_checksum = s3::BodyChecksum::kCrc32c;
  std::string access_key;
  std::string secret_key;
  std::string session_token;

  // Local durability.
  std::string staging_dir;
  int64_t max_staged_bytes = 1LL << 30;  // push back on the channel above this
  int64_t part_size = 16LL << 20;        // multipart part size; objects above it go multipart
  std::string dead_letter_dir;

  std::string effective_suffix() const {
    return file_suffix.empty() ? std::string(codec_extension(codec)) : file_suffix;
  }
};

// Reads the options of a sink named `name` of type `type_alias` ("s3" or "hdfs"). `conf_dir` is
// the agent's -c directory (may be empty). Warnings (core-site.xml keys) go to `warnings`.
[[nodiscard]] Result<S3SinkOptions> s3_sink_options(const std::string& type_alias,
                                                    const std::string& name, const Settings& s,
                                                    const std::string& conf_dir,
                                                    std::vector<std::string>* warnings);

// Splits "s3a://bucket/a/b" into bucket "bucket" and path "a/b". Errors name the value.
[[nodiscard]] Result<std::pair<std::string, std::string>> split_s3_url(const std::string& url);

// Reads fs.s3a.* properties from a Hadoop core-site.xml text.
struct CoreSite {
  std::string access_key, secret_key, session_token, endpoint;
  std::optional<bool> path_style;
};
[[nodiscard]] Result<CoreSite> parse_core_site(const std::string& xml);

}  // namespace ingestor
