#include "agent/sources/syslog_parser.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>

#include "base/joda_format.h"
#include "base/timezone.h"

namespace ingestor {

namespace {

// Java regex classes (no UNICODE_CHARACTER_CLASS): \s, \d, \w.
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_host_char(char c) { return is_word(c) || c == '.' || c == '@' || c == '-'; }

// `(.*)$` under matches(): no line terminator (\n, \r, U+0085, U+2028, U+2029) to the end.
// memchr for each terminator's (lead) byte: one vectorized pass each instead of five tests per
// byte (this runs over every message's whole text).
bool no_line_terminator(std::string_view s) {
  const char* const b = s.data();
  const char* const e = b + s.size();
  if (std::memchr(b, '\n', s.size()) || std::memchr(b, '\r', s.size())) return false;
  for (const char* q = b; (q = static_cast<const char*>(std::memchr(q, 0xC2, e - q))); ++q)
    if (e - q >= 2 && static_cast<unsigned char>(q[1]) == 0x85) return false;
  for (const char* q = b; (q = static_cast<const char*>(std::memchr(q, 0xE2, e - q))); ++q)
    if (e - q >= 3 && static_cast<unsigned char>(q[1]) == 0x80 &&
        (static_cast<unsigned char>(q[2]) == 0xA8 || static_cast<unsigned char>(q[2]) == 0xA9))
      return false;
  return true;
}

// Groups of a match, as offsets into the message; npos = the group did not take part.
struct Match {
  static constexpr size_t npos = std::string_view::npos;
  size_t version_begin = npos, version_end = npos;
  size_t ts_begin = npos, ts_end = npos;
  size_t host_begin = npos, host_end = npos;
  size_t msg_begin = 0;
};

bool digits_at(std::string_view s, size_t p, size_t n) {
  if (p + n > s.size()) return false;
  for (size_t i = 0; i < n; ++i)
    if (!is_digit(s[p + i])) return false;
  return true;
}

// `\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:[+-]\d{2}:\d{2}|Z)?` at p; returns the end.
size_t match_5424_stamp(std::string_view s, size_t p) {
  if (!digits_at(s, p, 4) || p + 19 > s.size() || s[p + 4] != '-' || !digits_at(s, p + 5, 2) ||
      s[p + 7] != '-' || !digits_at(s, p + 8, 2) || s[p + 10] != 'T' || !digits_at(s, p + 11, 2) ||
      s[p + 13] != ':' || !digits_at(s, p + 14, 2) || s[p + 16] != ':' || !digits_at(s, p + 17, 2))
    return Match::npos;
  size_t q = p + 19;
  if (q < s.size() && s[q] == '.' && q + 1 < s.size() && is_digit(s[q + 1])) {
    size_t r = q + 1;
    while (r < s.size() && r - (q + 1) < 6 && is_digit(s[r])) ++r;
    q = r;
  }
  if (q < s.size() && s[q] == 'Z') {
    ++q;
  } else if (q + 6 <= s.size() && (s[q] == '+' || s[q] == '-') && digits_at(s, q + 1, 2) &&
             s[q + 3] == ':' && digits_at(s, q + 4, 2)) {
    q += 6;
  }
  return q;
}

// After `<PRI>` and the version: the RFC 5424 pattern's stamp, host and message.
bool rest_5424(std::string_view s, size_t p, Match& m) {
  size_t ts_end = match_5424_stamp(s, p);
  if (ts_end != Match::npos) {
    m.ts_begin = p;
    m.ts_end = ts_end;
    p = ts_end;
  } else if (p < s.size() && s[p] == '-') {
    m.ts_begin = m.ts_end = Match::npos;
    ++p;
  } else {
    return false;
  }
  if (p >= s.size() || !is_space(s[p])) return false;
  ++p;
  if (p < s.size() && is_word(s[p])) {
    size_t q = p + 1;
    while (q < s.size() && is_host_char(s[q])) ++q;
    m.host_begin = p;
    m.host_end = q;
    p = q;
  } else if (p < s.size() && s[p] == '-') {
    m.host_begin = m.host_end = Match::npos;
    ++p;
  } else {
    return false;
  }
  if (p >= s.size() || !is_space(s[p])) return false;
  ++p;
  if (!no_line_terminator(s.substr(p))) return false;
  m.msg_begin = p;
  return true;
}

// After `<PRI>` and the version: the RFC 3164 pattern's stamp, host and message.
bool rest_3164(std::string_view s, size_t p, Match& m) {
  const size_t ts = p;
  if (p + 3 > s.size() || !(s[p] >= 'A' && s[p] <= 'Z') || !(s[p + 1] >= 'a' && s[p + 1] <= 'z') ||
      !(s[p + 2] >= 'a' && s[p + 2] <= 'z'))
    return false;
  p += 3;
  if (p >= s.size() || !is_space(s[p])) return false;
  ++p;
  if (p < s.size() && is_space(s[p])) ++p;
  if (!digits_at(s, p, 1)) return false;
  ++p;
  if (digits_at(s, p, 1)) ++p;
  if (p + 9 > s.size() || !is_space(s[p]) || !digits_at(s, p + 1, 2) || s[p + 3] != ':' ||
      !digits_at(s, p + 4, 2) || s[p + 6] != ':' || !digits_at(s, p + 7, 2))
    return false;
  p += 9;
  m.ts_begin = ts;
  m.ts_end = p;
  if (p >= s.size() || !is_space(s[p])) return false;
  ++p;
  if (p >= s.size() || !is_word(s[p])) return false;
  size_t q = p + 1;
  while (q < s.size() && is_host_char(s[q])) ++q;
  m.host_begin = p;
  m.host_end = q;
  p = q;
  if (p >= s.size() || !is_space(s[p])) return false;
  ++p;
  if (!no_line_terminator(s.substr(p))) return false;
  m.msg_begin = p;
  return true;
}

// `(?:(\d?)\s?)` / `(?:(\d)?\s?)` then the rest, with the regex's backtracking order: a digit
// then a space, a digit alone, a space alone, nothing.
template <class Rest>
bool with_version(std::string_view s, size_t p, bool empty_group_participates, Match& m,
                  Rest rest) {
  const bool d = p < s.size() && is_digit(s[p]);
  auto attempt = [&](size_t vlen, bool space) {
    size_t q = p + vlen;
    if (space) {
      if (q >= s.size() || !is_space(s[q])) return false;
      ++q;
    }
    if (!rest(s, q, m)) return false;
    if (vlen || empty_group_participates) {
      m.version_begin = p;
      m.version_end = p + vlen;
    } else {
      m.version_begin = m.version_end = Match::npos;
    }
    return true;
  };
  if (d && (attempt(1, true) || attempt(1, false))) return true;
  return attempt(0, true) || attempt(0, false);
}

bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in_month(int64_t y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

struct Civil {
  int64_t year;
  int month, day, hour, minute, second;
};

bool valid(const Civil& c) {
  return c.month >= 1 && c.month <= 12 && c.day >= 1 && c.day <= days_in_month(c.year, c.month) &&
         c.hour <= 23 && c.minute <= 59 && c.second <= 60;
}

int64_t utc_seconds(const Civil& c) {
  return days_from_civil(c.year, static_cast<unsigned>(c.month), static_cast<unsigned>(c.day)) *
             86400 +
         c.hour * 3600 + c.minute * 60 + c.second;
}

// Civil time in `zone` to epoch seconds (the earlier instant when a clock change repeats it).
int64_t local_seconds(const Civil& c, const TimeZone& zone) {
  const int64_t t0 = utc_seconds(c);
  const int off1 = zone.utc_offset(t0);
  int64_t t = t0 - off1;
  const int off2 = zone.utc_offset(t);
  if (off2 != off1) t = t0 - off2;
  return t;
}

// Calendar.add(MONTH, k): the day is clamped to the new month's length.
Civil add_months(Civil c, int k) {
  int64_t m = c.year * 12 + (c.month - 1) + k;
  c.year = m >= 0 ? m / 12 : (m - 11) / 12;
  c.month = static_cast<int>(m - c.year * 12) + 1;
  c.day = std::min(c.day, days_in_month(c.year, c.month));
  return c;
}

int num(std::string_view s, size_t p, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n; ++i) v = v * 10 + (s[p + i] - '0');
  return v;
}

const TimeZone& zone_of(const SyslogParserOptions& o) {
  return o.zone ? *o.zone : *TimeZone::local();
}

}  // namespace

SyslogKeepFields parse_keep_fields(std::string_view value) {
  std::string v(value);
  while (!v.empty() && is_space(v.back())) v.pop_back();
  size_t b = 0;
  while (b < v.size() && is_space(v[b])) ++b;
  v.erase(0, b);
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  SyslogKeepFields k;
  if (v == "none" || v == "false") return k;
  if (v == "all" || v == "true") {
    k.all = true;
    return k;
  }
  k.priority = v.find("priority") != std::string::npos;
  k.version = v.find("version") != std::string::npos;
  k.timestamp = v.find("timestamp") != std::string::npos;
  k.hostname = v.find("hostname") != std::string::npos;
  return k;
}

bool parse_rfc5424_stamp(std::string_view s, const TimeZone& zone, int64_t& out_ms) {
  if (match_5424_stamp(s, 0) != s.size()) return false;
  Civil c{num(s, 0, 4), num(s, 5, 2), num(s, 8, 2), num(s, 11, 2), num(s, 14, 2), num(s, 17, 2)};
  if (!valid(c)) return false;
  size_t p = 19;
  int64_t ms = 0;
  if (p < s.size() && s[p] == '.') {
    // Fraction of a second, cut to milliseconds (FLUME-2497 cuts to 3 digits too).
    int scale = 100;
    for (++p; p < s.size() && is_digit(s[p]); ++p) {
      ms += (s[p] - '0') * scale;
      scale /= 10;
    }
  }
  int64_t secs;
  if (p == s.size()) {
    secs = local_seconds(c, zone);
  } else if (s[p] == 'Z') {
    secs = utc_seconds(c);
  } else {
    const int off = (num(s, p + 1, 2) * 60 + num(s, p + 4, 2)) * 60;
    if (num(s, p + 1, 2) > 23 || num(s, p + 4, 2) > 59) return false;
    secs = utc_seconds(c) - (s[p] == '-' ? -off : off);
  }
  out_ms = secs * 1000 + ms;
  return true;
}

bool parse_rfc3164_stamp(std::string_view s, const TimeZone& zone, int64_t now_ms,
                         int64_t& out_ms) {
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() < 14) return false;
  int month = 0;
  for (int i = 0; i < 12; ++i)
    if (s.substr(0, 3) == kMonths[i]) month = i + 1;
  if (!month) return false;
  size_t p = 3;
  while (p < s.size() && is_space(s[p])) ++p;
  int day = 0;
  while (p < s.size() && is_digit(s[p])) day = day * 10 + (s[p++] - '0');
  ++p;  // the space
  if (p + 8 != s.size()) return false;
  const int64_t now_s = now_ms / 1000;
  const CivilTime now_civil = zone.civil(now_s);
  Civil c{now_civil.year, month, day, num(s, p, 2), num(s, p + 3, 2), num(s, p + 6, 2)};
  // Feb 29 is checked against the year finally chosen.
  if (!valid(Civil{2000, c.month, c.day, c.hour, c.minute, c.second})) return false;
  auto at = [&](const Civil& x) -> std::optional<int64_t> {
    if (!valid(x)) return std::nullopt;
    return local_seconds(x, zone);
  };
  // Within (now - 11 months, now + 1 month]: compare month-shifted stamps as Flume does.
  Civil minus1 = add_months(c, -1);
  Civil plus11 = add_months(c, 11);
  auto m1 = at(minus1);
  auto p11 = at(plus11);
  if (m1 && *m1 > now_s) {
    c.year -= 1;
  } else if (p11 && *p11 < now_s) {
    c.year += 1;
  }
  auto t = at(c);
  if (!t) return false;
  out_ms = *t * 1000;
  return true;
}

