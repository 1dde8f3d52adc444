// Fuzz target `taildir_position` (fuzz/README.md): Flume's taildir position file JSON
// (taildir_position_file.h), the text a restarted agent reads first.
//
// Input: the whole input is the file's text.
//
// Invariants:
//  - an error is kCorrupt, never anything else;
//  - a map read back from what was written is the same map (write -> read round trip), and
//    writing it again gives the same bytes;
//  - what is written is one line: no byte below 0x20 (Gson escapes them all).

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/sources/taildir_position_file.h"
#include "base/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ingestor;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto map = read_taildir_positions(in);
  if (!map) {
    INGESTOR_FUZZ_CHECK(map.error().code == Errc::kCorrupt, map.error().message);
    return 0;
  }
  const std::string text = write_taildir_positions(*map);
  for (char c : text) INGESTOR_FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20, text);
  auto back = read_taildir_positions(text);
  INGESTOR_FUZZ_CHECK(back.has_value(), text);
  INGESTOR_FUZZ_CHECK(*back == *map, text);
  INGESTOR_FUZZ_CHECK(write_taildir_positions(*back) == text, text);
  return 0;
}
