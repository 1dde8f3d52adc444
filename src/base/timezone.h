#pragma once
// TimeZone: civil time for an IANA zone name ("America/Los_Angeles", "UTC", "+05:30"-style fixed
// offsets are not IANA and not accepted), read from the system's TZif files
// (/usr/share/zoneinfo, Debian's tzdata). Needed because libstdc++ 12 has no std::chrono tzdb and
// POSIX localtime_r with setenv("TZ") is not thread-safe.
// Debian ships "fat" TZif files with transitions listed up to 2037; instants after the last
// transition keep its offset (the footer's POSIX rule is not evaluated).
// Thread-safety: a loaded TimeZone is immutable and may be shared.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace ingestor {

struct CivilTime {
  int year, month, day;        // month 1..12, day 1..31
  int hour, minute, second;    // 0..23, 0..59, 0..60
  int weekday;                 // 0 = Sunday
  int yearday;                 // 1..366
  int utc_offset_s;            // offset from UTC in seconds (east positive)
  std::string abbreviation;    // "PST", "UTC"
};

class TimeZone {
 public:
  // "UTC", "GMT" and "" are UTC without any file. `local()` is the system zone (/etc/localtime,
  // or TZ when set to a zone name).
  [[nodiscard]] static Result<std::shared_ptr<const TimeZone>> load(const std::string& name);
  static std::shared_ptr<const TimeZone> utc();
  static std::shared_ptr<const TimeZone> local();

  // Parses TZif (v1, v2 or v3) bytes. Errors name `name`.
  [[nodiscard]] static Result<std::shared_ptr<const TimeZone>> parse(const std::string& name,
                                                                     const std::string& tzif);

  CivilTime civil(int64_t epoch_seconds) const;
  int utc_offset(int64_t epoch_seconds) const;
  const std::string& name() const { return name_; }

 private:
  struct Type {
    int32_t offset;
    bool dst;
    std::string abbr;
  };
  std::string name_;
  std::vector<int64_t> transitions_;  // epoch seconds, ascending
  std::vector<uint8_t> trans_type_;   // index into types_
  std::vector<Type> types_;
  const Type& type_at(int64_t t) const;
};

// Civil fields of a UTC instant shifted by `offset_s` (no zone rules).
CivilTime civil_from_epoch(int64_t epoch_seconds, int offset_s);

}  // namespace ingestor
