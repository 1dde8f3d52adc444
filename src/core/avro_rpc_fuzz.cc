// Fuzz target `avro_rpc` (fuzz/README.md): a byte stream an Avro RPC client may send to the avro
// source. The first byte picks the read size (1..256); the rest is cut into Netty packs by
// FrameDecoder, and each pack is parsed by one connection's ServerSession (handshake first), then
// read as a response by a ClientSession.
//
// Invariants:
//  - the decoder and the parsers never read past their input and fail only with kCorrupt or
//    kTooLarge (the connection is then closed: nothing more is parsed);
//  - the events of an append/appendBatch, written again by a handshaken ClientSession, parse to the
//    same events (headers and bodies), and writing those gives the same bytes.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/fuzz_check.h"
#include "core/avro_rpc.h"

using namespace ingestor;
using namespace ingestor::avro_rpc;
using namespace std::string_literals;

namespace {

bool expected_error(const Error& e) {
  return e.code == Errc::kCorrupt || e.code == Errc::kTooLarge || e.code == Errc::kUnavailable;
}

std::string call_bytes(const Batch& events) {
  // A ClientSession that completed its handshake writes only the call.
  ClientSession c;
  std::string first;
  c.write_append_batch({}, first);
  std::string resp = "\0\0\0\0"s;
  resp += "\0\0\0"s;
  (void)c.read_response(resp);
  std::string out;
  c.write_append_batch(events, out);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = static_cast<size_t>(data[0]) + 1;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  FrameLimits lim;
  lim.max_payload = 1 << 20;
  lim.max_buffers = 4096;
  FrameDecoder d(lim);
  ServerSession s;
  for (size_t at = 0; at < in.size(); at += step) {
    d.feed(in.substr(at, step));
    for (;;) {
      auto p = d.next();
      if (!p) {
        INGESTOR_FUZZ_CHECK(expected_error(p.error()));
        return 0;
      }
      if (!*p) break;
      const Slice& payload = (*p)->payload;
      ClientSession cs;
      if (auto st = cs.read_response(payload.view()); !st)
        INGESTOR_FUZZ_CHECK(expected_error(st.error()));
      auto r = s.parse(payload);
      if (!r) {
        INGESTOR_FUZZ_CHECK(expected_error(r.error()));
        return 0;
      }
      if (r->kind != Request::Kind::kAppend && r->kind != Request::Kind::kAppendBatch) continue;
      const std::string once = call_bytes(r->events);
      ServerSession again;
      std::string hs(protocol_md5());
      hs += '\0' + std::string(protocol_md5()) + '\0';
      auto r2 = again.parse(Slice::copy_of(hs + once));
      INGESTOR_FUZZ_CHECK(r2);
      INGESTOR_FUZZ_CHECK(r2->events.size() == r->events.size());
      for (size_t i = 0; i < r->events.size(); ++i) {
        INGESTOR_FUZZ_CHECK(r2->events[i].headers == r->events[i].headers);
        INGESTOR_FUZZ_CHECK(r2->events[i].body.view() == r->events[i].body.view());
      }
      INGESTOR_FUZZ_CHECK(call_bytes(r2->events) == once);
    }
  }
  return 0;
}
