// Fuzz target: the spooldir LINE and BLOB deserializers on arbitrary file contents.
// Input: a first line "<maxLineLength> <charset index> <policy index> <read step>" (bytes taken
// modulo small ranges), then the file's bytes. Checks: no crash; offsets only grow, and the end is
// the file's size (unless a FAIL error came first); resuming at any reported offset yields exactly
// the remaining events; every LINE body is at most maxLineLength UTF-16 units (2 when that is 1 and
// the character is a surrogate pair, which is never split); BLOB bodies concatenate to the file.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "agent/sources/spool_deserializer.h"
#include "base/fuzz_check.h"

namespace {

using namespace ingestor;

class Input final : public SpoolInput {
 public:
  Input(std::string_view d, size_t step) : d_(d), step_(step) {}
  Result<size_t> pread(char* buf, size_t n, uint64_t off) override {
    if (off >= d_.size()) return size_t{0};
    size_t k = std::min({n, step_, d_.size() - static_cast<size_t>(off)});
    std::memcpy(buf, d_.data() + off, k);
    return k;
  }
  std::string_view d_;
  size_t step_;
};

struct All {
  std::vector<std::string> bodies;
  std::vector<uint64_t> offsets;
  bool failed = false;
  uint64_t end = 0;  // offset() after the read that found the end
};

All read_all(SpoolDeserializer& d, Input& in, uint64_t from) {
  All a;
  INGESTOR_FUZZ_CHECK(d.open(in, from, in.d_.size()));
  uint64_t last = from;
  for (;;) {
    Batch b;
    auto n = d.read(b, 1, SIZE_MAX);
    if (!n) {
      a.failed = true;
      break;
    }
    if (*n == 0) {
      a.end = d.offset();
      break;
    }
    INGESTOR_FUZZ_CHECK(d.offset() > last || b[0].body.empty());
    last = d.offset();
    a.bodies.push_back(b[0].body.str());
    a.offsets.push_back(d.offset());
  }
  return a;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view params = fuzz::take_first_line(in);
  unsigned p[4] = {10, 0, 1, 7};
  for (size_t i = 0; i < 4 && i < params.size(); ++i) p[i] = static_cast<unsigned char>(params[i]);
  static const Charset kCharsets[] = {Charset::kUtf8,  Charset::kLatin1,  Charset::kAscii,
                                      Charset::kUtf16, Charset::kUtf16Le, Charset::kUtf32};
  LineDeserializerOptions o;
  o.max_line_length = 1 + p[0] % 40;
  o.input = kCharsets[p[1] % 6];
  o.policy = static_cast<DecodeErrorPolicy>(p[2] % 3);
  Input file(in, 1 + p[3] % 64);

  auto line = make_line_deserializer(o);
  All all = read_all(*line, file, 0);
  if (!all.failed) INGESTOR_FUZZ_CHECK(all.end == in.size());
  for (const auto& b : all.bodies)
    INGESTOR_FUZZ_CHECK(utf16_length(b) <= std::max<size_t>(o.max_line_length, 2), b);
  for (size_t i = 0; i < all.offsets.size() && i < 8; ++i) {
    All rest = read_all(*line, file, all.offsets[i]);
    INGESTOR_FUZZ_CHECK(rest.failed == all.failed);
    INGESTOR_FUZZ_CHECK(std::equal(rest.bodies.begin(), rest.bodies.end(),
                                   all.bodies.begin() + static_cast<long>(i) + 1,
                                   all.bodies.end()));
  }

  BlobDeserializerOptions bo;
  bo.max_blob_length = 1 + p[0] % 50;
  auto blob = make_blob_deserializer(bo);
  All blobs = read_all(*blob, file, 0);
  std::string joined;
  for (const auto& b : blobs.bodies) joined += b;
  INGESTOR_FUZZ_CHECK(!blobs.failed && joined == in);
  return 0;
}
