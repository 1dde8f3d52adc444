#pragma once
// Avro RPC as Flume's avro source and sink speak it (flume-components.md §8; wire format in
// docs/formats/avro_rpc.md): the `AvroSourceProtocol` (append, appendBatch, Status), Avro's
// handshake, and Netty's framing (NettyTransportCodec). One place for both sides: the avro source
// (agent/sources/avro_source) uses ServerSession, the avro sink (agent/sinks/avro_sink) uses
// ClientSession; both use FrameDecoder / encode_frame. Pure byte codecs: no sockets, no Asio.
//
// Errors: malformed input is an Error with kCorrupt (or kTooLarge over a limit) naming what was
// being read; the caller closes the connection. Nothing here aborts or reads past its input.
// Thread-safety: a FrameDecoder / ServerSession / ClientSession belongs to one connection and one
// thread at a time. The server's protocol cache (known client hashes) is process-wide and locked.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "core/event.h"

namespace ingestor::avro_rpc {

// The exact JSON text of Flume 1.11's AvroSourceProtocol as Java's Protocol.toString() prints it
// (license comment as `doc`), and its MD5: 86aadae2c45474c0fe93ffd0f2350a65. A Java Flume client
// or server with this hash gets BOTH at once from us, and we from it.
std::string_view protocol_json();
// The 16 raw bytes of MD5(protocol_json()).
std::string_view protocol_md5();

// Status enum of the protocol (OK=0, FAILED=1, UNKNOWN=2).
enum class CallStatus : int { kOk = 0, kFailed = 1, kUnknown = 2 };
const char* call_status_name(CallStatus s);

// HandshakeMatch of org.apache.avro.ipc.HandshakeResponse.
enum class Match : int { kBoth = 0, kClient = 1, kNone = 2 };

// ---- Netty framing: int32 serial | int32 count | count x (int32 length | bytes), big-endian. ----

struct FrameLimits {
  // Largest payload (sum of the buffers) accepted; more is kTooLarge and the connection closes.
  size_t max_payload = 64 * 1024 * 1024;
  // Most buffers in one pack (Java writes 8 KiB buffers, so 64 MiB is 8192 of them).
  size_t max_buffers = 1 << 20;
};

// Starts a pack at the end of `out` (reserves its 12-byte header); append the payload to `out`,
// then finish_frame() fills in the serial, one buffer and its length.
size_t begin_frame(std::string& out);
void finish_frame(std::string& out, size_t begin, int32_t serial);
// A whole pack with one buffer.
void encode_frame(int32_t serial, std::string_view payload, std::string& out);

// Cuts packs out of a byte stream fed in pieces of any size. The bytes are kept in a Chunk: the
// payload of a one-buffer pack (what Ingestor and Python send) is a slice of it, with no copy; a
// pack of several buffers (Java writes 8 KiB ones) is concatenated into a chunk of its own. Events
// decoded from a payload keep slices of it. Memory: the read chunk (256 KiB, more while a larger
// pack is incomplete: at most twice the largest pack), plus chunks still referenced by events.
class FrameDecoder {
 public:
  explicit FrameDecoder(FrameLimits limits = {}) : limits_(limits) {}
  // Room for at least `min` more bytes (read into it directly, then commit() what was written).
  char* prepare(size_t min, size_t& room);
  void commit(size_t n) { len_ += n; }
  void feed(std::string_view bytes);
  // The next complete pack, nullopt when more bytes are needed, or an Error (kCorrupt: negative
  // count or length; kTooLarge: over the limits). After an error the decoder is unusable.
  struct Pack {
    int32_t serial = 0;
    Slice payload;
  };
  [[nodiscard]] Result<std::optional<Pack>> next();
  // Bytes fed and not yet returned in a pack.
  size_t buffered() const { return len_ - pos_; }

 private:
  FrameLimits limits_;
  ChunkRef buf_;
  size_t pos_ = 0, len_ = 0;
};

// ---- Handshake records (org.apache.avro.ipc). ----

struct HandshakeRequest {
  std::string client_hash;                     // 16 bytes
  std::optional<std::string> client_protocol;  // JSON text
  std::string server_hash;                     // 16 bytes
  bool has_meta = false;                       // an (ignored) map<bytes>
};
struct HandshakeResponse {
  Match match = Match::kBoth;
  std::optional<std::string> server_protocol;
  std::optional<std::string> server_hash;
};

void write_handshake_request(const HandshakeRequest& h, std::string& out);
void write_handshake_response(const HandshakeResponse& h, std::string& out);

// ---- The server side of one connection (Java's Responder rules, flume-components.md §8.2). ----

struct Request {
  // Bytes to put first in the response: the HandshakeResponse when the request carried a
  // handshake, empty otherwise.
  std::string handshake;
  enum class Kind {
    kHandshakeOnly,  // match NONE: answer `handshake` alone, no call response
    kPing,           // message "" (a handshake-only ping): answer with an empty-response call
    kAppend,         // append(event): events has one event
    kAppendBatch,    // appendBatch(events)
    kUnknownMessage  // answer with write_error_response("...No such remote message: <name>")
  } kind = Kind::kPing;
  std::string message;
  Batch events;
};

class ServerSession {
 public:
  // Parses one request payload. The first request of a connection must carry a HandshakeRequest;
  // once a handshake ended in BOTH or CLIENT, later requests carry none (as Java's Responder).
  // Events' bodies are slices of `payload`'s chunk. Errors: kCorrupt (then close the connection).
  [[nodiscard]] Result<Request> parse(const Slice& payload);
  bool handshaken() const { return handshaken_; }

 private:
  bool handshaken_ = false;
};

// Call responses (after Request::handshake): metadata (empty), error flag, then the Status or the
// system error union ["string"].
void write_status_response(CallStatus s, std::string& out);
void write_error_response(std::string_view message, std::string& out);
// The answer to a ping (message ""): empty metadata, no error, null response.
void write_ping_response(std::string& out);

// ---- The client side of one connection (an avro sink). ----

class ClientSession {
 public:
  // Appends the request payload for appendBatch(events): the handshake first when this
  // connection has none yet (always with the protocol text, so any server answers BOTH or CLIENT
  // in one round trip), then the call.
  void write_append_batch(const Batch& events, std::string& out);
  // Reads the response to the last request written: the status, or an Error (kCorrupt for bytes
  // that do not decode, kUnavailable for a remote error or a handshake refused).
  [[nodiscard]] Result<CallStatus> read_response(std::string_view payload);
  bool handshaken() const { return handshaken_; }

 private:
  bool handshaken_ = false;
  bool sent_handshake_ = false;
};

// Forgets every client protocol hash the server learned (tests).
void reset_protocol_cache_for_test();

}  // namespace ingestor::avro_rpc
