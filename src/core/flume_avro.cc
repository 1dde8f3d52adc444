#include "core/flume_avro.h"

#include <fmt/format.h>

namespace ingestor {

void write_avro_flume_event(AvroWriter& w, const Event& e) {
  if (!e.headers.empty()) {
    w.write_block_count(static_cast<int64_t>(e.headers.size()));
    for (const auto& [k, v] : e.headers) {
      w.write_string(k);
      w.write_string(v);
    }
  }
  w.write_block_count(0);
  w.write_bytes(e.body.view());
}

void encode_avro_flume_event(const Event& e, std::string& out) {
  AvroWriter w(out);
  write_avro_flume_event(w, e);
}

Result<Event> read_avro_flume_event(AvroReader& r, const ChunkRef* chunk) {
  Event e;
  for (;;) {
    auto n = r.read_block_count();
    if (!n) return n.error();
    if (*n == 0) break;
    // Each entry takes at least two bytes: a count beyond that is a lie, not a reason to loop.
    if (static_cast<uint64_t>(*n) > r.remaining() / 2)
      return make_error(Errc::kCorrupt, fmt::format("avro: header block of {} entries in {} bytes",
                                                    *n, r.remaining()));
    for (int64_t i = 0; i < *n; ++i) {
      auto k = r.read_string();
      if (!k) return k.error();
      auto v = r.read_string();
      if (!v) return v.error();
      e.headers.set(std::string(*k), std::string(*v));
    }
  }
  auto body = r.read_bytes();
  if (!body) return body.error();
  if (chunk && *chunk)
    e.body = Slice(*chunk, body->data(), body->size());
  else
    e.body = Slice::copy_of(*body);
  return e;
}

Result<Event> decode_avro_flume_event(std::string_view datum) {
  AvroReader r(datum);
  auto e = read_avro_flume_event(r);
  if (e && !r.at_end())
    return make_error(Errc::kCorrupt, fmt::format("avro: {} bytes after the event", r.remaining()));
  return e;
}

Result<Event> decode_avro_flume_event(const Slice& datum) {
  AvroReader r(datum.view());
  auto e = read_avro_flume_event(r, &datum.chunk());
  if (e && !r.at_end())
    return make_error(Errc::kCorrupt, fmt::format("avro: {} bytes after the event", r.remaining()));
  return e;
}

}  // namespace ingestor
