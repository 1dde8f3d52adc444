#pragma once
// The keys the avro source and the avro sink share (flume-components.md 1.7, 6.1): `compression-
// type` and the TLS keys common to both sides. Each side adds its own store keys (keystore* on the
// source, truststore* and trust-all-certs on the sink).

#include "base/result.h"
#include "core/config/spec.h"
#include "net/tls_keys.h"

namespace ingestor {

// `compression-type`: true for deflate, false for none (either in any case); anything else is a
// configuration error naming the key.
[[nodiscard]] Result<bool> avro_deflate(const Settings& s);

// With `ssl` set: the protocol lists and whether cipher suites were given; TLS together with
// deflate is refused (Flume 1.9 and 1.11 layer them differently and do not interoperate).
[[nodiscard]] Result<net::TlsKeys> avro_common_tls_keys(const Settings& s, bool deflate);

}  // namespace ingestor
