// Fuzz target `line_reader` (fuzz/README.md): the exec source's LineReader against a model of
// Java's readLine with the maxLineLength cut.
//
// Input: byte 0 picks max_line (1..64), byte 1 the read sizes (1..32 bytes, varying); the rest is
// the command's output.
//
// Invariants:
//  - the lines are exactly the model's: "\n", "\r" and "\r\n" end a line (a "\r\n" split across
//    reads included), a final unterminated line comes at EOF, a longer line is cut every max_line
//    bytes;
//  - no line is longer than max_line; cut() counts the cuts.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "agent/sources/line_reader.h"
#include "base/fuzz_check.h"

namespace {

using namespace ingestor;

std::vector<std::string> model(std::string_view in, size_t max_line, size_t& cuts) {
  std::vector<std::string> out;
  std::string cur;
  auto end_line = [&] {
    out.push_back(cur);
    cur.clear();
  };
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '\n' || c == '\r') {
      end_line();
      if (c == '\r' && i + 1 < in.size() && in[i + 1] == '\n') ++i;
      continue;
    }
    if (cur.size() == max_line) {
      ++cuts;
      end_line();
    }
    cur.push_back(c);
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t max_line = 1 + data[0] % 64;
  const uint8_t reads = data[1];
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);

  LineReader r(max_line, 16);
  std::vector<Slice> lines;
  size_t pos = 0, step = 0;
  while (pos < in.size()) {
    auto room = r.room();
    INGESTOR_FUZZ_CHECK(!room.empty());
    size_t n =
        std::min({room.size(), in.size() - pos, static_cast<size_t>(1 + (reads + step++) % 32)});
    std::memcpy(room.data(), in.data() + pos, n);
    r.commit(n, lines);
    pos += n;
  }
  r.finish(lines);

  size_t cuts = 0;
  const auto want = model(in, max_line, cuts);
  INGESTOR_FUZZ_CHECK(lines.size() == want.size(), std::to_string(lines.size()) + " lines, model " +
                                                       std::to_string(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    INGESTOR_FUZZ_CHECK(lines[i].view() == want[i], "line " + std::to_string(i));
    INGESTOR_FUZZ_CHECK(lines[i].size() <= max_line);
  }
  INGESTOR_FUZZ_CHECK(r.cut() == cuts,
                      std::to_string(r.cut()) + " cuts, model " + std::to_string(cuts));
  return 0;
}
