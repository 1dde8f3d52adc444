#include "agent/sinks/flume_file_options.h"

#include <cctype>
#include <filesystem>
#include <pugixml.hpp>

#include "base/file.h"

namespace ingestor {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool starts_with(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

}  // namespace

Status read_flume_file_options(const std::string& p, const Settings& s, FlumeFileOptions& o) {
  auto key = [&](const char* k) { return p + k; };
  o.file_prefix = s.str(key("filePrefix"));
  o.file_suffix = s.str(key("fileSuffix"));
  o.in_use_prefix = s.str(key("inUsePrefix"));
  o.in_use_suffix = s.boolean(key("emptyInUseSuffix")) ? "" : s.str(key("inUseSuffix"));
  o.roll_interval_s = s.i64(key("rollInterval"));
  o.roll_size = s.i64(key("rollSize"));
  o.roll_count = s.i64(key("rollCount"));
  o.idle_timeout_s = s.i64(key("idleTimeout"));
  o.batch_size = static_cast<size_t>(s.i64(key("batchSize")));
  o.max_open_files = s.i64(key("maxOpenFiles"));
  o.call_timeout = std::chrono::milliseconds(s.i64(key("callTimeout")));

  std::string file_type = lower(s.str(key("fileType")));
  std::string codec = s.str(key("codeC"));
  const std::string n = lower(codec);
  const bool unsupported = n.find("snappy") != std::string::npos ||
                           n.find("lzo") != std::string::npos || n.find("lz4") != std::string::npos;
  bool sequence_file = false;
  if (file_type == "sequencefile") {
    // HDFSSequenceFile: key LongWritable; value BytesWritable (Writable) or Text (Text), matched
    // case-sensitively as Flume's enum. A codec means BLOCK compression; Flume's "None" is BLOCK
    // with DefaultCodec and no file extension (SequenceFile.Writer's CompressionOption).
    sequence_file = true;
    SeqFormat f;
    std::string wf = s.str(key("writeFormat"));
    if (wf == "Writable") {
      f.value = SeqValueType::kBytesWritable;
    } else if (wf == "Text") {
      f.value = SeqValueType::kText;
    } else {
      return make_error(Errc::kConfig, key("writeFormat") + ": expected Writable or Text, got '" +
                                           wf + "'");
    }
    if (!codec.empty()) {
      if (n == "none") {
        f.codec = SeqCodec::kDefault;
        o.seq_extension.clear();
      } else if (auto c = seq_codec_from_name(codec)) {
        f.codec = *c;
        o.seq_extension = seq_codec_extension(*c);
      } else {
        return make_error(Errc::kConfig,
                          key("codeC") + ": '" + codec + "' is not supported with SequenceFile" +
                              (unsupported ? " (its Hadoop framing is readable only by Hadoop's "
                                             "native libraries)"
                                           : "") +
                              "; use default (zlib), gzip or bzip2");
      }
    }
    o.serializer = SerializerOptions{};
    o.serializer.type = SerializerType::kSequenceFile;
    o.serializer.seq = f;
  } else if (file_type == "datastream") {
    if (!codec.empty())
      return make_error(Errc::kConfig, key("codeC") + " is set but " + key("fileType") +
                                           " is DataStream; use CompressedStream");
  } else if (file_type == "compressedstream") {
    auto c = codec_from_name(codec);
    if (unsupported) {
      return make_error(Errc::kConfig,
                        key("codeC") + ": '" + codec +
                            "' is not supported: Hadoop's block framing of it is readable only "
                            "by Hadoop; use gzip, bzip2 or zstd (readable by gzip -d, bzip2 -d, "
                            "zstd -d)");
    }
    if (codec.empty() || !c || *c == Codec::kNone)
      return make_error(Errc::kConfig, key("codeC") + ": '" + codec +
                                           "' is not supported with CompressedStream (use gzip, "
                                           "bzip2 or zstd)");
    o.codec = *c;
  } else {
    return make_error(Errc::kConfig, key("fileType") +
                                         ": expected SequenceFile, DataStream or "
                                         "CompressedStream, got '" +
                                         s.str(key("fileType")) + "'");
  }

  o.time.use_local_timestamp = s.boolean(key("useLocalTimeStamp"));
  o.time.round = s.boolean(key("round"));
  o.time.round_value = static_cast<int>(s.i64(key("roundValue")));
  std::string unit = lower(s.str(key("roundUnit")));
  if (unit == "second") {
    o.time.round_unit = RoundUnit::kSecond;
  } else if (unit == "minute") {
    o.time.round_unit = RoundUnit::kMinute;
  } else if (unit == "hour") {
    o.time.round_unit = RoundUnit::kHour;
    if (o.time.round_value > 24)
      return make_error(Errc::kConfig, key("roundValue") + ": must be at most 24 for hours");
  } else {
    return make_error(Errc::kConfig,
                      key("roundUnit") + ": expected second, minute or hour, got '" + unit + "'");
  }
  std::string tz = s.str(key("timeZone"));
  if (!tz.empty()) {
    auto z = TimeZone::load(tz);
    if (!z) return make_error(Errc::kConfig, key("timeZone") + ": " + z.error().message);
    o.time.time_zone = *z;
  } else {
    o.time.time_zone = TimeZone::local();
  }
  // SequenceFile ignores `serializer`, as Flume.
  if (!sequence_file) {
    if (auto err = serializer_options(s.str("serializer"), s.sub("serializer."), o.serializer))
      return make_error(Errc::kConfig, "serializer: " + *err);
  }
  return {};
}

Result<CoreSite> parse_core_site(const std::string& xml) {
  pugi::xml_document doc;
  auto r = doc.load_string(xml.c_str());
  if (!r) return make_error(Errc::kConfig, std::string("core-site.xml: ") + r.description());
  CoreSite cs;
  std::string old_default;
  for (auto prop : doc.child("configuration").children("property")) {
    std::string n = prop.child_value("name");
    std::string v = prop.child_value("value");
    if (n == "fs.defaultFS") cs.default_fs = v;
    if (n == "fs.default.name") old_default = v;
    if (n == "fs.s3a.access.key") cs.access_key = v;
    if (n == "fs.s3a.secret.key") cs.secret_key = v;
    if (n == "fs.s3a.session.token") cs.session_token = v;
    if (n == "fs.s3a.endpoint") cs.endpoint = v;
    if (n == "fs.s3a.path.style.access") cs.path_style = lower(v) == "true";
  }
  if (cs.default_fs.empty()) cs.default_fs = old_default;
  return cs;
}

Result<CoreSite> read_core_site(const std::string& conf_dir) {
  if (conf_dir.empty()) return CoreSite{};
  std::string path = conf_dir + "/core-site.xml";
  auto xml = read_file(path);
  if (!xml) return CoreSite{};
  auto cs = parse_core_site(*xml);
  if (!cs) return make_error(Errc::kConfig, path + ": " + cs.error().message);
  return cs;
}

Result<HdfsTarget> resolve_hdfs_path(const std::string& key, const std::string& path,
                                     const std::string& conf_dir) {
  std::string p = path;
  std::string from;  // where a bare path's file system came from, for messages
  const bool relative = !p.empty() && p[0] != '/' && p.find("://") == std::string::npos &&
                        !starts_with(lower(p), "file:");
  if (starts_with(p, "/") || relative) {
    auto cs = read_core_site(conf_dir);
    if (!cs) return cs.error();
    std::string fs = cs->default_fs;
    if (fs.empty() || starts_with(lower(fs), "file:")) {
      // Hadoop resolves a relative local path against the working directory.
      if (relative) p = std::filesystem::current_path().string() + "/" + p;
      return HdfsTarget{true, p};
    }
    while (!fs.empty() && fs.back() == '/') fs.pop_back();
    from = " (fs.defaultFS " + fs + " in " + conf_dir + "/core-site.xml)";
    if (relative)
      return make_error(Errc::kConfig,
                        key + " = " + path + from + ": give an absolute path (/dir)");
    p = fs + p;
  }
  std::string l = lower(p);
  for (const char* s3 : {"s3a://", "s3n://", "s3://"})
    if (starts_with(l, s3)) return HdfsTarget{false, p};
  if (starts_with(l, "file:")) {
    std::string rest = p.substr(5);
    if (starts_with(rest, "//")) {
      rest.erase(0, 2);
      size_t slash = rest.find('/');
      std::string host = rest.substr(0, slash);
      if (!host.empty() && lower(host) != "localhost")
        return make_error(Errc::kConfig, key + " = " + path +
                                             ": a file:// path names no host "
                                             "(file:///dir)");
      rest = slash == std::string::npos ? "/" : rest.substr(slash);
    }
    if (!starts_with(rest, "/"))
      return make_error(Errc::kConfig,
                        key + " = " + path + ": expected an absolute path (file:///dir)");
    return HdfsTarget{true, rest};
  }
  for (const char* h : {"hdfs://", "webhdfs://", "swebhdfs://", "viewfs://"}) {
    if (!starts_with(l, h)) continue;
    std::string rest = p.substr(std::string_view(h).size());
    size_t slash = rest.find('/');
    std::string dir = slash == std::string::npos ? "" : rest.substr(slash + 1);
    return make_error(Errc::kConfig, key + " = " + path + from +
                                         ": HDFS is not supported; write to S3 with " + key +
                                         " = s3a://<bucket>/" + dir + " or to local files with " +
                                         key + " = file:///" + dir);
  }
  return make_error(Errc::kConfig,
                    key + " = " + path + ": expected s3a://bucket/dir, file:///dir or a path");
}

}  // namespace ingestor
