#include "core/config/properties.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace ingestor {

// ---------------------------------------------------------------------------------------------
// Properties: an ordered vector plus a sorted index of views into its keys.
//
// The views in index_ point into the strings of kv_, so they must be refreshed whenever those
// strings move: when kv_ reallocates, when an entry is erased (elements shift), and on copy (the
// copy's views would otherwise point into the source object). Moves keep the vector's buffer and
// therefore the views.

Properties::Properties(const Properties& o) : kv_(o.kv_) { reindex(); }

Properties& Properties::operator=(const Properties& o) {
  if (this != &o) {
    kv_ = o.kv_;
    reindex();
  }
  return *this;
}

namespace {

struct IndexLess {
  bool operator()(const std::pair<std::string_view, size_t>& a, std::string_view b) const {
    return a.first < b;
  }
};

}  // namespace

void Properties::reindex() {
  index_.clear();
  index_.reserve(kv_.size());
  for (size_t i = 0; i < kv_.size(); ++i) index_.emplace_back(kv_[i].first, i);
  std::sort(index_.begin(), index_.end());
}

void Properties::set(std::string key, std::string value) {
  auto it = std::lower_bound(index_.begin(), index_.end(), std::string_view(key), IndexLess{});
  if (it != index_.end() && it->first == key) {
    kv_[it->second].second = std::move(value);
    return;
  }
  const size_t pos = static_cast<size_t>(it - index_.begin());
  const size_t old_capacity = kv_.capacity();
  kv_.emplace_back(std::move(key), std::move(value));
  if (kv_.capacity() != old_capacity) {
    // The strings moved: rebuild every view (the order of the index is unchanged).
    reindex();
    return;
  }
  index_.insert(index_.begin() + static_cast<std::ptrdiff_t>(pos),
                {std::string_view(kv_.back().first), kv_.size() - 1});
}

const std::string* Properties::get(std::string_view key) const {
  auto it = std::lower_bound(index_.begin(), index_.end(), key, IndexLess{});
  if (it == index_.end() || it->first != key) return nullptr;
  return &kv_[it->second].second;
}

bool Properties::erase(std::string_view key) {
  auto it = std::lower_bound(index_.begin(), index_.end(), key, IndexLess{});
  if (it == index_.end() || it->first != key) return false;
  kv_.erase(kv_.begin() + static_cast<std::ptrdiff_t>(it->second));
  reindex();
  return true;
}

void Properties::merge(const Properties& later) {
  for (const auto& [k, v] : later.kv_) set(k, v);
}

// ---------------------------------------------------------------------------------------------
// Parsing, after java.util.Properties.load (LineReader + loadConvert).

namespace {

// White space as Properties.load knows it (between tokens and at the start of a line).
bool is_prop_space(char c) { return c == ' ' || c == '\t' || c == '\f'; }

// String.trim(): every char <= U+0020 at either end.
std::string_view java_trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && static_cast<unsigned char>(s[b]) <= 0x20) ++b;
  while (e > b && static_cast<unsigned char>(s[e - 1]) <= 0x20) --e;
  return s.substr(b, e - b);
}

struct NaturalLine {
  std::string_view text;
  size_t number;  // 1-based
};

// Splits on "\r\n", "\r" and "\n", as Java's LineReader does.
std::vector<NaturalLine> split_lines(std::string_view text) {
  std::vector<NaturalLine> lines;
  size_t start = 0, number = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '\n' && c != '\r') continue;
    lines.push_back({text.substr(start, i - start), number++});
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < text.size()) lines.push_back({text.substr(start), number});
  return lines;
}

// One logical line, with where each of its natural lines starts (for error messages).
struct LogicalLine {
  std::string text;
  std::vector<std::pair<size_t, size_t>> starts;  // (offset in text, line number)

  size_t line_at(size_t offset) const {
    size_t line = starts.front().second;
    for (const auto& [off, num] : starts) {
      if (off > offset) break;
      line = num;
    }
    return line;
  }
};

