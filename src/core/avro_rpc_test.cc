#include "core/avro_rpc.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "base/avro.h"

namespace ingestor::avro_rpc {
namespace {

std::string hex(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += fmt::format("{:02x}", c);
  return out;
}

std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
  return out;
}

Slice slice(std::string_view s) { return Slice::copy_of(s); }

// The call body of appendBatch([{headers:{k:v}, body:"hi"}]) (flume-components.md §8.1).
const std::string kAppendBatchCall = unhex(
    "0016617070656e644261746368020202"
    "6b027600046869"
    "00");

class AvroRpc : public ::testing::Test {
 protected:
  void SetUp() override { reset_protocol_cache_for_test(); }
};

TEST_F(AvroRpc, ProtocolHashIsJavaFlumes) {
  EXPECT_EQ(hex(protocol_md5()), "86aadae2c45474c0fe93ffd0f2350a65");
  EXPECT_EQ(protocol_json().substr(0, 33), R"({"protocol":"AvroSourceProtocol",)");
}

TEST_F(AvroRpc, FramesRoundTripFedByteByByte) {
  std::string wire;
  encode_frame(7, "hello", wire);
  encode_frame(8, "", wire);
  EXPECT_EQ(hex(wire.substr(0, 12)), "000000070000000100000005");
  FrameDecoder d;
  std::vector<std::pair<int32_t, std::string>> got;
  for (char c : wire) {
    d.feed(std::string_view(&c, 1));
    for (;;) {
      auto p = d.next();
      ASSERT_TRUE(p);
      if (!*p) break;
      got.emplace_back((*p)->serial, (*p)->payload.str());
    }
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_pair(7, std::string("hello")));
  EXPECT_EQ(got[1], std::make_pair(8, std::string()));
  EXPECT_EQ(d.buffered(), 0u);
}

TEST_F(AvroRpc, BuffersOfAPackAreConcatenated) {
  // serial 1, 3 buffers: "ab", "", "cde" (Java cuts at 8 KiB; boundaries mean nothing).
  FrameDecoder d;
  d.feed(
      unhex("00000001"
            "00000003"
            "00000002"
            "6162"
            "00000000"
            "00000003"
            "636465"));
  auto p = d.next();
  ASSERT_TRUE(p && *p);
  EXPECT_EQ((*p)->payload.str(), "abcde");
}

TEST_F(AvroRpc, MalformedFramesAreErrors) {
  {
    FrameDecoder d;
    d.feed(unhex("00000001ffffffff"));
    auto p = d.next();
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, Errc::kCorrupt);
  }
  {
    FrameDecoder d;
    d.feed(unhex("0000000100000001fffffff0"));
    auto p = d.next();
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, Errc::kCorrupt);
  }
  {
    FrameLimits lim;
    lim.max_payload = 100;
    FrameDecoder d(lim);
    d.feed(unhex("000000010000000100001000"));  // a 4 KiB buffer announced
    auto p = d.next();
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, Errc::kTooLarge);
  }
  {
    FrameDecoder d;
    d.feed(unhex("000000017fffffff"));  // 2^31 buffers
    auto p = d.next();
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, Errc::kTooLarge);
  }
}

// A Java Flume client's first request (its hash is ours): BOTH, then the call; later requests on
// the connection carry no handshake and get none.
TEST_F(AvroRpc, JavaClientGetsBothAtOnce) {
  std::string req(protocol_md5());
  req += '\0';  // clientProtocol null
  req += protocol_md5();
  req += unhex("0200");  // meta {}
  req += kAppendBatchCall;
  ServerSession s;
  auto r = s.parse(slice(req));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(hex(r->handshake), "00000000");
  EXPECT_EQ(r->kind, Request::Kind::kAppendBatch);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_EQ(r->events[0].body.str(), "hi");
  EXPECT_EQ(*r->events[0].headers.find("k"), "v");
  EXPECT_TRUE(s.handshaken());
  auto r2 = s.parse(slice(kAppendBatchCall));
  ASSERT_TRUE(r2) << r2.error().message;
  EXPECT_TRUE(r2->handshake.empty());
  EXPECT_EQ(r2->events.size(), 1u);
  std::string resp;
  write_status_response(CallStatus::kOk, resp);
  EXPECT_EQ(hex(resp), "000000");
}

