#pragma once
// JodaParser: parses date-time text with a Joda-Time DateTimeFormat pattern (Flume's
// regex_extractor millis serializer, `pattern = yyyy-MM-dd HH:mm`) into epoch milliseconds.
// Pattern letters: y (year; yy is a two-digit year, 1950-2049), M (month: M/MM digits, MMM short
// and MMMM full English names, any case), d, H (0-23), k (1-24), h (1-12), K (0-11), m, s, S
// (fraction of a second), a (AM/PM), E (English day name, checked for form only), Z (offset
// +hhmm; ZZ +hh:mm; Z also takes "Z"), text in single quotes, '' for a quote; any other ASCII
// letter is an error at compile time, as Joda's "Illegal pattern component". Other characters are
// literals. Numeric fields next to another numeric field take exactly as many digits as letters
// (yyyyMMdd); otherwise they take one or more digits. Missing fields default to 1970-01-01 00:00.
// Text without an offset is in the given zone (Flume: the JVM's default zone).
// Thread-safety: a compiled JodaParser is immutable.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/timezone.h"

namespace ingestor {

class JodaParser {
 public:
  [[nodiscard]] static Result<JodaParser> compile(std::string_view pattern,
                                                  std::shared_ptr<const TimeZone> zone);
  // Epoch milliseconds of `text` (which must be matched whole), or nullopt.
  std::optional<int64_t> parse(std::string_view text) const;

  struct Field {
    char letter = 0;  // 0: literal
    int count = 0;
    std::string literal;
    bool fixed_width = false;
  };

 private:
  std::vector<Field> fields_;
  std::shared_ptr<const TimeZone> zone_;
};

// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);

}  // namespace ingestor
