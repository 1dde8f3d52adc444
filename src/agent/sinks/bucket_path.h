#pragma once
// BucketPath: Flume's escape sequences in hdfs.path and hdfs.filePrefix (flume.md 3.7,
// org.apache.flume.formatter.output.BucketPath), compiled once and expanded per event:
//   %{header}  the header's value ("" when missing)
//   %[localhost] %[IP] %[FQDN]  host facts (any case); any other %[x] is a configuration error
//   %a %A %b %B %c %d %D %e %H %I %j %k %l %m %M %n %p %s %S %y %Y %z  time, as SimpleDateFormat
//   %t  the raw `timestamp` header (epoch ms); %%  a literal %; any other %x expands to ""
// Time escapes use the event's `timestamp` header (epoch ms), or the clock when
// `useLocalTimeStamp`, in `timeZone`, rounded down by `round`/`roundValue`/`roundUnit` (not %t).
// An event with no usable timestamp where one is needed is an error (Flume retries it for ever;
// the S3 sink routes it to its dead-letter destination instead).
// Thread-safety: a compiled BucketPath is immutable.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/timezone.h"
#include "core/event.h"

namespace ingestor {

enum class RoundUnit { kSecond, kMinute, kHour };

struct TimeOptions {
  bool use_local_timestamp = false;
  bool round = false;
  int round_value = 1;
  RoundUnit round_unit = RoundUnit::kSecond;
  std::shared_ptr<const TimeZone> time_zone;  // null: the local zone
};

class BucketPath {
 public:
  // Errors: an unknown %[x] ("unknown escape %[foo] in 'a/%[foo]': expected localhost, IP or
  // FQDN").
  [[nodiscard]] static Result<BucketPath> compile(std::string_view pattern);

  // True when expanding needs a timestamp (any time escape, %t included).
  bool needs_timestamp() const { return needs_time_; }
  // True when the expansion depends on the event at all (headers or time).
  bool is_constant() const { return constant_; }
  const std::string& pattern() const { return pattern_; }

  // Expands for one event. `now_ms` is used when options.use_local_timestamp. Errors (kInvalidArgument)
  // with Flume's messages for a missing or unparsable timestamp header.
  [[nodiscard]] Result<std::string> expand(const Headers& headers, int64_t now_ms,
                                           const TimeOptions& options) const;

 private:
  struct Token {
    enum Kind { kLiteral, kHeader, kHost, kTime, kRawTimestamp } kind;
    std::string text;  // literal text, header name, host fact ("localhost", "ip", "fqdn")
    char spec = 0;     // time escape letter
  };
  std::string pattern_;
  std::vector<Token> tokens_;
  bool needs_time_ = false;
  bool constant_ = true;
};

// Rounds an epoch-ms timestamp down in `tz`, as Flume's TimestampRoundDownUtil.
int64_t round_down_timestamp(int64_t ts_ms, int value, RoundUnit unit, const TimeZone& tz);

}  // namespace ingestor
