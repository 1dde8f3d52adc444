// Fuzz target `flume_avro` (fuzz/README.md): one AvroFlumeEvent datum, as a Kafka record value
// (useFlumeEventFormat, parseAsFlumeEvent) or an Avro RPC item carries it.
//
// Invariants:
//  - decoding never reads past the input and fails only with kCorrupt;
//  - a datum that decodes re-encodes (headers as one block, keys unique) to bytes that decode to
//    the same event, and re-encoding that gives the same bytes.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/fuzz_check.h"
#include "core/flume_avro.h"

using namespace ingestor;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto e = decode_avro_flume_event(in);
  if (!e) {
    INGESTOR_FUZZ_CHECK(e.error().code == Errc::kCorrupt);
    return 0;
  }
  std::string once;
  encode_avro_flume_event(*e, once);
  auto again = decode_avro_flume_event(std::string_view(once));
  INGESTOR_FUZZ_CHECK(again);
  INGESTOR_FUZZ_CHECK(again->headers == e->headers);
  INGESTOR_FUZZ_CHECK(again->body.view() == e->body.view());
  std::string twice;
  encode_avro_flume_event(*again, twice);
  INGESTOR_FUZZ_CHECK(once == twice);
  return 0;
}
