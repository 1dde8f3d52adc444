// Fuzz target `s3_staging` (fuzz/README.md): what S3Staging::open() reads back from a staging
// directory after a crash (docs/formats/s3_staging.md): commits.log and the <id>.meta manifests.
//
// Input: byte 0 selects the format (even: commits.log, odd: a manifest), the rest is the file.
//
// Invariants: the commit log's valid prefix is a whole number of records, no longer than the
// file, and re-encoding what was read gives a log that reads the same; a manifest that parses
// writes back (manifest_text) as text that parses to the same object.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "agent/sinks/s3_staging.h"
#include "base/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ingestor;
  if (size < 1) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    uint64_t valid = 0;
    const std::map<uint64_t, uint64_t> log = parse_commit_log(text, &valid);
    INGESTOR_FUZZ_CHECK(valid <= text.size() && valid % 20 == 0, std::to_string(valid));
    INGESTOR_FUZZ_CHECK(log.size() <= valid / 20);
    std::string rewritten;
    for (const auto& [id, length] : log) rewritten += encode_commit_record(id, length);
    uint64_t valid2 = 0;
    INGESTOR_FUZZ_CHECK(parse_commit_log(rewritten, &valid2) == log);
    INGESTOR_FUZZ_CHECK(valid2 == rewritten.size());
    return 0;
  }
  StagedObject o;
  if (!parse_manifest(text, o)) return 0;
  const std::string written = manifest_text(o);
  StagedObject back;
  INGESTOR_FUZZ_CHECK(parse_manifest(written, back), written);
  INGESTOR_FUZZ_CHECK(back.bucket == o.bucket && back.key == o.key && back.sealed == o.sealed,
                      written);
  if (o.sealed) INGESTOR_FUZZ_CHECK(back.size == o.size && back.md5_hex == o.md5_hex, written);
  return 0;
}