std::string_view skip_leading_space(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && is_prop_space(s[i])) ++i;
  return s.substr(i);
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads the 4 hex digits of a \u escape starting at `pos`; -1 when malformed.
int32_t read_u4(std::string_view s, size_t pos) {
  if (pos + 4 > s.size()) return -1;
  int32_t v = 0;
  for (size_t i = 0; i < 4; ++i) {
    const int h = hex_value(s[pos + i]);
    if (h < 0) return -1;
    v = (v << 4) | h;
  }
  return v;
}

// loadConvert: resolves escapes in line.text[begin, end). Java chars are UTF-16 code units; an
// escaped surrogate pair becomes one UTF-8 sequence and a lone surrogate becomes U+FFFD (UTF-8
// cannot hold it). On a malformed \u escape, returns the offset of its backslash in `bad`.
bool convert(const LogicalLine& line, size_t begin, size_t end, std::string& out, size_t& bad) {
  std::string_view s(line.text.data(), end);
  out.clear();
  out.reserve(end - begin);
  size_t i = begin;
  while (i < end) {
    const char c = s[i];
    if (c != '\\') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 >= end) {  // a lone trailing backslash (cannot happen from load(); kept literally)
      out += c;
      ++i;
      continue;
    }
    const char e = s[i + 1];
    if (e != 'u') {
      switch (e) {
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'n':
          out += '\n';
          break;
        case 'f':
          out += '\f';
          break;
        default:
          out += e;
          break;  // \x is x, for any other x (so \\ \= \: \# \! \ )
      }
      i += 2;
      continue;
    }
    const int32_t unit = read_u4(s, i + 2);
    if (unit < 0) {
      bad = i;
      return false;
    }
    i += 6;
    uint32_t cp = static_cast<uint32_t>(unit);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      // A high surrogate: combine it with an escaped low surrogate that follows.
      if (i + 6 <= end && s[i] == '\\' && s[i + 1] == 'u') {
        const int32_t low = read_u4(s, i + 2);
        if (low >= 0xDC00 && low <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (static_cast<uint32_t>(low) - 0xDC00);
          i += 6;
        } else {
          cp = 0xFFFD;
        }
      } else {
        cp = 0xFFFD;
      }
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      cp = 0xFFFD;
    }
    append_utf8(out, cp);
  }
  return true;
}

}  // namespace

Result<Properties> parse_properties(std::string_view text, std::string_view origin,
                                    std::vector<PropertyLine>* lines_out) {
  Properties props;
  const std::vector<NaturalLine> lines = split_lines(text);
  size_t i = 0;
  LogicalLine line;
  std::string key, value;
  while (i < lines.size()) {
    std::string_view piece = skip_leading_space(lines[i].text);
    // Blank lines and comments: `#` or `!` as the first non-blank char of a natural line. A
    // comment never continues, whatever it ends with.
    if (piece.empty() || piece[0] == '#' || piece[0] == '!') {
      ++i;
      continue;
    }
    line.text.clear();
    line.starts.assign(1, {0, lines[i].number});
    for (;;) {
      size_t backslashes = 0;
      while (backslashes < piece.size() && piece[piece.size() - 1 - backslashes] == '\\') {
        ++backslashes;
      }
      ++i;
      if (backslashes % 2 == 0) {
        line.text.append(piece);
        break;
      }
      // An odd number of trailing backslashes: the last one joins the next natural line, whose
      // leading white space is dropped. At the end of the input it is simply dropped.
      line.text.append(piece.substr(0, piece.size() - 1));
      if (i >= lines.size()) break;
      line.starts.emplace_back(line.text.size(), lines[i].number);
      piece = skip_leading_space(lines[i].text);
    }

    // The key runs to the first unescaped '=', ':' or white space.
    const std::string& t = line.text;
    size_t key_end = t.size(), value_start = t.size();
    bool has_separator = false, preceding_backslash = false;
    for (size_t k = 0; k < t.size(); ++k) {
      const char c = t[k];
      if ((c == '=' || c == ':') && !preceding_backslash) {
        key_end = k;
        value_start = k + 1;
        has_separator = true;
        break;
      }
      if (is_prop_space(c) && !preceding_backslash) {
        key_end = k;
        value_start = k + 1;
        break;
      }
      preceding_backslash = (c == '\\') ? !preceding_backslash : false;
    }
    // White space, then at most one '=' or ':' if none was seen yet, then white space.
    while (value_start < t.size()) {
      const char c = t[value_start];
      if (is_prop_space(c)) {
        ++value_start;
      } else if (!has_separator && (c == '=' || c == ':')) {
        has_separator = true;
        ++value_start;
      } else {
        break;
      }
    }

    size_t bad = 0;
    if (!convert(line, 0, key_end, key, bad) || !convert(line, value_start, t.size(), value, bad)) {
      return make_error(Errc::kConfig, std::string(origin) + ":" +
                                           std::to_string(line.line_at(bad)) +
                                           ": malformed \\uXXXX escape");
    }
    if (lines_out)
      lines_out->push_back({std::string(origin), line.starts.front().second,
                            std::string(java_trim(key)), std::string(java_trim(value))});
    props.set(std::string(java_trim(key)), std::string(java_trim(value)));
  }
  return props;
}

