#include "core/avro_rpc.h"

#include <fmt/format.h>
#include <openssl/md5.h>

#include <cstring>
#include <mutex>
#include <set>

#include "base/avro.h"
#include "base/log.h"
#include "core/flume_avro.h"

namespace ingestor::avro_rpc {

namespace {

// Java's Protocol.toString() of Flume 1.11's flume.avdl (compiled by Avro 1.11.0's IDL compiler,
// which keeps the license comment as the protocol's doc). MD5 86aadae2c45474c0fe93ffd0f2350a65.
constexpr std::string_view kProtocolJson =
    R"({"protocol":"AvroSourceProtocol","namespace":"org.apache.flume.source.avro","doc":"* )"
    R"(Licensed to the Apache Software Foundation (ASF) under one\n * or more contributor )"
    R"(license agreements.  See the NOTICE file\n * distributed with this work for additional )"
    R"(information\n * regarding copyright ownership.  The ASF licenses this file\n * to you )"
    R"(under the Apache License, Version 2.0 (the\n * \"License\"); you may not use this file )"
    R"(except in compliance\n * with the License.  You may obtain a copy of the License at\n )"
    R"(*\n * http://www.apache.org/licenses/LICENSE-2.0\n *\n * Unless required by applicable )"
    R"(law or agreed to in writing,\n * software distributed under the License is distributed )"
    R"(on an\n * \"AS IS\" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY\n * KIND, either )"
    R"(express or implied.  See the License for the\n * specific language governing )"
    R"(permissions and limitations\n * under the License.","types":[{"type":"enum","name":)"
    R"("Status","symbols":["OK","FAILED","UNKNOWN"]},{"type":"record","name":"AvroFlumeEvent",)"
    R"("fields":[{"name":"headers","type":{"type":"map","values":"string"}},{"name":"body",)"
    R"("type":"bytes"}]}],"messages":{"append":{"request":[{"name":"event","type":)"
    R"("AvroFlumeEvent"}],"response":"Status"},"appendBatch":{"request":[{"name":"events",)"
    R"("type":{"type":"array","items":"AvroFlumeEvent"}}],"response":"Status"}}})";

constexpr size_t kMaxCachedProtocols = 256;

struct ProtocolCache {
  std::mutex mu;
  std::set<std::string, std::less<>> hashes;  // client protocol hashes we accept (ours included)
};

ProtocolCache& cache() {
  static ProtocolCache c;
  return c;
}

bool cache_knows(std::string_view hash) {
  if (hash == protocol_md5()) return true;
  auto& c = cache();
  std::lock_guard<std::mutex> lk(c.mu);
  return c.hashes.count(hash) > 0;
}

void cache_add(std::string_view hash) {
  auto& c = cache();
  std::lock_guard<std::mutex> lk(c.mu);
  if (c.hashes.size() >= kMaxCachedProtocols) c.hashes.erase(c.hashes.begin());
  c.hashes.emplace(hash);
}

void put_be32(char* p, uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

int32_t get_be32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<int32_t>((uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) |
                              (uint32_t{u[2]} << 8) | uint32_t{u[3]});
}

Error corrupt(std::string what) { return make_error(Errc::kCorrupt, "avro rpc: " + what); }

// Skips a map<bytes> (call metadata, handshake meta).
Status skip_bytes_map(AvroReader& r, const char* what) {
  for (;;) {
    auto n = r.read_block_count();
    if (!n) return corrupt(std::string(what) + ": " + n.error().message);
    if (*n == 0) return {};
    if (static_cast<uint64_t>(*n) > r.remaining() / 2)
      return corrupt(fmt::format("{}: block of {} entries in {} bytes", what, *n, r.remaining()));
    for (int64_t i = 0; i < *n; ++i) {
      auto k = r.read_string();
      if (!k) return corrupt(std::string(what) + " key: " + k.error().message);
      auto v = r.read_bytes();
      if (!v) return corrupt(std::string(what) + " value: " + v.error().message);
    }
  }
}

// union {null, T}: the branch index, 0 or 1.
Result<bool> read_optional(AvroReader& r, const char* what) {
  auto b = r.read_long();
  if (!b) return corrupt(std::string(what) + ": " + b.error().message);
  if (*b != 0 && *b != 1) return corrupt(fmt::format("{}: union branch {}", what, *b));
  return *b == 1;
}

Result<HandshakeRequest> read_handshake_request(AvroReader& r) {
  HandshakeRequest h;
  auto ch = r.read_fixed(16);
  if (!ch) return corrupt("handshake clientHash: " + ch.error().message);
  h.client_hash = std::string(*ch);
  auto has_proto = read_optional(r, "handshake clientProtocol");
  if (!has_proto) return has_proto.error();
  if (*has_proto) {
    auto p = r.read_string();
    if (!p) return corrupt("handshake clientProtocol: " + p.error().message);
    h.client_protocol = std::string(*p);
  }
  auto sh = r.read_fixed(16);
  if (!sh) return corrupt("handshake serverHash: " + sh.error().message);
  h.server_hash = std::string(*sh);
  auto has_meta = read_optional(r, "handshake meta");
  if (!has_meta) return has_meta.error();
  h.has_meta = *has_meta;
  if (*has_meta)
    if (auto s = skip_bytes_map(r, "handshake meta"); !s) return s.error();
  return h;
}

Result<HandshakeResponse> read_handshake_response(AvroReader& r) {
  HandshakeResponse h;
  auto m = r.read_int();
  if (!m) return corrupt("handshake match: " + m.error().message);
  if (*m < 0 || *m > 2) return corrupt(fmt::format("handshake match {}", *m));
  h.match = static_cast<Match>(*m);
  auto has_proto = read_optional(r, "handshake serverProtocol");
  if (!has_proto) return has_proto.error();
  if (*has_proto) {
    auto p = r.read_string();
    if (!p) return corrupt("handshake serverProtocol: " + p.error().message);
    h.server_protocol = std::string(*p);
  }
  auto has_hash = read_optional(r, "handshake serverHash");
  if (!has_hash) return has_hash.error();
  if (*has_hash) {
    auto p = r.read_fixed(16);
    if (!p) return corrupt("handshake serverHash: " + p.error().message);
    h.server_hash = std::string(*p);
  }
  auto has_meta = read_optional(r, "handshake meta");
  if (!has_meta) return has_meta.error();
  if (*has_meta)
    if (auto s = skip_bytes_map(r, "handshake meta"); !s) return s.error();
  return h;
}

// Reads `n` AvroFlumeEvents whose bodies are slices of `payload` (which `r` reads): the chunk's
// references are taken with one atomic add for the whole block, not one per event.
Status read_events(AvroReader& r, const Slice& payload, size_t n, Batch& out) {
  Chunk* chunk = payload.chunk().get();
  if (!chunk) {
    for (size_t i = 0; i < n; ++i) {
      auto e = read_avro_flume_event(r);
      if (!e) return corrupt("appendBatch event: " + e.error().message);
      out.push_back(std::move(*e));
    }
    return {};
  }
  chunk->ref(static_cast<uint32_t>(n));
  size_t left = n;
  auto fail = [&](const Error& e) {
    for (; left > 0; --left) chunk->unref();
    return corrupt("appendBatch event: " + e.message);
  };
  for (; left > 0; --left) {
    Event e;
    for (;;) {
      auto k = r.read_block_count();
      if (!k) return fail(k.error());
      if (*k == 0) break;
      if (static_cast<uint64_t>(*k) > r.remaining() / 2)
        return fail(make_error(Errc::kCorrupt, fmt::format("header block of {} entries in {} "
                                                           "bytes",
                                                           *k, r.remaining())));
      for (int64_t i = 0; i < *k; ++i) {
        auto key = r.read_string();
        if (!key) return fail(key.error());
        auto v = r.read_string();
        if (!v) return fail(v.error());
        e.headers.set(std::string(*key), std::string(*v));
      }
    }
    auto body = r.read_bytes();
    if (!body) return fail(body.error());
    e.body = Slice(ChunkRef::adopt(chunk), body->data(), body->size());
    out.push_back(std::move(e));
  }
  return {};
}

}  // namespace

std::string_view protocol_json() { return kProtocolJson; }

std::string_view protocol_md5() {
  static const std::string md5 = [] {
    unsigned char d[MD5_DIGEST_LENGTH];
    // MD5() is deprecated in OpenSSL 3 but is the one-shot digest Avro uses; EVP would be longer.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    MD5(reinterpret_cast<const unsigned char*>(kProtocolJson.data()), kProtocolJson.size(), d);
#pragma GCC diagnostic pop
    return std::string(reinterpret_cast<const char*>(d), sizeof d);
  }();
  return md5;
}

const char* call_status_name(CallStatus s) {
  switch (s) {
    case CallStatus::kOk:
      return "OK";
    case CallStatus::kFailed:
      return "FAILED";
    case CallStatus::kUnknown:
      return "UNKNOWN";
  }
  return "?";
}

// ---- framing ----

size_t begin_frame(std::string& out) {
  const size_t begin = out.size();
  out.append(12, '\0');
  return begin;
}

void finish_frame(std::string& out, size_t begin, int32_t serial) {
  const size_t len = out.size() - begin - 12;
  put_be32(&out[begin], static_cast<uint32_t>(serial));
  put_be32(&out[begin + 4], 1);
  put_be32(&out[begin + 8], static_cast<uint32_t>(len));
}

void encode_frame(int32_t serial, std::string_view payload, std::string& out) {
  const size_t b = begin_frame(out);
  out.append(payload);
  finish_frame(out, b, serial);
}

char* FrameDecoder::prepare(size_t min, size_t& room) {
  constexpr size_t kInitial = 256 * 1024;
  const size_t pending = len_ - pos_;
  if (buf_ && buf_->refs() == 1 && pos_ == len_) pos_ = len_ = 0;  // nothing kept: start over
  if (!buf_ || buf_->capacity() - len_ < min) {
    // Room for the whole pack when its header says how long its one buffer is (one growth, one
    // copy), else for twice what is pending.
    size_t want = 2 * (pending + min);
    if (pending >= 12 && get_be32(buf_->data() + pos_ + 4) == 1) {
      const int32_t len = get_be32(buf_->data() + pos_ + 8);
      if (len >= 0 && static_cast<size_t>(len) <= limits_.max_payload)
        want = std::max(pending + min, 12 + static_cast<size_t>(len) + min);
    }
    if (buf_ && buf_->refs() == 1 && buf_->capacity() >= pending + min &&
        buf_->capacity() <= 4 * kInitial) {
      std::memmove(buf_->data(), buf_->data() + pos_, pending);
    } else {
      // Events may still reference the old chunk: copy the pending bytes to a new one.
      Chunk* c = Chunk::make(std::max(kInitial, want));
      if (pending) std::memcpy(c->data(), buf_->data() + pos_, pending);
      buf_ = ChunkRef::adopt(c);
    }
    pos_ = 0;
    len_ = pending;
  }
  room = buf_->capacity() - len_;
  return buf_->data() + len_;
}

void FrameDecoder::feed(std::string_view bytes) {
  size_t room = 0;
  char* p = prepare(bytes.size(), room);
  if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
  commit(bytes.size());
}

Result<std::optional<FrameDecoder::Pack>> FrameDecoder::next() {
  if (!buf_) return std::optional<Pack>();
  const char* base = buf_->data() + pos_;
  const size_t avail = len_ - pos_;
  if (avail < 8) return std::optional<Pack>();
  const int32_t serial = get_be32(base);
  const int32_t count = get_be32(base + 4);
  if (count < 0) return corrupt(fmt::format("negative buffer count {}", count));
  if (static_cast<size_t>(count) > limits_.max_buffers)
    return make_error(Errc::kTooLarge, fmt::format("avro rpc: {} buffers in one pack (limit {})",
                                                   count, limits_.max_buffers));
  // Scan the buffer headers; stop when the pack is not complete yet.
  size_t off = 8, total = 0;
  for (int32_t i = 0; i < count; ++i) {
    if (avail - off < 4) return std::optional<Pack>();
    const int32_t len = get_be32(base + off);
    if (len < 0) return corrupt(fmt::format("negative buffer length {}", len));
    total += static_cast<size_t>(len);
    if (total > limits_.max_payload)
      return make_error(Errc::kTooLarge,
                        fmt::format("avro rpc: a pack of more than {} bytes", limits_.max_payload));
    off += 4;
    if (avail - off < static_cast<size_t>(len)) return std::optional<Pack>();
    off += static_cast<size_t>(len);
  }
  Pack p;
  p.serial = serial;
  if (count == 1) {
    p.payload = Slice(buf_, base + 12, total);  // no copy
  } else {
    // Several buffers: concatenate them into a chunk of their own.
    Chunk* c = Chunk::make(std::max<size_t>(total, 1));
    ChunkRef ref = ChunkRef::adopt(c);
    size_t at = 8, w = 0;
    for (int32_t i = 0; i < count; ++i) {
      const size_t len = static_cast<size_t>(get_be32(base + at));
      at += 4;
      std::memcpy(c->data() + w, base + at, len);
      at += len;
      w += len;
    }
    p.payload = Slice(std::move(ref), c->data(), total);
  }
  pos_ += off;
  return std::optional<Pack>(std::move(p));
}

// ---- handshake writers ----

void write_handshake_request(const HandshakeRequest& h, std::string& out) {
  AvroWriter w(out);
  w.write_fixed(h.client_hash);
  if (h.client_protocol) {
    w.write_index(1);
    w.write_string(*h.client_protocol);
  } else {
    w.write_index(0);
  }
  w.write_fixed(h.server_hash);
  if (h.has_meta) {
    w.write_index(1);
    w.write_block_count(0);
  } else {
    w.write_index(0);
  }
}

void write_handshake_response(const HandshakeResponse& h, std::string& out) {
  AvroWriter w(out);
  w.write_int(static_cast<int>(h.match));
  if (h.server_protocol) {
    w.write_index(1);
    w.write_string(*h.server_protocol);
  } else {
    w.write_index(0);
  }
  if (h.server_hash) {
    w.write_index(1);
    w.write_fixed(*h.server_hash);
  } else {
    w.write_index(0);
  }
  w.write_index(0);  // meta: null
}

// ---- server ----

Result<Request> ServerSession::parse(const Slice& payload) {
  AvroReader r(payload.view());
  Request req;
  if (!handshaken_) {
    auto h = read_handshake_request(r);
    if (!h) return h.error();
    bool known = cache_knows(h->client_hash);
    if (!known && h->client_protocol) {
      // Java parses the client's protocol and resolves our messages against it. The protocol has
      // fixed schemas; a client that sends anything else fails to decode below.
      cache_add(h->client_hash);
      known = true;
    }
    HandshakeResponse resp;
    if (h->server_hash == protocol_md5())
      resp.match = known ? Match::kBoth : Match::kNone;
    else
      resp.match = known ? Match::kClient : Match::kNone;
    if (resp.match != Match::kBoth) {
      resp.server_protocol = std::string(protocol_json());
      resp.server_hash = std::string(protocol_md5());
    }
    write_handshake_response(resp, req.handshake);
    if (resp.match == Match::kNone) {
      req.kind = Request::Kind::kHandshakeOnly;
      return req;
    }
    handshaken_ = true;
  }
  if (auto s = skip_bytes_map(r, "call metadata"); !s) return s.error();
  auto name = r.read_string();
  if (!name) return corrupt("message name: " + name.error().message);
  req.message = std::string(*name);
  const ChunkRef* chunk = &payload.chunk();
  if (req.message.empty()) {
    req.kind = Request::Kind::kPing;
  } else if (req.message == "append") {
    req.kind = Request::Kind::kAppend;
    auto e = read_avro_flume_event(r, chunk);
    if (!e) return corrupt("append event: " + e.error().message);
    req.events.push_back(std::move(*e));
  } else if (req.message == "appendBatch") {
    req.kind = Request::Kind::kAppendBatch;
    for (;;) {
      auto n = r.read_block_count();
      if (!n) return corrupt("appendBatch events: " + n.error().message);
      if (*n == 0) break;
      // An event takes at least two bytes (empty map, empty body).
      if (static_cast<uint64_t>(*n) > r.remaining() / 2)
        return corrupt(
            fmt::format("appendBatch: block of {} events in {} bytes", *n, r.remaining()));
      req.events.reserve(req.events.size() + static_cast<size_t>(*n));
      if (auto s = read_events(r, payload, static_cast<size_t>(*n), req.events); !s)
        return s.error();
    }
  } else {
    req.kind = Request::Kind::kUnknownMessage;
  }
  return req;
}

void write_status_response(CallStatus s, std::string& out) {
  out.push_back('\0');  // metadata: empty map
  out.push_back('\0');  // error: false
  AvroWriter(out).write_int(static_cast<int>(s));
}

void write_error_response(std::string_view message, std::string& out) {
  out.push_back('\0');
  out.push_back('\1');
  AvroWriter w(out);
  w.write_index(0);  // union ["string"]
  w.write_string(message);
}

void write_ping_response(std::string& out) {
  out.push_back('\0');
  out.push_back('\0');
}

// ---- client ----

void ClientSession::write_append_batch(const Batch& events, std::string& out) {
  sent_handshake_ = !handshaken_;
  if (sent_handshake_) {
    HandshakeRequest h;
    h.client_hash = std::string(protocol_md5());
    h.client_protocol = std::string(protocol_json());
    h.server_hash = std::string(protocol_md5());
    h.has_meta = true;
    write_handshake_request(h, out);
  }
  size_t need = out.size() + 32;
  for (const Event& e : events) need += e.body.size() + 12 + (e.headers.empty() ? 0 : 64);
  out.reserve(need);
  AvroWriter w(out);
  w.write_block_count(0);  // call metadata
  w.write_string("appendBatch");
  if (!events.empty()) {
    w.write_block_count(static_cast<int64_t>(events.size()));
    for (const Event& e : events) write_avro_flume_event(w, e);
  }
  w.write_block_count(0);
}

Result<CallStatus> ClientSession::read_response(std::string_view payload) {
  AvroReader r(payload);
  if (sent_handshake_) {
    auto h = read_handshake_response(r);
    if (!h) return h.error();
    if (h->match == Match::kNone)
      return make_error(Errc::kUnavailable,
                        "avro rpc: the server refused the handshake (match NONE) although it was "
                        "sent the protocol");
    handshaken_ = true;
    sent_handshake_ = false;
  }
  if (auto s = skip_bytes_map(r, "response metadata"); !s) return s.error();
  auto err = r.read_bool();
  if (!err) return corrupt("response error flag: " + err.error().message);
  if (*err) {
    auto b = r.read_long();
    if (!b) return corrupt("error union: " + b.error().message);
    std::string msg = "(undecodable)";
    if (*b == 0)
      if (auto s = r.read_string()) msg = std::string(*s);
    // The server's text reaches our logs: escaped, and cut.
    return make_error(Errc::kUnavailable,
                      "avro rpc: the server answered an error: " + log::escape(msg, 200));
  }
  auto st = r.read_int();
  if (!st) return corrupt("response status: " + st.error().message);
  if (*st < 0 || *st > 2) return corrupt(fmt::format("response status {}", *st));
  return static_cast<CallStatus>(*st);
}

void reset_protocol_cache_for_test() {
  auto& c = cache();
  std::lock_guard<std::mutex> lk(c.mu);
  c.hashes.clear();
}

}  // namespace ingestor::avro_rpc
