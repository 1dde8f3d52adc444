// The keys the avro source and sink share, read through the sink's spec (the source's has the
// same ones; each side's own tests cover its store keys).
#include "agent/avro_rpc_options.h"

#include <gtest/gtest.h>

#include "agent/sinks/avro_sink.h"

namespace ingestor {
namespace {

Settings settings(Context ctx) {
  ctx.emplace("hostname", "h");
  ctx.emplace("port", "1");
  Diagnostics d;
  Settings s = Settings::validate(avro_sink_spec(), ctx, "sink", "k1", "a1.sinks.k1.", d);
  EXPECT_FALSE(d.has_errors());
  return s;
}

TEST(AvroRpcOptions, CompressionTypeInAnyCase) {
  EXPECT_FALSE(*avro_deflate(settings({})));  // Flume's default: none
  EXPECT_TRUE(*avro_deflate(settings({{"compression-type", "Deflate"}})));
  EXPECT_FALSE(*avro_deflate(settings({{"compression-type", "NONE"}})));
  auto bad = avro_deflate(settings({{"compression-type", "zlib"}}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "compression-type: expected none or deflate, got 'zlib'");
}

TEST(AvroRpcOptions, TlsKeysSharedByBothSidesAndNotWithDeflate) {
  auto k = avro_common_tls_keys(
      settings({{"include-protocols", "TLSv1.2 TLSv1.3"}, {"exclude-cipher-suites", "X"}}), false);
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(k->include_protocols, (std::vector<std::string>{"TLSv1.2", "TLSv1.3"}));
  EXPECT_EQ(k->exclude_protocols, (std::vector<std::string>{"SSLv3"}));  // Flume's default
  EXPECT_TRUE(k->cipher_suites_given);
  auto both = avro_common_tls_keys(settings({}), true);
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().message.find("TLS together with compression-type = deflate"),
            std::string::npos);
}

}  // namespace
}  // namespace ingestor