Result<Properties> load_properties_files(const std::vector<std::string>& paths,
                                         std::vector<PropertyLine>* lines) {
  Properties merged;
  for (const std::string& path : paths) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno_error("cannot read " + path, errno);
    std::string text;
    char buf[65536];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd);
        return errno_error("cannot read " + path, err);
      }
      if (n == 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    auto parsed = parse_properties(text, path, lines);
    if (!parsed) return parsed.error();
    merged.merge(*parsed);
  }
  return merged;
}

std::optional<std::string> process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

// ---------------------------------------------------------------------------------------------
// Substitution, after Commons-Text StringSubstitutor as Flume's MapResolver configures it:
// prefix "${", suffix "}", escape '$' ("$${x}" is the literal "${x}"), default value after ":-"
// ("${env:X:-fallback}"), variables inside variable names ("${env:${k}}"), and resolved values
// substituted again (recursively, a cycle being an error). Lookups: "env:NAME" reads the
// environment, any other name is a key of the properties. Flume's other lookups (sys:, java:,
// date:, ...) have no meaning here and stay unresolved.

namespace {

constexpr size_t kMaxDepth = 32;
// Bytes substitution may produce for one value: `k0=${k1}${k1}`, `k1=${k2}${k2}`, ... doubles at
// every level, and 31 such lines would otherwise take 2^31 bytes and hang the start.
constexpr size_t kMaxExpanded = 1 << 20;
// Bytes substitution may produce over the whole configuration: a 1 MB file of lines that each
// expand to 1 MiB would otherwise take a GiB.
constexpr size_t kMaxTotalExpanded = size_t{64} << 20;

class Substitutor {
 public:
  Substitutor(const Properties& raw, const EnvLookup& env, bool bare_names_from_env)
      : raw_(raw), env_(env), bare_names_from_env_(bare_names_from_env) {}

  // Substitutes `text`; the problems go to problems_ (cleared by the caller per key).
  std::string run(std::string_view text) {
    std::vector<std::string> prior;
    produced_ = 0;
    return substitute(text, prior);
  }

  std::vector<std::string> problems_;

 private:
  void problem(std::string p) {
    if (std::find(problems_.begin(), problems_.end(), p) == problems_.end()) {
      problems_.push_back(std::move(p));
    }
  }

  std::optional<std::string> lookup(const std::string& name) {
    if (name.rfind("env:", 0) == 0) return env_ ? env_(name.substr(4)) : std::nullopt;
    if (const std::string* v = raw_.get(name)) return *v;
    if (bare_names_from_env_ && env_) return env_(name);
    return std::nullopt;
  }