namespace {

bool cached_rfc3164_stamp(std::string_view ts, const TimeZone& zone, int64_t now_ms,
                          int64_t& out_ms, SyslogStampCache* cache) {
  if (!cache) return parse_rfc3164_stamp(ts, zone, now_ms, out_ms);
  SyslogStampCache& c = *cache;
  const int64_t now_s = now_ms / 1000;
  if (c.zone == &zone && c.now_s == now_s && c.len == ts.size() &&
      std::memcmp(c.text, ts.data(), ts.size()) == 0) {
    out_ms = c.ms;
    return c.ok;
  }
  const bool ok = parse_rfc3164_stamp(ts, zone, now_ms, out_ms);
  if (ts.size() <= sizeof c.text) {
    c.zone = &zone;
    c.now_s = now_s;
    c.len = ts.size();
    std::memcpy(c.text, ts.data(), ts.size());
    c.ok = ok;
    c.ms = ok ? out_ms : 0;
  }
  return ok;
}

}  // namespace

SyslogMessage parse_syslog_message(std::string_view s, bool truncated, const SyslogParserOptions& o,
                                   int64_t now_ms, SyslogStampCache* stamps) {
  SyslogMessage out;
  // Facility, Severity, priority, version, timestamp, host: one allocation per event.
  out.headers.reserve(6);
  out.body_begin = 0;
  out.body_end = s.size();
  // <PRI>: 1 to 3 digits (SyslogUtils' START/PRIO states).
  size_t p = 0;
  int pri = 0;
  bool ok = !s.empty() && s[0] == '<';
  if (ok) {
    p = 1;
    while (p < s.size() && is_digit(s[p]) && p <= 3) pri = pri * 10 + (s[p++] - '0');
    ok = p > 1 && p < s.size() && s[p] == '>';
    ++p;
  }
  if (!ok) {
    out.status = SyslogStatus::kInvalid;
    out.headers.append("Facility", "0");
    out.headers.append("Severity", "0");
    out.headers.set("flume.syslog.status", "Invalid");
    return out;
  }
  out.status = truncated ? SyslogStatus::kIncomplete : SyslogStatus::kOk;
  out.headers.append("Facility", std::to_string(pri / 8));
  out.headers.append("Severity", std::to_string(pri % 8));
  Match m;
  bool is_5424 = with_version(s, p, true, m, rest_5424);
  bool matched = is_5424 || with_version(s, p, false, m, rest_3164);
  if (matched) {
    const std::string_view prio = s.substr(1, p - 2);
    out.headers.append(o.capitalized_headers ? "Priority" : "priority", std::string(prio));
    std::string_view version;
    if (m.version_begin != Match::npos && m.version_end > m.version_begin) {
      version = s.substr(m.version_begin, m.version_end - m.version_begin);
      out.headers.append(o.capitalized_headers ? "Version" : "version", std::string(version));
    }
    std::string_view ts = m.ts_begin == Match::npos ? std::string_view("-")
                                                    : s.substr(m.ts_begin, m.ts_end - m.ts_begin);
    if (m.ts_begin != Match::npos) {
      int64_t ms = 0;
      bool conv = is_5424 ? parse_rfc5424_stamp(ts, zone_of(o), ms)
                          : cached_rfc3164_stamp(ts, zone_of(o), now_ms, ms, stamps);
      if (conv) out.headers.append("timestamp", std::to_string(ms));
    }
    std::string_view host = m.host_begin == Match::npos
                                ? std::string_view("-")
                                : s.substr(m.host_begin, m.host_end - m.host_begin);
    if (m.host_begin != Match::npos) out.headers.append("host", std::string(host));
    if (!o.keep.all) {
      // addFieldsToBody: <PRI>, version, timestamp, hostname in front of the message.
      std::string prefix;
      if (o.keep.priority) prefix.append("<").append(prio).append(">");
      if (o.keep.version && !version.empty()) prefix.append(version).append(" ");
      if (o.keep.timestamp) prefix.append(ts).append(" ");
      if (o.keep.hostname) prefix.append(host).append(" ");
      // An empty result gives the raw message (Flume: msgBody empty -> the whole line).
      if (!prefix.empty() || m.msg_begin < s.size()) {
        out.prefix = std::move(prefix);
        out.body_begin = m.msg_begin;
      }
    }
  }
  if (out.status == SyslogStatus::kIncomplete)
    out.headers.set("flume.syslog.status", "Incomplete");
  return out;
}