// Python's first request: its own hash, no protocol -> NONE with our protocol; the resend with
// the protocol text -> BOTH (it now guesses our hash); a new connection with the same client hash
// and no protocol -> BOTH at once (the cache is process-wide).
TEST_F(AvroRpc, UnknownClientGetsNoneThenBoth) {
  const std::string py_hash = unhex("707cba5ff90563725bf99ecb99ba0028");
  std::string req = py_hash + '\0' + py_hash + '\0' + kAppendBatchCall;
  ServerSession s;
  auto r = s.parse(slice(req));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, Request::Kind::kHandshakeOnly);
  EXPECT_FALSE(s.handshaken());
  AvroReader rd(r->handshake);
  EXPECT_EQ(*rd.read_int(), 2);   // NONE
  EXPECT_EQ(*rd.read_long(), 1);  // serverProtocol present
  EXPECT_EQ(*rd.read_string(), protocol_json());
  EXPECT_EQ(*rd.read_long(), 1);
  EXPECT_EQ(*rd.read_fixed(16), protocol_md5());

  std::string again = py_hash;
  AvroWriter w(again);
  w.write_index(1);
  w.write_string("{\"protocol\":\"AvroSourceProtocol\"}");
  again += std::string(protocol_md5()) + '\0' + kAppendBatchCall;
  auto r2 = s.parse(slice(again));
  ASSERT_TRUE(r2) << r2.error().message;
  EXPECT_EQ(hex(r2->handshake), "00000000");
  EXPECT_EQ(r2->kind, Request::Kind::kAppendBatch);
  EXPECT_TRUE(s.handshaken());

  ServerSession s2;
  auto r3 = s2.parse(slice(req));  // same hash, serverHash not ours -> CLIENT
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->kind, Request::Kind::kAppendBatch);
  EXPECT_EQ(hex(r3->handshake.substr(0, 1)), "02");  // CLIENT
}

TEST_F(AvroRpc, ClientAndServerRoundTrip) {
  ClientSession c;
  ServerSession s;
  Batch events;
  events.push_back(Event::of("one", {{"h", "1"}}));
  events.push_back(Event::of(std::string(10000, 'x')));
  for (int round = 0; round < 2; ++round) {
    std::string req;
    c.write_append_batch(events, req);
    auto r = s.parse(slice(req));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->handshake.empty(), round == 1);
    ASSERT_EQ(r->events.size(), 2u);
    EXPECT_EQ(r->events[0].body.str(), "one");
    EXPECT_EQ(r->events[1].body.size(), 10000u);
    std::string resp = r->handshake;
    write_status_response(round == 0 ? CallStatus::kOk : CallStatus::kFailed, resp);
    auto st = c.read_response(resp);
    ASSERT_TRUE(st) << st.error().message;
    EXPECT_EQ(*st, round == 0 ? CallStatus::kOk : CallStatus::kFailed);
    EXPECT_TRUE(c.handshaken());
  }
  // A remote error is a retryable error carrying the server's text.
  std::string req;
  c.write_append_batch(events, req);
  std::string resp;
  write_error_response("org.apache.avro.AvroRuntimeException: No such remote message: foo", resp);
  auto st = c.read_response(resp);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kUnavailable);
  EXPECT_NE(st.error().message.find("No such remote message"), std::string::npos);
  // The server's text reaches our logs: a control character in it arrives escaped.
  std::string req2;
  c.write_append_batch(events, req2);
  std::string resp2;
  write_error_response("bad\nline\x1b[31m", resp2);
  auto st2 = c.read_response(resp2);
  ASSERT_FALSE(st2);
  EXPECT_EQ(st2.error().message.find('\n'), std::string::npos) << st2.error().message;
  EXPECT_EQ(st2.error().message.find('\x1b'), std::string::npos) << st2.error().message;
}

TEST_F(AvroRpc, UnknownMessageAndPing) {
  ServerSession s;
  std::string hs(protocol_md5());
  hs += '\0' + std::string(protocol_md5()) + '\0';
  ASSERT_TRUE(s.parse(slice(hs + unhex("00") + unhex("00"))));  // ping: message ""
  auto r = s.parse(slice(unhex("0006666f6f")));                 // "foo"
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, Request::Kind::kUnknownMessage);
  EXPECT_EQ(r->message, "foo");
}

// Every truncation and a set of corruptions of a valid request are errors, never a crash.
TEST_F(AvroRpc, MalformedRequestsAreErrors) {
  ClientSession c;
  Batch events;
  events.push_back(Event::of("body", {{"key", "value"}}));
  std::string req;
  c.write_append_batch(events, req);
  for (size_t n = 0; n < req.size(); ++n) {
    ServerSession s;
    auto r = s.parse(slice(req.substr(0, n)));
    if (r) {
      // Only a prefix ending exactly after a complete handshake with no protocol could parse; ours
      // always carries one, so every prefix must fail.
      ADD_FAILURE() << "prefix of " << n << " bytes parsed";
    } else {
      EXPECT_EQ(r.error().code, Errc::kCorrupt);
    }
  }
  {  // a union branch that does not exist
    std::string bad(protocol_md5());
    bad += unhex("0a");
    ServerSession s;
    EXPECT_FALSE(s.parse(slice(bad)));
  }
  {  // a block count far beyond the bytes left
    ServerSession s;
    std::string hs(protocol_md5());
    hs += '\0' + std::string(protocol_md5()) + '\0';
    auto r = s.parse(slice(hs + unhex("0016617070656e6442617463688080808010")));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kCorrupt);
  }
  {  // a response with a status out of range
    ClientSession cs;
    EXPECT_FALSE(cs.read_response(unhex("000008")));
  }
}

}  // namespace
}  // namespace ingestor::avro_rpc
