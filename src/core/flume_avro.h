#pragma once
// The AvroFlumeEvent datum: `record AvroFlumeEvent { map<string> headers; bytes body; }`
// (namespace org.apache.flume.source.avro), one bare Avro binary datum with no container header.
// It is what Flume's Kafka components write with useFlumeEventFormat / parseAsFlumeEvent, each
// item of an Avro RPC appendBatch, and each record of an avro_event file (record name "Event",
// same fields). Layout and examples: shared reference kafka.md §1.5; {a: b} + "hi" encodes as
// 02 02 61 02 62 00 04 68 69.

#include <string>
#include <string_view>

#include "base/avro.h"
#include "base/result.h"
#include "core/event.h"

namespace ingestor {

// Appends the datum of `e` (headers as one block, then the body) to `out`.
void encode_avro_flume_event(const Event& e, std::string& out);
void write_avro_flume_event(AvroWriter& w, const Event& e);

// Reads one datum. When `chunk` holds the reader's input, the body is a slice of it (no copy);
// otherwise it is copied. A header key repeated in the map keeps its last value.
[[nodiscard]] Result<Event> read_avro_flume_event(AvroReader& r, const ChunkRef* chunk = nullptr);

// One whole datum: trailing bytes after it are an error.
[[nodiscard]] Result<Event> decode_avro_flume_event(std::string_view datum);
[[nodiscard]] Result<Event> decode_avro_flume_event(const Slice& datum);

}  // namespace ingestor
