#include "base/timezone.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "base/file.h"

namespace ingestor {

namespace {

int64_t be(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  if (n == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
  return static_cast<int64_t>(v);
}

// Days from civil, Howard Hinnant's algorithm (public domain description).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

CivilTime civil_from_epoch(int64_t t, int offset_s) {
  int64_t s = t + offset_s;
  int64_t days = s >= 0 ? s / 86400 : (s - 86399) / 86400;
  int64_t secs = s - days * 86400;
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  CivilTime c{};
  c.year = static_cast<int>(y);
  c.month = static_cast<int>(m);
  c.day = static_cast<int>(d);
  c.hour = static_cast<int>(secs / 3600);
  c.minute = static_cast<int>((secs / 60) % 60);
  c.second = static_cast<int>(secs % 60);
  int64_t wd = (days + 4) % 7;  // 1970-01-01 was a Thursday
  c.weekday = static_cast<int>(wd < 0 ? wd + 7 : wd);
  c.yearday = static_cast<int>(days - days_from_civil(y, 1, 1)) + 1;
  c.utc_offset_s = offset_s;
  return c;
}

std::shared_ptr<const TimeZone> TimeZone::utc() {
  static const std::shared_ptr<const TimeZone> z = [] {
    auto tz = std::make_shared<TimeZone>();
    tz->name_ = "UTC";
    tz->types_.push_back({0, false, "UTC"});
    return std::shared_ptr<const TimeZone>(tz);
  }();
  return z;
}

std::shared_ptr<const TimeZone> TimeZone::local() {
  static const std::shared_ptr<const TimeZone> z = []() -> std::shared_ptr<const TimeZone> {
    const char* tz = std::getenv("TZ");
    if (tz && *tz) {
      std::string n = tz[0] == ':' ? tz + 1 : tz;
      if (auto r = load(n)) return *r;
    }
    auto data = read_file("/etc/localtime");
    if (data) {
      if (auto r = parse("localtime", *data)) return *r;
    }
    return utc();
  }();
  return z;
}

Result<std::shared_ptr<const TimeZone>> TimeZone::load(const std::string& name) {
  if (name.empty() || name == "UTC" || name == "GMT" || name == "Etc/UTC" || name == "Z")
    return utc();
  if (name.find("..") != std::string::npos || name[0] == '/')
    return make_error(Errc::kConfig, "invalid time zone name '" + name + "'");
  auto data = read_file("/usr/share/zoneinfo/" + name);
  if (!data)
    return make_error(Errc::kConfig, "unknown time zone '" + name +
                                         "' (not in /usr/share/zoneinfo; install tzdata)");
  return parse(name, *data);
}

Result<std::shared_ptr<const TimeZone>> TimeZone::parse(const std::string& name,
                                                        const std::string& tzif) {
  auto bad = [&](const char* why) {
    return make_error(Errc::kConfig, "time zone '" + name + "': malformed TZif data (" + why + ")");
  };
  const auto* p = reinterpret_cast<const unsigned char*>(tzif.data());
  size_t n = tzif.size();
  if (n < 44 || std::memcmp(p, "TZif", 4) != 0) return bad("no TZif header");
  char version = static_cast<char>(p[4]);
  auto counts = [&](const unsigned char* h, int64_t c[6]) {
    for (int i = 0; i < 6; ++i) c[i] = be(h + 20 + 4 * i, 4);
  };
  int64_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  counts(p, c);
  size_t off = 0;
  int tsize = 4;
  if (version >= '2') {
    size_t v1 = 44 + c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
    if (v1 + 44 > n || std::memcmp(p + v1, "TZif", 4) != 0) return bad("no v2 header");
    off = v1;
    counts(p + off, c);
    tsize = 8;
  }
  const int64_t timecnt = c[3], typecnt = c[4], charcnt = c[5];
  if (timecnt < 0 || typecnt <= 0 || charcnt < 0) return bad("counts");
  size_t body = off + 44;
  size_t need = body + timecnt * tsize + timecnt + typecnt * 6 + charcnt;
  if (need > n) return bad("truncated");
  auto tz = std::make_shared<TimeZone>();
  tz->name_ = name;
  const unsigned char* q = p + body;
  for (int64_t i = 0; i < timecnt; ++i) tz->transitions_.push_back(be(q + i * tsize, tsize));
  q += timecnt * tsize;
  for (int64_t i = 0; i < timecnt; ++i) {
    if (q[i] >= typecnt) return bad("type index");
    tz->trans_type_.push_back(q[i]);
  }
  q += timecnt;
  const char* chars = reinterpret_cast<const char*>(q + typecnt * 6);
  for (int64_t i = 0; i < typecnt; ++i) {
    const unsigned char* t = q + i * 6;
    unsigned ai = t[5];
    if (ai >= charcnt) return bad("abbreviation index");
    tz->types_.push_back({static_cast<int32_t>(be(t, 4)), t[4] != 0,
                          std::string(chars + ai, strnlen(chars + ai, charcnt - ai))});
  }
  if (!std::is_sorted(tz->transitions_.begin(), tz->transitions_.end()))
    return bad("unsorted transitions");
  return std::shared_ptr<const TimeZone>(tz);
}

const TimeZone::Type& TimeZone::type_at(int64_t t) const {
  if (transitions_.empty() || t < transitions_.front()) {
    // Before the first transition: the first non-DST type, as RFC 8536 suggests.
    for (const auto& ty : types_)
      if (!ty.dst) return ty;
    return types_.front();
  }
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
  return types_[trans_type_[static_cast<size_t>(it - transitions_.begin()) - 1]];
}

int TimeZone::utc_offset(int64_t t) const { return type_at(t).offset; }

CivilTime TimeZone::civil(int64_t t) const {
  const Type& ty = type_at(t);
  CivilTime c = civil_from_epoch(t, ty.offset);
  c.abbreviation = ty.abbr;
  return c;
}

}  // namespace ingestor
