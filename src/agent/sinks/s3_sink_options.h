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

#include "agent/sinks/flume_file_options.h"
#include "core/config/spec.h"
#include "s3/s3_client.h"

namespace ingestor {

const ComponentSpec& s3_sink_spec();  // type = s3
// type = hdfs (org.apache.flume.sink.hdfs.HDFSEventSink): s3a:// paths (the S3 sink) and local
// paths (HdfsLocalSink).
const ComponentSpec& hdfs_sink_spec();

struct S3SinkOptions : FlumeFileOptions {
  // Where objects go: bucket and key pattern (escapes allowed in both the key path and prefix).
  std::string bucket;
  std::string key_path;  // path inside the bucket, no leading or trailing '/'; may be empty

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
};

// Reads the options of a sink named `name` of type `type_alias` ("s3" or "hdfs"; `s3_path`, when
// given, is the s3a:// URL an hdfs.path resolved to). `conf_dir` is
// the agent's -c directory (may be empty). Warnings (core-site.xml keys) go to `warnings`.
[[nodiscard]] Result<S3SinkOptions> s3_sink_options(const std::string& type_alias,
                                                    const std::string& name, const Settings& s,
                                                    const std::string& conf_dir,
                                                    std::vector<std::string>* warnings,
                                                    const std::string& s3_path = "");

// Splits "s3a://bucket/a/b" into bucket "bucket" and path "a/b". Errors name the value.
[[nodiscard]] Result<std::pair<std::string, std::string>> split_s3_url(const std::string& url);

}  // namespace ingestor
