// Fuzz target: the spooldir position value and tracker marker parsers take damaged files; they
// must never crash, and whatever they accept must encode back to the same value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/sources/spool_state.h"
#include "base/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ingestor;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto p = parse_spool_position(in)) {
    auto again = parse_spool_position(encode_spool_position(*p));
    INGESTOR_FUZZ_CHECK(again && *again == *p);
  }
  if (auto m = parse_spool_marker(in); m && *m) {
    auto again = parse_spool_marker(encode_spool_marker(**m));
    INGESTOR_FUZZ_CHECK(again && *again && **again == **m);
  }
  return 0;
}
