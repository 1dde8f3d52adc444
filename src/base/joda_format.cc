#include "base/joda_format.h"

#include <cctype>
#include <cstring>

namespace ingestor {

namespace {

const char* const kMonths[] = {"january",   "february", "march",    "april",
                               "may",       "june",     "july",     "august",
                               "september", "october",  "november", "december"};
const char* const kDays[] = {"monday", "tuesday",  "wednesday", "thursday",
                             "friday", "saturday", "sunday"};

bool numeric(char c) { return std::strchr("yMdHkhKmsS", c) != nullptr; }

// Matches an English name (full, or its first three letters) at `pos`; the index or -1.
int match_name(std::string_view text, size_t& pos, const char* const* names, int n, bool full) {
  for (int i = 0; i < n; ++i) {
    const size_t len = full ? std::strlen(names[i]) : 3;
    if (pos + len > text.size()) continue;
    bool ok = true;
    for (size_t j = 0; j < len && ok; ++j)
      ok = std::tolower(static_cast<unsigned char>(text[pos + j])) == names[i][j];
    if (ok) {
      pos += len;
      return i;
    }
  }
  return -1;
}

}  // namespace

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

Result<JodaParser> JodaParser::compile(std::string_view p, std::shared_ptr<const TimeZone> zone) {
  JodaParser out;
  out.zone_ = std::move(zone);
  auto literal = [&](char c) {
    if (out.fields_.empty() || out.fields_.back().letter != 0) out.fields_.push_back({});
    out.fields_.back().literal += c;
  };
  for (size_t i = 0; i < p.size();) {
    const char c = p[i];
    if (c == '\'') {
      if (i + 1 < p.size() && p[i + 1] == '\'') {
        literal('\'');
        i += 2;
        continue;
      }
      const size_t end = p.find('\'', i + 1);
      if (end == std::string_view::npos)
        return make_error(Errc::kConfig, "unterminated quote in pattern '" + std::string(p) + "'");
      for (size_t j = i + 1; j < end; ++j) literal(p[j]);
      i = end + 1;
      continue;
    }
    if (std::isalpha(static_cast<unsigned char>(c))) {
      if (!std::strchr("yMdHkhKmsSaEZ", c))
        return make_error(Errc::kConfig, "Illegal pattern component: " + std::string(1, c) +
                                             " (in '" + std::string(p) + "')");
      size_t j = i;
      while (j < p.size() && p[j] == c) ++j;
      out.fields_.push_back({c, static_cast<int>(j - i), {}, false});
      i = j;
      continue;
    }
    literal(c);
    ++i;
  }
  if (out.fields_.empty()) return make_error(Errc::kConfig, "empty pattern");
  for (size_t k = 0; k < out.fields_.size(); ++k) {
    Field& f = out.fields_[k];
    const bool next_numeric = k + 1 < out.fields_.size() && out.fields_[k + 1].letter != 0 &&
                              numeric(out.fields_[k + 1].letter) &&
                              !(out.fields_[k + 1].letter == 'M' && out.fields_[k + 1].count >= 3);
    f.fixed_width = numeric(f.letter) && next_numeric;
  }
  return out;
}

std::optional<int64_t> JodaParser::parse(std::string_view t) const {
  int64_t year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, millis = 0;
  int hour12 = -1;
  int pm = -1;
  std::optional<int> offset_s;
  size_t pos = 0;
  auto digits = [&](const Field& f, int64_t& v, int& ndigits) {
    const size_t max = f.fixed_width ? static_cast<size_t>(f.count) : 9;
    size_t n = 0;
    bool neg = false;
    if (f.letter == 'y' && !f.fixed_width && pos < t.size() && (t[pos] == '-' || t[pos] == '+')) {
      neg = t[pos] == '-';
      ++pos;
    }
    v = 0;
    while (n < max && pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
      v = v * 10 + (t[pos++] - '0');
      ++n;
    }
    if (neg) v = -v;
    ndigits = static_cast<int>(n);
    return n > 0 && (!f.fixed_width || n == max);
  };
  for (const Field& f : fields_) {
    if (f.letter == 0) {
      if (t.substr(pos, f.literal.size()) != f.literal) return std::nullopt;
      pos += f.literal.size();
      continue;
    }
    int64_t v = 0;
    int nd = 0;
    switch (f.letter) {
      case 'M':
        if (f.count >= 3) {
          int m = match_name(t, pos, kMonths, 12, true);  // a full name, else the short one
          if (m < 0) m = match_name(t, pos, kMonths, 12, false);
          if (m < 0) return std::nullopt;
          month = m + 1;
          break;
        }
        if (!digits(f, v, nd)) return std::nullopt;
        month = v;
        break;
      case 'E': {
        int d = match_name(t, pos, kDays, 7, true);
        if (d < 0) d = match_name(t, pos, kDays, 7, false);
        if (d < 0) return std::nullopt;
        break;
      }
      case 'a': {
        if (pos + 2 > t.size()) return std::nullopt;
        const char a = static_cast<char>(std::toupper(static_cast<unsigned char>(t[pos])));
        const char b = static_cast<char>(std::toupper(static_cast<unsigned char>(t[pos + 1])));
        if (b != 'M' || (a != 'A' && a != 'P')) return std::nullopt;
        pm = a == 'P';
        pos += 2;
        break;
      }
      case 'Z': {
        if (pos < t.size() && t[pos] == 'Z') {
          offset_s = 0;
          ++pos;
          break;
        }
        if (pos >= t.size() || (t[pos] != '+' && t[pos] != '-')) return std::nullopt;
        const int sign = t[pos++] == '-' ? -1 : 1;
        auto two = [&](int& out) {
          if (pos + 2 > t.size() || !std::isdigit(static_cast<unsigned char>(t[pos])) ||
              !std::isdigit(static_cast<unsigned char>(t[pos + 1])))
            return false;
          out = (t[pos] - '0') * 10 + (t[pos + 1] - '0');
          pos += 2;
          return true;
        };
        int hh = 0, mm = 0;
        if (!two(hh)) return std::nullopt;
        if (pos < t.size() && t[pos] == ':') ++pos;
        if (!two(mm)) return std::nullopt;
        offset_s = sign * (hh * 3600 + mm * 60);
        break;
      }
      default:
        if (!digits(f, v, nd)) return std::nullopt;
        switch (f.letter) {
          case 'y':
            year = (f.count == 2 && nd == 2) ? (v < 50 ? 2000 + v : 1900 + v) : v;
            break;
          case 'd':
            day = v;
            break;
          case 'H':
            hour = v;
            break;
          case 'k':
            hour = v == 24 ? 0 : v;
            break;
          case 'h':
            hour12 = static_cast<int>(v == 12 ? 0 : v);
            if (v < 1 || v > 12) return std::nullopt;
            break;
          case 'K':
            hour12 = static_cast<int>(v);
            if (v > 11) return std::nullopt;
            break;
          case 'm':
            minute = v;
            break;
          case 's':
            second = v;
            break;
          case 'S': {
            // A fraction: "5" is 500 ms, "123456" is 123 ms.
            int64_t ms = v;
            for (int i = nd; i < 3; ++i) ms *= 10;
            for (int i = nd; i > 3; --i) ms /= 10;
            millis = ms;
            break;
          }
        }
    }
  }
  if (pos != t.size()) return std::nullopt;
  if (hour12 >= 0) hour = hour12 + (pm == 1 ? 12 : 0);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59)
    return std::nullopt;
  const int64_t local_s =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
      hour * 3600 + minute * 60 + second;
  int64_t epoch_s;
  if (offset_s) {
    epoch_s = local_s - *offset_s;
  } else {
    const int off1 = zone_->utc_offset(local_s);
    epoch_s = local_s - off1;
    const int off2 = zone_->utc_offset(epoch_s);
    if (off2 != off1) epoch_s = local_s - off2;
  }
  return epoch_s * 1000 + millis;
}

}  // namespace ingestor