  std::string substitute(std::string_view s, std::vector<std::string>& prior) {
    std::string out;
    out.reserve(s.size());
    size_t pos = 0;
    while (pos < s.size()) {
      if (s.compare(pos, 3, "$${") == 0) {
        // The escape char is removed and scanning resumes after the prefix.
        out += "${";
        pos += 3;
        continue;
      }
      if (s.compare(pos, 2, "${") != 0) {
        // Literal text up to the next '$', in one append.
        const size_t next = std::min(s.find('$', pos + 1), s.size());
        out.append(s.substr(pos, next - pos));
        pos = next;
        continue;
      }
      // Find the matching suffix, counting nested prefixes.
      size_t p = pos + 2, nested = 0;
      size_t end = std::string_view::npos;
      while (p < s.size()) {
        if (s.compare(p, 2, "${") == 0) {
          ++nested;
          p += 2;
        } else if (s[p] == '}') {
          if (nested == 0) {
            end = p;
            break;
          }
          --nested;
          ++p;
        } else {
          ++p;
        }
      }
      if (end == std::string_view::npos) {  // unclosed: the rest is literal
        out.append(s.substr(pos));
        break;
      }
      const std::string_view whole = s.substr(pos, end + 1 - pos);
      std::string name = substitute(s.substr(pos + 2, end - pos - 2), prior);
      std::optional<std::string> fallback;
      if (size_t d = name.find(":-"); d != std::string::npos) {
        fallback = name.substr(d + 2);
        name.resize(d);
      }
      if (std::find(prior.begin(), prior.end(), name) != prior.end()) {
        std::string chain;
        for (const auto& v : prior) chain += v + " -> ";
        problem(std::string(whole) + " (cycle: " + chain + name + ")");
        out.append(whole);
      } else if (prior.size() >= kMaxDepth) {
        problem(std::string(whole) + " (nested too deeply)");
        out.append(whole);
      } else if (produced_ > kMaxExpanded) {
        problem(std::string(whole) + " (the value would be longer than 1 MiB)");
        out.append(whole);
      } else {
        std::optional<std::string> value = lookup(name);
        if (!value) value = std::move(fallback);
        if (value) {
          prior.push_back(name);
          std::string sub = substitute(*value, prior);
          produced_ += sub.size();
          out += sub;
          prior.pop_back();
        } else {
          problem(std::string(whole));
          out.append(whole);
        }
      }
      pos = end + 1;
    }
    return out;
  }

  const Properties& raw_;
  const EnvLookup& env_;
  const bool bare_names_from_env_;
  size_t produced_ = 0;  // bytes substituted in for the current value, at every level
};

}  // namespace

Status substitute_values(Properties& props, const EnvLookup& env,
                         std::vector<std::string>* unresolved, bool bare_names_from_env) {
  const Properties raw = props;  // lookups see the values as written
  Substitutor sub(raw, env, bare_names_from_env);
  size_t total = 0;  // bytes substituted in, over every value
  for (const auto& [key, value] : raw.entries()) {
    if (value.find('$') == std::string::npos) continue;
    sub.problems_.clear();
    std::string result = sub.run(value);
    total += result.size();
    if (total > kMaxTotalExpanded) {
      // Each value is capped at about 1 MiB, so this stops before ~65 MiB are held.
      return make_error(Errc::kConfig,
                        key +
                            ": ${...} substitution stopped: the values it produced over the "
                            "whole configuration exceed " +
                            std::to_string(kMaxTotalExpanded >> 20) + " MiB");
    }
    if (unresolved) {
      for (const auto& p : sub.problems_) unresolved->push_back(key + ": " + p);
    }
    // Flume trims every value after resolving it (FlumeConfiguration.addRawProperty).
    std::string trimmed(java_trim(result));
    if (trimmed != value) props.set(key, std::move(trimmed));
  }
  return {};
}

}  // namespace ingestor