std::string syslog_body(std::string_view msg, const SyslogMessage& m) {
  std::string out = m.prefix;
  out.append(msg.substr(m.body_begin, m.body_end - m.body_begin));
  return out;
}

bool SyslogTcpFramer::next(std::string_view data, SyslogFrame& frame, size_t& consumed) {
  consumed = 0;
  for (;;) {
    std::string_view d = data.substr(consumed);
    if (discard_) {
      const size_t n = std::min(discard_, d.size());
      discard_ -= n;
      discarded_total_ += n;
      consumed += n;
      if (discard_) return false;
      continue;
    }
    if (d.empty()) return false;
    if (d[0] == '\n') {  // an empty line (Flume's START state ignores it)
      ++consumed;
      continue;
    }
    if (!continuation_ && d[0] >= '1' && d[0] <= '9') {
      // RFC 6587 octet counting: MSG-LEN SP MSG.
      size_t i = 0;
      while (i < d.size() && i < 9 && is_digit(d[i])) ++i;
      if (i == d.size()) return false;  // more digits or the space may follow
      if (i <= 8 && d[i] == ' ') {
        size_t len = 0;
        for (size_t k = 0; k < i; ++k) len = len * 10 + static_cast<size_t>(d[k] - '0');
        const size_t head = i + 1;
        const size_t take = std::min(len, event_size_);
        if (d.size() - head < take) return false;
        frame.begin = consumed + head;
        frame.end = frame.begin + take;
        frame.truncated = len > event_size_;
        // rsyslog's templates end the message with "\n" inside the frame: framing, not data.
        if (!frame.truncated && take && d[head + take - 1] == '\n') --frame.end;
        consumed += head + take;
        discard_ = len - take;
        // The discarded rest is dropped by the next call (it may not have arrived yet).
        return true;
      }
    }
    // Newline framing; a message has at most event_size bytes.
    const size_t window = std::min(d.size(), event_size_ + 1);
    const void* nl = std::memchr(d.data(), '\n', window);
    if (nl) {
      const size_t n = static_cast<size_t>(static_cast<const char*>(nl) - d.data());
      frame.begin = consumed;
      frame.end = consumed + n;
      frame.truncated = false;
      consumed += n + 1;
      continuation_ = false;
      return true;
    }
    if (d.size() <= event_size_) return false;
    frame.begin = consumed;
    frame.end = consumed + event_size_;
    frame.truncated = true;
    consumed += event_size_;
    continuation_ = true;
    return true;
  }
}

bool SyslogTcpFramer::finish(std::string_view data, SyslogFrame& frame) {
  if (discard_ || data.empty()) return false;
  frame.begin = 0;
  frame.end = data.size();
  frame.truncated = false;
  if (!continuation_ && data[0] >= '1' && data[0] <= '9') {
    size_t i = 0;
    while (i < data.size() && i < 9 && is_digit(data[i])) ++i;
    if (i < data.size() && i <= 8 && data[i] == ' ') {
      // A frame cut short by the end of the stream.
      frame.begin = i + 1;
      frame.truncated = true;
    }
  }
  return frame.end > frame.begin;
}

}  // namespace ingestor
