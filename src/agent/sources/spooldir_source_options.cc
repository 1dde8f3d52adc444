#include "agent/sources/spooldir_source_options.h"

#include <cctype>
#include <filesystem>

#include "base/strings.h"

namespace ingestor {

namespace {

constexpr std::string_view kLineClass = "org.apache.flume.serialization.LineDeserializer$Builder";
constexpr std::string_view kBlobClass =
    "org.apache.flume.sink.solr.morphline.BlobDeserializer$Builder";
constexpr std::string_view kAvroClass =
    "org.apache.flume.serialization.AvroEventDeserializer$Builder";

Result<std::string> absolute(const std::string& p) {
  std::error_code ec;
  auto a = std::filesystem::absolute(p, ec);
  if (ec) return make_error(Errc::kConfig, "cannot resolve " + p + ": " + ec.message());
  std::string s = a.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

Result<int64_t> sub_int(const Context& sub, std::string_view key, int64_t def, int64_t min,
                        int64_t max) {
  auto it = sub.find(std::string(key));
  if (it == sub.end()) return def;
  int64_t v = 0;
  bool overflow = false;
  if (!parse_java_integer(it->second, v, overflow) || overflow || v < min || v > max)
    return make_error(Errc::kConfig, "deserializer." + std::string(key) + ": " +
                                         expected_whole_number(min, max) + ", got '" + it->second +
                                         "'");
  return v;
}

}  // namespace

const ComponentSpec& spooldir_source_spec() {
  static const ComponentSpec spec{
      "source",
      "spooldir",
      "org.apache.flume.source.SpoolDirectorySource",
      "Reads the files dropped into a directory, marks each done only after its last event is "
      "committed, and resumes inside a half-read file after a restart.",
      {
          {"spoolDir", KeyType::kString, std::nullopt, true, "The directory to read files from"},
          {"fileSuffix", KeyType::kString, ".COMPLETED", false,
           "Appended to a file's name when it is completed (rename policy)"},
          {"errorSuffix", KeyType::kString, ".ERROR", false,
           "Appended to a file's name when it is moved aside (changed while read, name reused, "
           "undecodable with decodeErrorPolicy FAIL); not in Flume"},
          {"deletePolicy", KeyType::kString, "never", false, "never or immediate"},
          {"trackingPolicy", KeyType::kString, "rename", false,
           "rename (add fileSuffix) or tracker_dir (a marker file in trackerDir)"},
          {"trackerDir", KeyType::kString, ".flumespool", false,
           "Markers, the position file and the lock (relative: inside spoolDir)"},
          {"fileHeader", KeyType::kBool, "false", false, "Add the file's absolute path"},
          {"fileHeaderKey", KeyType::kString, "file", false, "Header for fileHeader"},
          {"basenameHeader", KeyType::kBool, "false", false, "Add the file's name"},
          {"basenameHeaderKey", KeyType::kString, "basename", false, "Header for basenameHeader"},
          {"includePattern", KeyType::kString, "^.*$", false,
           "Java regex the whole file name must match"},
          {"ignorePattern", KeyType::kString, "^$", false,
           "Java regex of file (and, recursive, directory) names to skip; wins over include"},
          {"consumeOrder", KeyType::kString, "oldest", false, "oldest, youngest or random"},
          {"recursiveDirectorySearch", KeyType::kBool, "false", false,
           "Read files in sub-directories too"},
          {"pollDelay", KeyType::kInt, "500", false,
           "Milliseconds between looks at the directory when idle", 1},
          {"maxBackoff", KeyType::kInt, "4000", false,
           "Cap in ms of the back-off on a full channel (from 250, doubling)", 1},
          {"batchSize", KeyType::kInt, "100", false, "Events per channel transaction", 1},
          {"inputCharset", KeyType::kString, "UTF-8", false, "Charset of the files (LINE)"},
          {"decodeErrorPolicy", KeyType::kString, "FAIL", false,
           "FAIL (move the file aside), REPLACE (U+FFFD) or IGNORE (drop) malformed input"},
          {"deserializer", KeyType::kString, "LINE", false,
           "LINE, or BLOB (org.apache.flume.sink.solr.morphline.BlobDeserializer$Builder)"},
          {"deserializer.*", KeyType::kPrefix, std::nullopt, false,
           "LINE: maxLineLength (2048 chars), outputCharset (UTF-8); BLOB: maxBlobLength "
           "(100000000 bytes)"},
          {"bufferMaxLines", KeyType::kString, std::nullopt, false, "Ignored (as in Flume)"},
          {"bufferMaxLineLength", KeyType::kInt, std::nullopt, false,
           "Deprecated: deserializer.maxLineLength", 1},
      }};
  return spec;
}

SpoolPickerOptions SpoolDirOptions::picker() const {
  SpoolPickerOptions p;
  p.spool_dir = spool_dir;
  p.file_suffix = file_suffix;
  p.error_suffix = error_suffix;
  p.include = include;
  p.ignore = ignore;
  p.recursive = recursive;
  p.order = consume_order;
  p.tracker_dir = tracker_dir;
  p.use_markers =
      delete_policy == DeletePolicy::kNever && tracking_policy == TrackingPolicy::kTrackerDir;
  p.check_completed_name =
      delete_policy == DeletePolicy::kNever && tracking_policy == TrackingPolicy::kRename;
  return p;
}

Result<SpoolDirOptions> spooldir_source_options(const Settings& s,
                                                std::vector<std::string>* warnings) {
  SpoolDirOptions o;
  if (s.str("spoolDir").empty())
    return make_error(Errc::kConfig, "spoolDir: Configuration must specify a spooling directory");
  auto dir = absolute(s.str("spoolDir"));
  if (!dir) return dir.error();
  o.spool_dir = *dir;
  std::string tracker = s.str("trackerDir");
  if (tracker.empty()) return make_error(Errc::kConfig, "trackerDir: must not be empty");
  auto tdir = absolute(tracker[0] == '/' ? tracker : o.spool_dir + "/" + tracker);
  if (!tdir) return tdir.error();
  o.tracker_dir = *tdir;
  o.file_suffix = s.str("fileSuffix");
  o.error_suffix = s.str("errorSuffix");
  if (o.file_suffix.empty()) return make_error(Errc::kConfig, "fileSuffix: must not be empty");
  if (o.error_suffix.empty() || o.error_suffix == o.file_suffix)
    return make_error(Errc::kConfig, "errorSuffix: must be non-empty and differ from fileSuffix");

  const std::string del = s.str("deletePolicy");
  if (ascii_iequals(del, "never")) {
    o.delete_policy = DeletePolicy::kNever;
  } else if (ascii_iequals(del, "immediate")) {
    o.delete_policy = DeletePolicy::kImmediate;
  } else {
    return make_error(Errc::kConfig, "deletePolicy: '" + del +
                                         "': Delete policies other than NEVER and IMMEDIATE are "
                                         "not yet supported");
  }
  const std::string track = s.str("trackingPolicy");
  if (ascii_iequals(track, "rename")) {
    o.tracking_policy = TrackingPolicy::kRename;
  } else if (ascii_iequals(track, "tracker_dir")) {
    o.tracking_policy = TrackingPolicy::kTrackerDir;
  } else {
    return make_error(Errc::kConfig, "trackingPolicy: '" + track +
                                         "': Tracking policies other than RENAME and TRACKER_DIR "
                                         "are not supported");
  }
  o.file_header = s.boolean("fileHeader");
  o.file_header_key = s.str("fileHeaderKey");
  o.basename_header = s.boolean("basenameHeader");
  o.basename_header_key = s.str("basenameHeaderKey");
  for (const char* key : {"includePattern", "ignorePattern"}) {
    auto re = Regex::compile(s.str(key), key);
    if (!re) return make_error(Errc::kConfig, re.error().message);
    auto p = std::make_shared<const Regex>(std::move(*re));
    (std::string_view(key) == "includePattern" ? o.include : o.ignore) = std::move(p);
  }
  auto order = consume_order_from_name(s.str("consumeOrder"));
  if (!order)
    return make_error(Errc::kConfig, "consumeOrder: '" + s.str("consumeOrder") +
                                         "' is not one of oldest, youngest, random");
  o.consume_order = *order;
  o.recursive = s.boolean("recursiveDirectorySearch");
  o.poll_delay = std::chrono::milliseconds(s.i64("pollDelay"));
  o.max_backoff = std::chrono::milliseconds(s.i64("maxBackoff"));
  o.batch_size = static_cast<size_t>(s.i64("batchSize"));

  auto in_cs = charset_from_name(s.str("inputCharset"));
  if (!in_cs)
    return make_error(Errc::kConfig,
                      "inputCharset: unsupported charset '" + s.str("inputCharset") + "'");
  o.line.input = *in_cs;
  auto policy = decode_error_policy_from_name(s.str("decodeErrorPolicy"));
  if (!policy)
    return make_error(Errc::kConfig, "decodeErrorPolicy: '" + s.str("decodeErrorPolicy") +
                                         "' is not one of FAIL, REPLACE, IGNORE");
  o.line.policy = *policy;

  const std::string deser = s.str("deserializer");
  const Context sub = s.sub("deserializer.");
  if (ascii_iequals(deser, "LINE") || deser == kLineClass) {
    o.deserializer = DeserializerKind::kLine;
    int64_t def = s.has("bufferMaxLineLength") ? s.i64("bufferMaxLineLength") : 2048;
    if (s.has("bufferMaxLineLength") && warnings)
      warnings->push_back(
          "bufferMaxLineLength is deprecated: use deserializer.maxLineLength (applied here)");
    auto max = sub_int(sub, "maxLineLength", def, 1, 64 * 1024 * 1024);
    if (!max) return max.error();
    o.line.max_line_length = static_cast<size_t>(*max);
    auto it = sub.find(std::string("outputCharset"));
    if (it != sub.end()) {
      auto cs = charset_from_name(it->second);
      if (!cs)
        return make_error(Errc::kConfig,
                          "deserializer.outputCharset: unsupported charset '" + it->second + "'");
      o.line.output = *cs;
    }
    for (const auto& [k, v] : sub)
      if (k != "maxLineLength" && k != "outputCharset")
        return make_error(Errc::kConfig, "deserializer." + k +
                                             ": unknown key for the LINE deserializer (known: "
                                             "maxLineLength, outputCharset)");
  } else if (ascii_iequals(deser, "BLOB") || deser == kBlobClass) {
    o.deserializer = DeserializerKind::kBlob;
    auto it = sub.find(std::string("maxBlobLength"));
    if (it != sub.end()) {
      int64_t v = 0;
      bool overflow = false;
      if (!parse_java_integer(it->second, v, overflow) || overflow || v > INT32_MAX)
        return make_error(Errc::kConfig, "deserializer.maxBlobLength: expected an integer, got '" +
                                             it->second + "'");
      if (v <= 0)
        return make_error(Errc::kConfig,
                          "deserializer.maxBlobLength: Configuration parameter maxBlobLength "
                          "must be greater than zero: " +
                              it->second);
      o.blob.max_blob_length = static_cast<size_t>(v);
    }
    for (const auto& [k, v] : sub)
      if (k != "maxBlobLength")
        return make_error(Errc::kConfig, "deserializer." + k +
                                             ": unknown key for the BLOB deserializer (known: "
                                             "maxBlobLength)");
  } else if (ascii_iequals(deser, "AVRO") || deser == kAvroClass) {
    return make_error(Errc::kConfig,
                      "deserializer: '" + deser +
                          "' (Flume's AvroEventDeserializer) is not supported: use LINE or BLOB");
  } else {
    return make_error(Errc::kConfig, "deserializer: unknown deserializer '" + deser +
                                         "' (known: LINE, BLOB, " + std::string(kLineClass) + ", " +
                                         std::string(kBlobClass) + ")");
  }
  return o;
}

}  // namespace ingestor
