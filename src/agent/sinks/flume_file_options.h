#pragma once
// What Flume's hdfs sink writes, whatever the file system (flume.md 3.7): file naming
// (`filePrefix`, `fileSuffix`, in-use names), rolling (interval, size, count, idle timeout),
// the time escapes' options, the serializer and the codec. Shared by the S3 sink (s3a:// paths,
// `type = s3`) and the hdfs sink on local paths. Also Hadoop's core-site.xml, which says what a
// bare `hdfs.path` means (`fs.defaultFS`) and carries the s3a settings.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "agent/sinks/bucket_path.h"
#include "agent/sinks/serializer.h"
#include "base/compression.h"
#include "core/config/spec.h"

namespace ingestor {

struct FlumeFileOptions {
  std::string file_prefix = "FlumeData";
  std::string file_suffix;             // as given; empty + codec: the codec's extension
  std::string in_use_prefix;           // local paths only: a file being written is named
  std::string in_use_suffix = ".tmp";  // <inUsePrefix><prefix>.<N><suffix><inUseSuffix>
  int64_t roll_interval_s = 30;
  int64_t roll_size = 1024;  // bytes of encoded (compressed) output; 0: off
  int64_t roll_count = 10;   // 0: off
  int64_t idle_timeout_s = 0;
  size_t batch_size = 100;
  Codec codec = Codec::kNone;  // CompressedStream only; SequenceFile: serializer.seq.codec
  TimeOptions time;
  std::chrono::milliseconds call_timeout{30000};
  SerializerOptions serializer;
  int64_t max_open_files = 5000;

  std::string seq_extension;  // SequenceFile with a codec: the codec's extension (".deflate")

  std::string effective_suffix() const {
    if (!file_suffix.empty()) return file_suffix;
    // Flume's BucketWriter names a SequenceFile with a codec after the codec (.gz) too.
    if (serializer.type == SerializerType::kSequenceFile) return seq_extension;
    return codec_extension(codec);
  }
};

// Reads the keys above, each named `p` + key ("hdfs." for type = hdfs, "" for type = s3), plus
// `serializer`. fileType SequenceFile (the default, as Flume) sets the serializer to
// kSequenceFile with writeFormat and codeC (BLOCK compression), ignoring `serializer`. Errors name
// the key; snappy and lzo are refused with the codecs to use instead.
[[nodiscard]] Status read_flume_file_options(const std::string& p, const Settings& s,
                                             FlumeFileOptions& o);

// Hadoop's core-site.xml: the default file system and the fs.s3a.* properties.
struct CoreSite {
  std::string default_fs;  // fs.defaultFS (or the old fs.default.name); empty: not set
  std::string access_key, secret_key, session_token, endpoint;
  std::optional<bool> path_style;
};
[[nodiscard]] Result<CoreSite> parse_core_site(const std::string& xml);
// <conf_dir>/core-site.xml when it exists (an empty CoreSite when it does not, or no conf_dir).
[[nodiscard]] Result<CoreSite> read_core_site(const std::string& conf_dir);

// Where an `hdfs.path` writes, as Hadoop resolves it: s3a:// (s3n://, s3://) paths go to S3;
// file:///dir and file:/dir to the local directory /dir; a bare path to fs.defaultFS of
// core-site.xml in `conf_dir` (file:/// when unset, as Hadoop, a relative path then being relative
// to the working directory; an s3a://bucket default makes /dir s3a://bucket/dir). hdfs:// (and
// webhdfs://, viewfs://) paths are an error of one line naming the s3a:// and file:// paths to use
// instead.
struct HdfsTarget {
  bool local = false;
  std::string path;  // local: an absolute directory pattern; else an s3a:// URL
};
[[nodiscard]] Result<HdfsTarget> resolve_hdfs_path(const std::string& key, const std::string& path,
                                                   const std::string& conf_dir);

}  // namespace ingestor
