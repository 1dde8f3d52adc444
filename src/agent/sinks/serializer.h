#pragma once
// Event serializers (flume.md 3.9, flume-components.md 7): `text` writes the body then "\n";
// `header_and_text` writes the headers as Java's Map.toString ("{k1=v1, k2=v2}"), a space, the
// body, then "\n"; both take `appendNewline` (default true). `avro_event` writes an Avro object
// container file of Flume events (docs/formats/avro_event.md: record `Event` {headers:
// map<string>, body: bytes}, `compressionCodec` null/deflate/snappy, `syncIntervalBytes`).
// `sequence_file` is no `serializer` value: the hdfs and S3 sinks use it for hdfs.fileType =
// SequenceFile (Flume's default; docs/formats/sequence_file.md), where `serializer` is ignored.
// Used by file_roll, the hdfs sink on local paths and the S3 sink; they append to a buffer so a
// whole batch goes out in one write.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/avro_container.h"
#include "base/sequence_file.h"
#include "core/config/agent_config.h"
#include "core/event.h"

namespace ingestor {

enum class SerializerType { kText, kHeaderAndText, kAvroEvent, kSequenceFile };

// Flume's schema for avro_event files, byte for byte (FlumeEventAvroEventSerializer): record
// `Event`, no namespace.
inline constexpr std::string_view kFlumeEventSchema =
    R"({"type":"record","name":"Event","fields":[{"name":"headers","type":{"type":"map","values":"string"}},{"name":"body","type":"bytes"}]})";

struct SerializerOptions {
  SerializerType type = SerializerType::kText;
  bool append_newline = true;               // text, header_and_text
  AvroCodec avro_codec = AvroCodec::kNull;  // avro_event: compressionCodec
  int64_t sync_interval_bytes = 2048000;    // avro_event: syncIntervalBytes (32 .. 2^30)
  SeqFormat seq{};                          // sequence_file: hdfs.writeFormat, hdfs.codeC
};

// Parses the alias (case-insensitive: text, header_and_text, avro_event) or Flume's class names.
// nullopt for anything else.
std::optional<SerializerType> serializer_from_name(std::string_view name);
// Reads the serializer's keys (`appendNewline`; `compressionCodec`, `syncIntervalBytes`) from the
// keys under the serializer prefix. Errors name the key.
std::optional<std::string> serializer_options(std::string_view type_name, const Context& sub,
                                              SerializerOptions& out);

// "{k1=v1, k2=v2}" as java.util.AbstractMap.toString.
std::string java_map_string(const Headers& h);

// text and header_and_text: appends the event's line to `out`.
void serialize_event(const SerializerOptions& o, const Event& e, std::string& out);

// Serializes the events of a sink's files, whatever the serializer. A sink keeps one
// EventSerializer and one EventSerializer::File per open output file.
// text, header_and_text: add() appends the event's bytes to the caller's buffer; nothing is held.
// sequence_file: add() appends the record (key: the `timestamp` header, or now; value: the body)
// as Hadoop's SequenceFile.Writer.append, the file's header before the first; with a codec it
// holds the record in the file's open block, as avro_event. end_block() is Writer.sync(): the
// open block, or a sync escape after uncompressed records.
// avro_event: add() encodes the event into the file's open block; complete blocks go to the
// caller's buffer, the file's first block preceded by the container header. A block is closed
// when it reaches syncIntervalBytes and by end_block(), which a sink calls before it writes its
// buffer out (so before every commit, and before a file is closed or rolled): the bytes a sink
// has written are then always a valid container file.
// Memory: a File's open block holds syncIntervalBytes + one event at most (less in practice:
// the sinks end blocks at their write size); the EventSerializer keeps one codec state and the
// compression scratch buffer. Not thread-safe: the sink's runner thread only.
class EventSerializer {
 public:
  struct File {
    std::string block;       // avro_event: the open block's records, encoded
    int64_t records = 0;     // in `block`
    std::string sync;        // the file's sync marker
    bool header_due = true;  // the next block is the file's first
    SeqFileState seq;        // sequence_file
    // Bytes held for the file that are not in the caller's buffer yet.
    size_t held() const noexcept { return block.size() + seq.held(); }
  };

  explicit EventSerializer(const SerializerOptions& o);
  const SerializerOptions& options() const noexcept { return o_; }
  bool buffers() const noexcept { return o_.type == SerializerType::kAvroEvent; }
  // The serializer compresses: what a file will hold is not known before end_block().
  bool compresses() const noexcept {
    return (o_.type == SerializerType::kAvroEvent && o_.avro_codec != AvroCodec::kNull) ||
           (o_.type == SerializerType::kSequenceFile && o_.seq.codec != SeqCodec::kNone);
  }
  // Why the event cannot be written (sequence_file: a `timestamp` header that is no number, where
  // Flume would fail the batch for ever); sinks dead-letter it. nullopt: it can.
  std::optional<std::string> reject(const Event& e) const;

  // Prepares `f` for a new, empty file: a fresh sync marker; the header comes with the first block.
  void new_file(File& f) const;
  [[nodiscard]] Status add(File& f, const Event& e, std::string& out) {
    if (o_.type == SerializerType::kAvroEvent) return add_avro(f, e, out);
    if (o_.type == SerializerType::kSequenceFile) return add_seq(f, e, out);
    serialize_event(o_, e, out);
    return {};
  }
  // Closes the open block, if it holds a record, into `out`.
  [[nodiscard]] Status end_block(File& f, std::string& out);
  // Drops the open block (its events' takes roll back). `kept_bytes`: what the file keeps of what
  // was written to it (the sinks cut it back to that; it ended with an end_block()); 0: nothing,
  // so the next block is its first again.
  void discard(File& f, int64_t kept_bytes) const;
  void discard(File& f, bool) const = delete;  // it took "file empty" once: no silent 1

 private:
  [[nodiscard]] Status add_avro(File& f, const Event& e, std::string& out);
  [[nodiscard]] Status add_seq(File& f, const Event& e, std::string& out);

  SerializerOptions o_;
  AvroBlockEncoder blocks_;
  std::unique_ptr<SequenceFileEncoder> seq_;  // sequence_file
};

}  // namespace ingestor
