#include "agent/sinks/bucket_path.h"

#include <cctype>
#include <charconv>
#include <cstdio>

#include "agent/interceptors/host_interceptor.h"

namespace ingestor {

namespace {

constexpr const char* kDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                 "Thursday", "Friday", "Saturday"};
constexpr const char* kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                   "July",    "August",   "September", "October", "November",
                                   "December"};

bool is_word(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

void pad2(std::string& out, int v) {
  out += static_cast<char>('0' + (v / 10) % 10);
  out += static_cast<char>('0' + v % 10);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void format_time(std::string& out, char spec, const CivilTime& c, int64_t epoch_s) {
  int h12 = c.hour % 12 == 0 ? 12 : c.hour % 12;
  switch (spec) {
    case 'a': out.append(kDays[c.weekday], 3); break;
    case 'A': out += kDays[c.weekday]; break;
    case 'b': out.append(kMonths[c.month - 1], 3); break;
    case 'B': out += kMonths[c.month - 1]; break;
    case 'c': {  // "EEE MMM d HH:mm:ss yyyy"
      out.append(kDays[c.weekday], 3);
      out += ' ';
      out.append(kMonths[c.month - 1], 3);
      out += ' ' + std::to_string(c.day) + ' ';
      pad2(out, c.hour);
      out += ':';
      pad2(out, c.minute);
      out += ':';
      pad2(out, c.second);
      out += ' ' + std::to_string(c.year);
      break;
    }
    case 'd': pad2(out, c.day); break;
    case 'D':
      pad2(out, c.month);
      out += '/';
      pad2(out, c.day);
      out += '/';
      pad2(out, c.year % 100);
      break;
    case 'e': out += std::to_string(c.day); break;
    case 'H': pad2(out, c.hour); break;
    case 'I': pad2(out, h12); break;
    case 'j': {
      char buf[8];
      std::snprintf(buf, sizeof buf, "%03d", c.yearday);
      out += buf;
      break;
    }
    case 'k': out += std::to_string(c.hour); break;
    case 'l': out += std::to_string(h12); break;
    case 'm': pad2(out, c.month); break;
    case 'M': pad2(out, c.minute); break;
    case 'n': out += std::to_string(c.month); break;
    case 'p': out += c.hour < 12 ? "AM" : "PM"; break;
    case 's': out += std::to_string(epoch_s); break;
    case 'S': pad2(out, c.second); break;
    case 'y': pad2(out, c.year % 100); break;
    case 'Y': out += std::to_string(c.year); break;
    case 'z': {
      int off = c.utc_offset_s;
      out += off < 0 ? '-' : '+';
      off = off < 0 ? -off : off;
      pad2(out, off / 3600);
      pad2(out, (off / 60) % 60);
      break;
    }
    default: break;  // unknown: ""
  }
}

bool is_time_spec(char c) {
  return std::string_view("aAbBcdDeHIjklmMnpsSyYz").find(c) != std::string_view::npos;
}

}  // namespace

Result<BucketPath> BucketPath::compile(std::string_view pattern) {
  BucketPath bp;
  bp.pattern_ = pattern;
  auto literal = [&](std::string_view s) {
    if (s.empty()) return;
    if (!bp.tokens_.empty() && bp.tokens_.back().kind == Token::kLiteral) {
      bp.tokens_.back().text += s;
    } else {
      bp.tokens_.push_back({Token::kLiteral, std::string(s)});
    }
  };
  size_t i = 0;
  while (i < pattern.size()) {
    size_t pct = pattern.find('%', i);
    if (pct == std::string_view::npos || pct + 1 >= pattern.size()) {
      literal(pattern.substr(i));
      break;
    }
    literal(pattern.substr(i, pct - i));
    char c = pattern[pct + 1];
    if (c == '{') {
      size_t j = pct + 2;
      while (j < pattern.size() && (is_word(pattern[j]) || pattern[j] == '.' || pattern[j] == '-'))
        ++j;
      if (j > pct + 2 && j < pattern.size() && pattern[j] == '}') {
        bp.tokens_.push_back({Token::kHeader, std::string(pattern.substr(pct + 2, j - pct - 2))});
        bp.constant_ = false;
        i = j + 1;
        continue;
      }
      literal("%");
      i = pct + 1;
      continue;
    }
    if (c == '[') {
      size_t j = pct + 2;
      while (j < pattern.size() && is_word(pattern[j])) ++j;
      if (j > pct + 2 && j < pattern.size() && pattern[j] == ']') {
        std::string name = lower(std::string(pattern.substr(pct + 2, j - pct - 2)));
        if (name != "localhost" && name != "ip" && name != "fqdn") {
          return make_error(Errc::kConfig, "unknown escape %[" +
                                               std::string(pattern.substr(pct + 2, j - pct - 2)) +
                                               "] in '" + std::string(pattern) +
                                               "': expected localhost, IP or FQDN");
        }
        bp.tokens_.push_back({Token::kHost, name});
        bp.constant_ = false;
        i = j + 1;
        continue;
      }
      literal("%");
      i = pct + 1;
      continue;
    }
    if (c == '%') {
      literal("%");
      i = pct + 2;
      continue;
    }
    if (is_word(c)) {
      if (c == 't') {
        bp.tokens_.push_back({Token::kRawTimestamp, ""});
        bp.needs_time_ = true;
        bp.constant_ = false;
      } else if (is_time_spec(c)) {
        bp.tokens_.push_back({Token::kTime, "", c});
        bp.needs_time_ = true;
        bp.constant_ = false;
      }  // an unknown %x expands to ""
      i = pct + 2;
      continue;
    }
    literal("%");
    i = pct + 1;
  }
  return bp;
}

int64_t round_down_timestamp(int64_t ts_ms, int value, RoundUnit unit, const TimeZone& tz) {
  if (value <= 0) return ts_ms;
  int64_t secs = ts_ms >= 0 ? ts_ms / 1000 : (ts_ms - 999) / 1000;
  CivilTime c = tz.civil(secs);
  int64_t start_of_minute = secs - c.second;
  switch (unit) {
    case RoundUnit::kSecond:
      return (secs - c.second % value) * 1000;
    case RoundUnit::kMinute:
      return (start_of_minute - static_cast<int64_t>(c.minute % value) * 60) * 1000;
    case RoundUnit::kHour:
      return (start_of_minute - static_cast<int64_t>(c.minute) * 60 -
              static_cast<int64_t>(c.hour % value) * 3600) *
             1000;
  }
  return ts_ms;
}

Result<std::string> BucketPath::expand(const Headers& headers, int64_t now_ms,
                                       const TimeOptions& o) const {
  if (constant_) return tokens_.empty() ? std::string() : tokens_.front().text;
  int64_t ts = 0;
  const std::string* raw = headers.find("timestamp");
  if (needs_time_) {
    if (o.use_local_timestamp) {
      ts = now_ms;
    } else {
      if (!raw) {
        return make_error(Errc::kInvalidArgument,
                          "Expected timestamp in the Flume event headers, but it was null");
      }
      auto [p, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), ts);
      if (ec != std::errc() || p != raw->data() + raw->size()) {
        return make_error(Errc::kInvalidArgument,
                          "Flume wasn't able to parse timestamp header in the event to resolve "
                          "time based bucketing. Please check that you're correctly populating "
                          "timestamp header (for example using TimestampInterceptor source "
                          "interceptor).");
      }
    }
  }
  const TimeZone& tz = o.time_zone ? *o.time_zone : *TimeZone::local();
  int64_t rounded = o.round ? round_down_timestamp(ts, o.round_value, o.round_unit, tz) : ts;
  int64_t secs = rounded >= 0 ? rounded / 1000 : (rounded - 999) / 1000;
  bool have_civil = false;
  CivilTime civil{};
  std::string out;
  for (const Token& t : tokens_) {
    switch (t.kind) {
      case Token::kLiteral: out += t.text; break;
      case Token::kHeader:
        if (const std::string* v = headers.find(t.text)) out += *v;
        break;
      case Token::kHost:
        out += t.text == "ip" ? host_facts().ip
               : t.text == "fqdn" ? host_facts().fqdn
                                  : host_facts().hostname;
        break;
      case Token::kRawTimestamp:
        out += o.use_local_timestamp ? std::to_string(now_ms) : (raw ? *raw : std::string());
        break;
      case Token::kTime:
        if (!have_civil) {
          civil = tz.civil(secs);
          have_civil = true;
        }
        format_time(out, t.spec, civil, secs);
        break;
    }
  }
  return out;
}

}  // namespace ingestor
