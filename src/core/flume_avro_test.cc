#include "core/flume_avro.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace ingestor {
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

// The bytes Flume (and Avro C, kafka.md §1.5) writes for these events.
TEST(FlumeAvro, EncodesAsFlume) {
  std::string out;
  encode_avro_flume_event(Event::of("hi", {{"a", "b"}}), out);
  EXPECT_EQ(hex(out), "020261026200046869");
  out.clear();
  encode_avro_flume_event(Event::of(""), out);
  EXPECT_EQ(hex(out), "0000");
}

TEST(FlumeAvro, RoundTripsAndSlicesTheBody) {
  Event e = Event::of(std::string(300, 'x') + "\0\xff" + "end", {{"k1", "v1"}, {"k2", ""}});
  std::string bytes;
  encode_avro_flume_event(e, bytes);
  Slice s = Slice::copy_of(bytes);
  auto got = decode_avro_flume_event(s);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->headers, e.headers);
  EXPECT_EQ(got->body.view(), e.body.view());
  EXPECT_EQ(got->body.chunk().get(), s.chunk().get());  // no copy
  auto copied = decode_avro_flume_event(std::string_view(bytes));
  ASSERT_TRUE(copied);
  EXPECT_EQ(copied->body.view(), e.body.view());
}

TEST(FlumeAvro, AcceptsWhatTheSpecAllowsButFlumeNeverWrites) {
  // Two blocks, the second with a negative count and its byte size; a repeated key keeps the
  // last value.
  std::string in = unhex(
      "02"
      "0261"
      "0231"  // block of 1: a=1
      "01"
      "0c"  // block of -1, 6 bytes
      "0261"
      "0232"  // a=2
      "00"
      "00");  // end of map, empty body
  auto got = decode_avro_flume_event(std::string_view(in));
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_EQ(got->headers.size(), 1u);
  EXPECT_EQ(*got->headers.find("a"), "2");
  EXPECT_TRUE(got->body.empty());
}

TEST(FlumeAvro, RejectsMalformedDatums) {
  for (const char* h :
       {"", "02", "0202", "020261", "02026102", "00", "0001", "0004ff", "00007f", "fe01",
        "0000"
        "00" /* trailing byte */}) {
    auto got = decode_avro_flume_event(std::string_view(unhex(h)));
    EXPECT_FALSE(got) << h;
    if (!got) {
      EXPECT_EQ(got.error().code, Errc::kCorrupt) << h;
    }
  }
  // A block count far beyond the input is refused at once.
  auto huge = decode_avro_flume_event(std::string_view(unhex("feffffffffffffffff01")));
  EXPECT_FALSE(huge);
}

}  // namespace
}  // namespace ingestor
