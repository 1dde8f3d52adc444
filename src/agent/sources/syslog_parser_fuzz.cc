// Fuzz target `syslog_parser` (fuzz/README.md): the syslog TCP framer and message parser
// (syslog_parser.h) on any byte stream.
//
// Input: byte 0 picks eventSize (10..73), byte 1 the read sizes (1..32 bytes, varying) and the
// keepFields set; the rest is what a client sends on one connection.
//
// Invariants:
//  - framing the stream in reads of any size gives the same messages as framing it whole;
//  - every message lies inside the data, has at most eventSize bytes, and is flagged truncated
//    only when something was cut;
//  - every message parses: Facility and Severity are set, an Invalid message has the raw bytes as
//    its body and no other header than Facility, Severity and flume.syslog.status, a valid one
//    has Facility = PRI / 8 < 125 and Severity < 8; the body is never longer than the message
//    plus the kept fields.
#include <cstdint>
#include <string>
#include <vector>

#include "agent/sources/syslog_parser.h"
#include "base/fuzz_check.h"
#include "base/timezone.h"

namespace {

using namespace ingestor;

struct Msg {
  std::string bytes;
  bool truncated;
  bool operator==(const Msg& o) const { return bytes == o.bytes && truncated == o.truncated; }
};

std::vector<Msg> frame_all(std::string_view in, size_t event_size, uint8_t step_seed) {
  SyslogTcpFramer f(event_size);
  std::vector<Msg> out;
  std::string buf;
  size_t fed = 0;
  size_t k = 0;
  do {
    size_t step = step_seed ? 1 + (step_seed + 7 * k++) % 32 : in.size();
    size_t n = std::min(step, in.size() - fed);
    buf.append(in.substr(fed, n));
    fed += n;
    for (;;) {
      SyslogFrame fr;
      size_t consumed = 0;
      bool got = f.next(buf, fr, consumed);
      INGESTOR_FUZZ_CHECK(consumed <= buf.size());
      if (got) {
        INGESTOR_FUZZ_CHECK(fr.begin <= fr.end && fr.end <= consumed);
        INGESTOR_FUZZ_CHECK(fr.end - fr.begin <= event_size);
        out.push_back({buf.substr(fr.begin, fr.end - fr.begin), fr.truncated});
      }
      buf.erase(0, consumed);
      if (!got) break;
    }
    INGESTOR_FUZZ_CHECK(buf.size() <= event_size + 10 + step, std::to_string(buf.size()));
  } while (fed < in.size());
  SyslogFrame fr;
  if (f.finish(buf, fr)) out.push_back({buf.substr(fr.begin, fr.end - fr.begin), fr.truncated});
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t event_size = 10 + data[0] % 64;
  const uint8_t step_seed = data[1];
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  auto whole = frame_all(in, event_size, 0);
  auto pieces = frame_all(in, event_size, step_seed | 1);
  INGESTOR_FUZZ_CHECK(whole == pieces,
                      std::to_string(whole.size()) + " vs " + std::to_string(pieces.size()));
  SyslogParserOptions o;
  o.zone = TimeZone::utc();
  o.keep.priority = step_seed & 2;
  o.keep.version = step_seed & 4;
  o.keep.timestamp = step_seed & 8;
  o.keep.hostname = step_seed & 16;
  o.keep.all = (step_seed & 0xe0) == 0xe0;
  for (const auto& m : whole) {
    auto p = parse_syslog_message(m.bytes, m.truncated, o, 1718452800000);
    const std::string* fac = p.headers.find("Facility");
    const std::string* sev = p.headers.find("Severity");
    INGESTOR_FUZZ_CHECK(fac && sev);
    INGESTOR_FUZZ_CHECK(p.body_begin <= p.body_end && p.body_end <= m.bytes.size());
    if (p.status == SyslogStatus::kInvalid) {
      INGESTOR_FUZZ_CHECK(*fac == "0" && *sev == "0" && p.headers.size() == 3);
      INGESTOR_FUZZ_CHECK(syslog_body(m.bytes, p) == m.bytes);
    } else {
      INGESTOR_FUZZ_CHECK(std::stoi(*fac) < 125 && std::stoi(*sev) < 8);
      INGESTOR_FUZZ_CHECK((p.status == SyslogStatus::kIncomplete) == m.truncated);
      INGESTOR_FUZZ_CHECK(p.prefix.size() <= m.bytes.size() + 8);
    }
  }
  return 0;
}
