#include "agent/sinks/serializer.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>

#include "core/flume_avro.h"

namespace ingestor {

namespace {
std::string lower(std::string_view s) {
  std::string r(s);
  std::transform(r.begin(), r.end(), r.begin(), [](unsigned char c) { return std::tolower(c); });
  return r;
}
}  // namespace

std::optional<SerializerType> serializer_from_name(std::string_view name) {
  std::string n = lower(name);
  if (n == "text" || n == "org.apache.flume.serialization.bodytexteventserializer$builder")
    return SerializerType::kText;
  if (n == "header_and_text" ||
      n == "org.apache.flume.serialization.headerandbodytexteventserializer$builder")
    return SerializerType::kHeaderAndText;
  if (n == "avro_event" ||
      n == "org.apache.flume.serialization.flumeeventavroeventserializer$builder")
    return SerializerType::kAvroEvent;
  return std::nullopt;
}

std::optional<std::string> serializer_options(std::string_view type_name, const Context& sub,
                                              SerializerOptions& out) {
  auto t = serializer_from_name(type_name);
  if (!t) {
    if (lower(type_name) == "org.apache.flume.sink.hdfs.avroeventserializer$builder")
      return "'" + std::string(type_name) +
             "' (Avro with a schema from schemaURL or the event's headers) is not supported; "
             "avro_event writes Flume's event schema";
    return "unknown serializer '" + std::string(type_name) +
           "' (supported: text, header_and_text, avro_event)";
  }
  out.type = *t;
  const bool avro = *t == SerializerType::kAvroEvent;
  for (const auto& [k, v] : sub) {
    if (k == "appendNewline" && !avro) {
      std::string lv = lower(v);
      if (lv != "true" && lv != "false")
        return "appendNewline: expected true or false, got '" + v + "'";
      out.append_newline = lv == "true";
    } else if (k == "compressionCodec" && avro) {
      auto c = avro_codec_from_name(v);
      if (!c)
        return "compressionCodec: '" + v +
               "' is not supported (null, deflate or snappy; Flume would write the file "
               "uncompressed)";
      out.avro_codec = *c;
    } else if (k == "syncIntervalBytes" && avro) {
      int64_t n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || p != v.data() + v.size() || n < 32 || n > (int64_t{1} << 30))
        return "syncIntervalBytes: expected a number of bytes from 32 to 1073741824, got '" + v +
               "'";
      out.sync_interval_bytes = n;
    } else {
      return "unknown serializer key '" + k +
             "' (known: " + (avro ? "compressionCodec, syncIntervalBytes" : "appendNewline") + ")";
    }
  }
  return std::nullopt;
}

std::string java_map_string(const Headers& h) {
  std::string s = "{";
  bool first = true;
  for (const auto& [k, v] : h) {
    if (!first) s += ", ";
    first = false;
    s += k;
    s += '=';
    s += v;
  }
  s += '}';
  return s;
}

void serialize_event(const SerializerOptions& o, const Event& e, std::string& out) {
  if (o.type == SerializerType::kHeaderAndText) {
    out += java_map_string(e.headers);
    out += ' ';
  }
  out.append(e.body.data(), e.body.size());
  if (o.append_newline) out += '\n';
}

EventSerializer::EventSerializer(const SerializerOptions& o) : o_(o), blocks_(o.avro_codec) {
  if (o_.type == SerializerType::kSequenceFile) seq_ = std::make_unique<SequenceFileEncoder>(o_.seq);
}

void EventSerializer::new_file(File& f) const {
  f.block.clear();
  f.records = 0;
  f.header_due = true;
  if (buffers()) f.sync = random_avro_sync_marker();
  // Hadoop's marker is an MD5 of a UID and the time: 16 bytes that differ per file.
  if (seq_) SequenceFileEncoder::start(f.seq, random_avro_sync_marker());
}

namespace {
// Long.valueOf: an optional sign and decimal digits, within a long.
std::optional<int64_t> java_long(std::string_view s) {
  int64_t v = 0;
  const char* b = s.data();
  const char* e = b + s.size();
  const bool plus = b != e && *b == '+';
  if (plus) ++b;
  if (b == e || (plus && *b == '-')) return std::nullopt;
  auto [p, ec] = std::from_chars(b, e, v);
  if (ec != std::errc() || p != e) return std::nullopt;
  return v;
}
}  // namespace

std::optional<std::string> EventSerializer::reject(const Event& e) const {
  if (!seq_) return std::nullopt;
  const std::string* ts = e.headers.find("timestamp");
  if (ts && !java_long(*ts))
    return "SequenceFile: the timestamp header '" + *ts +
           "' is not a number of milliseconds (the record's key)";
  return std::nullopt;
}

Status EventSerializer::add_seq(File& f, const Event& e, std::string& out) {
  if (f.seq.sync.empty()) SequenceFileEncoder::start(f.seq, random_avro_sync_marker());
  // HDFSWritableSerializer / HDFSTextSerializer: the timestamp header, or now.
  const std::string* ts = e.headers.find("timestamp");
  std::optional<int64_t> key = ts ? java_long(*ts) : std::nullopt;
  if (ts && !key)
    return make_error(Errc::kInvalidArgument, *reject(e));
  if (!key)
    key = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count();
  return seq_->append(f.seq, *key, std::string_view(e.body.data(), e.body.size()), out);
}

Status EventSerializer::add_avro(File& f, const Event& e, std::string& out) {
  if (f.sync.empty()) f.sync = random_avro_sync_marker();
  encode_avro_flume_event(e, f.block);
  ++f.records;
  if (static_cast<int64_t>(f.block.size()) >= o_.sync_interval_bytes) return end_block(f, out);
  return {};
}

Status EventSerializer::end_block(File& f, std::string& out) {
  if (seq_) return seq_->sync(f.seq, out);
  if (f.records == 0) return {};
  if (f.header_due) {
    write_avro_container_header(kFlumeEventSchema, o_.avro_codec, f.sync, out);
    f.header_due = false;
  }
  if (auto s = blocks_.write_block(f.records, f.block, f.sync, out); !s) return s;
  f.block.clear();
  f.records = 0;
  return {};
}

void EventSerializer::discard(File& f, int64_t kept_bytes) const {
  f.block.clear();
  f.records = 0;
  if (kept_bytes == 0) f.header_due = true;
  if (seq_) seq_->rollback(f.seq, kept_bytes);
}

}  // namespace ingestor
