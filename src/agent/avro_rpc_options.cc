#include "agent/avro_rpc_options.h"

#include "base/strings.h"

namespace ingestor {

Result<bool> avro_deflate(const Settings& s) {
  const std::string ct = s.str("compression-type");
  if (ascii_iequals(ct, "deflate")) return true;
  if (ascii_iequals(ct, "none")) return false;
  return make_error(Errc::kConfig, "compression-type: expected none or deflate, got '" + ct + "'");
}

Result<net::TlsKeys> avro_common_tls_keys(const Settings& s, bool deflate) {
  if (deflate)
    return make_error(Errc::kConfig,
                      "ssl: TLS together with compression-type = deflate is not supported "
                      "(Flume 1.11 compresses the TLS records, Flume 1.9 the data inside TLS; "
                      "the two do not interoperate): use one of them");
  net::TlsKeys k;
  k.include_protocols = s.list("include-protocols");
  k.exclude_protocols = s.list("exclude-protocols");
  k.cipher_suites_given = s.has("include-cipher-suites") || s.has("exclude-cipher-suites");
  return k;
}

}  // namespace ingestor
