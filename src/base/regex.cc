#include "base/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <fmt/format.h>
#include <pcre2.h>

#include <array>
#include <cstring>

#include "base/charset.h"

namespace ingestor {

namespace {

// Java's POSIX-named classes (java.util.regex.Pattern, "POSIX character classes (US-ASCII
// only)") and the PCRE2 POSIX class each maps to.
struct PosixName {
  const char* java;
  const char* pcre;
};
constexpr std::array<PosixName, 13> kPosix{{{"Lower", "lower"},
                                            {"Upper", "upper"},
                                            {"ASCII", "ascii"},
                                            {"Alpha", "alpha"},
                                            {"Digit", "digit"},
                                            {"Alnum", "alnum"},
                                            {"Punct", "punct"},
                                            {"Graph", "graph"},
                                            {"Print", "print"},
                                            {"Blank", "blank"},
                                            {"Cntrl", "cntrl"},
                                            {"XDigit", "xdigit"},
                                            {"Space", "space"}}};

const char* posix_of(std::string_view java) {
  for (const auto& p : kPosix)
    if (java == p.java) return p.pcre;
  return nullptr;
}

// The per-thread scratch every match uses: match data large enough for the regex, and a JIT
// stack big enough for patterns with deep backtracking.
struct Scratch {
  pcre2_match_data* data = nullptr;
  uint32_t pairs = 0;
  pcre2_match_context* ctx = nullptr;
  pcre2_jit_stack* stack = nullptr;
  Scratch() {
    ctx = pcre2_match_context_create(nullptr);
    stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, nullptr);
    if (ctx && stack) pcre2_jit_stack_assign(ctx, nullptr, stack);
  }
  ~Scratch() {
    if (data) pcre2_match_data_free(data);
    if (stack) pcre2_jit_stack_free(stack);
    if (ctx) pcre2_match_context_free(ctx);
  }
  pcre2_match_data* for_pairs(uint32_t n) {
    if (n > pairs) {
      if (data) pcre2_match_data_free(data);
      pairs = std::max<uint32_t>(n, 16);
      data = pcre2_match_data_create(pairs, nullptr);
    }
    return data;
  }
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

struct Codes {
  pcre2_code* find = nullptr;
  pcre2_code* whole = nullptr;  // anchored at both ends: matches()
  // Compiled to machine code: matched through pcre2_jit_match, PCRE2's documented fast path
  // that skips pcre2_match's option checks (a measurable share of a 100-byte match).
  bool find_jit = false, whole_jit = false;
};

size_t utf8_len_at(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
  if (i + n > s.size()) return 1;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
  return n;
}

}  // namespace

std::string java_regex_to_pcre2(std::string_view in) {
  std::string out;
  out.reserve(in.size() + 8);
  int class_depth = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '\\' && i + 1 < in.size()) {
      char n = in[i + 1];
      if (n == 'Q') {  // \Q...\E is literal: copy it untouched
        size_t end = in.find("\\E", i + 2);
        size_t stop = end == std::string_view::npos ? in.size() : end + 2;
        out.append(in.substr(i, stop - i));
        i = stop - 1;
        continue;
      }
      if ((n == 'p' || n == 'P') && i + 2 < in.size() && in[i + 2] == '{') {
        size_t close = in.find('}', i + 3);
        if (close != std::string_view::npos) {
          std::string_view name = in.substr(i + 3, close - (i + 3));
          bool neg = n == 'P';
          if (name.starts_with("java")) {
            // Character.isLowerCase & co: Unicode categories.
            const char* cat = name == "javaLowerCase"    ? "Ll"
                              : name == "javaUpperCase"  ? "Lu"
                              : name == "javaWhitespace" ? "Zs"
                              : name == "javaLetter"     ? "L"
                              : name == "javaDigit"      ? "Nd"
                                                         : nullptr;
            if (cat) {
              out += fmt::format("\\{}{{{}}}", neg ? 'P' : 'p', cat);
              i = close;
              continue;
            }
          }
          if (const char* px = posix_of(name)) {
            if (class_depth > 0)
              out += fmt::format("[:{}{}:]", neg ? "^" : "", px);
            else
              out += fmt::format("[{}[:{}:]]", neg ? "^" : "", px);
            i = close;
            continue;
          }
          // Java's "IsLatin" / "IsL" prefixes for scripts and categories.
          if (name.starts_with("Is") && name.size() > 2) {
            out += fmt::format("\\{}{{{}}}", n, name.substr(2));
            i = close;
            continue;
          }
        }
      }
      out += c;
      out += n;
      ++i;
      continue;
    }
    if (c == '[') {
      // A POSIX bracket like [:alpha:] inside a class is copied as is.
      if (class_depth > 0 && i + 1 < in.size() && in[i + 1] == ':') {
        size_t close = in.find(":]", i + 2);
        if (close != std::string_view::npos) {
          out.append(in.substr(i, close + 2 - i));
          i = close + 1;
          continue;
        }
      }
      ++class_depth;
      out += c;
      // A ']' right after '[' or '[^' is a literal member.
      if (i + 1 < in.size() && in[i + 1] == '^') {
        out += '^';
        ++i;
      }
      if (i + 1 < in.size() && in[i + 1] == ']') {
        out += ']';
        ++i;
      }
      continue;
    }
    if (c == ']' && class_depth > 0) --class_depth;
    out += c;
  }
  return out;
}

Result<Regex> Regex::compile(std::string_view pattern, std::string_view what, Options opts) {
  std::string translated = java_regex_to_pcre2(pattern);
  pcre2_compile_context* cc = pcre2_compile_context_create(nullptr);
  // Java's '.' and '$' know every line terminator, not only '\n'.
  pcre2_set_newline(cc, PCRE2_NEWLINE_ANY);
  uint32_t base = PCRE2_UTF;
  if (opts.case_insensitive) base |= PCRE2_CASELESS;
  Codes codes;
  auto build = [&](uint32_t extra, pcre2_code** out, bool* jit) -> Status {
    int err = 0;
    PCRE2_SIZE off = 0;
    uint32_t flags = base | extra;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()),
                                     translated.size(), flags, &err, &off, cc);
    if (!code) {
      // A pattern that is not valid UTF-8 is compiled byte-wise.
      if (err <= PCRE2_ERROR_UTF8_ERR1 && err >= PCRE2_ERROR_UTF8_ERR21) {
        flags &= ~PCRE2_UTF;
        code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                             flags, &err, &off, cc);
      }
    }
    if (!code) {
      std::array<PCRE2_UCHAR, 256> buf{};
      pcre2_get_error_message(err, buf.data(), buf.size());
      return make_error(Errc::kConfig,
                        fmt::format("{}: invalid regular expression '{}': {} at offset {}", what,
                                    pattern, reinterpret_cast<const char*>(buf.data()), off));
    }
    // Falls back to the interpreter if JIT compilation fails.
    *jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    *out = code;
    return {};
  };
  Status s = build(0, &codes.find, &codes.find_jit);
  if (s) s = build(PCRE2_ANCHORED | PCRE2_ENDANCHORED, &codes.whole, &codes.whole_jit);
  pcre2_compile_context_free(cc);
  if (!s) {
    if (codes.find) pcre2_code_free(codes.find);
    return s.error();
  }
  Regex r;
  r.pattern_ = std::string(pattern);
  r.code_ = new Codes(codes);
  uint32_t n = 0;
  pcre2_pattern_info(codes.find, PCRE2_INFO_CAPTURECOUNT, &n);
  r.groups_ = n;
  uint32_t all = 0;
  pcre2_pattern_info(codes.find, PCRE2_INFO_ALLOPTIONS, &all);
  r.utf_ = (all & PCRE2_UTF) != 0;
  return r;
}

Regex::Regex(Regex&& o) noexcept
    : pattern_(std::move(o.pattern_)),
      code_(std::exchange(o.code_, nullptr)),
      groups_(o.groups_),
      utf_(o.utf_) {}

Regex& Regex::operator=(Regex&& o) noexcept {
  if (this != &o) {
    this->~Regex();
    new (this) Regex(std::move(o));
  }
  return *this;
}

Regex::~Regex() {
  if (auto* c = static_cast<Codes*>(code_)) {
    pcre2_code_free(c->find);
    pcre2_code_free(c->whole);
    delete c;
  }
}

int Regex::group_number(std::string_view name) const {
  std::string n(name);
  int r = pcre2_substring_number_from_name(static_cast<Codes*>(code_)->find,
                                           reinterpret_cast<PCRE2_SPTR>(n.c_str()));
  return r < 0 ? -1 : r;
}

int Regex::match(std::string_view subject, size_t start, unsigned options,
                 const size_t** ov) const {
  auto* codes = static_cast<Codes*>(code_);
  const bool whole = (options & PCRE2_ENDANCHORED) != 0;
  pcre2_code* code = whole ? codes->whole : codes->find;
  Scratch& s = scratch();
  pcre2_match_data* md = s.for_pairs(static_cast<uint32_t>(groups_ + 1));
  const auto* text = reinterpret_cast<PCRE2_SPTR>(subject.data());
  options &= ~(PCRE2_ENDANCHORED | PCRE2_ANCHORED);
  // Subjects reach here valid (prepare()), so PCRE2's own UTF check is skipped (the JIT path
  // never makes it).
  int rc = (whole ? codes->whole_jit : codes->find_jit)
               ? pcre2_jit_match(code, text, subject.size(), start, options, md, s.ctx)
               : pcre2_match(code, text, subject.size(), start, options | PCRE2_NO_UTF_CHECK, md,
                             s.ctx);
  if (rc <= 0) return 0;  // no match, or a limit hit: Java would not find it either
  *ov = pcre2_get_ovector_pointer(md);
  return rc;
}

std::string_view Regex::prepare(std::string_view subject) const {
  if (!utf_ || is_valid_utf8(subject)) return subject;
  thread_local std::string text;
  text = decode_to_utf8(subject, Charset::kUtf8);
  return text;
}

bool Regex::matches(std::string_view subject) const {
  subject = prepare(subject);
  const size_t* ov = nullptr;
  return match(subject, 0, PCRE2_ANCHORED | PCRE2_ENDANCHORED, &ov) > 0;
}

bool Regex::find(std::string_view subject) const {
  subject = prepare(subject);
  const size_t* ov = nullptr;
  return match(subject, 0, 0, &ov) > 0;
}

bool Regex::find(std::string_view subject, std::vector<Group>& groups) const {
  subject = prepare(subject);
  const size_t* ov = nullptr;
  int rc = match(subject, 0, 0, &ov);
  if (rc <= 0) return false;
  groups.assign(groups_ + 1, std::nullopt);
  for (size_t g = 0; g <= groups_ && g < static_cast<size_t>(rc); ++g) {
    if (ov[2 * g] == PCRE2_UNSET) continue;
    groups[g] = subject.substr(ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
  }
  return true;
}

Result<Regex::Replacement> Regex::parse_replacement(std::string_view rep,
                                                    std::string_view what) const {
  Replacement r;
  std::string lit;
  auto flush = [&] {
    if (!lit.empty()) r.parts.push_back({std::move(lit), -1});
    lit.clear();
  };
  for (size_t i = 0; i < rep.size(); ++i) {
    char c = rep[i];
    if (c == '\\') {
      if (i + 1 >= rep.size())
        return make_error(
            Errc::kConfig,
            fmt::format("{}: character to be escaped is missing at the end of '{}'", what, rep));
      lit += rep[++i];
      continue;
    }
    if (c != '$') {
      lit += c;
      continue;
    }
    if (i + 1 >= rep.size())
      return make_error(
          Errc::kConfig,
          fmt::format("{}: illegal group reference: '$' at the end of '{}'", what, rep));
    int group = -1;
    if (rep[i + 1] == '{') {
      size_t close = rep.find('}', i + 2);
      if (close == std::string_view::npos)
        return make_error(
            Errc::kConfig,
            fmt::format("{}: named group reference '${{' is not closed in '{}'", what, rep));
      std::string_view name = rep.substr(i + 2, close - i - 2);
      group = group_number(name);
      if (group < 0)
        return make_error(Errc::kConfig, fmt::format("{}: no group named '{}' in the pattern '{}'",
                                                     what, name, pattern_));
      i = close;
    } else {
      char d = rep[i + 1];
      if (d < '0' || d > '9')
        return make_error(Errc::kConfig,
                          fmt::format("{}: illegal group reference '${}' in '{}' (write \\$ for a "
                                      "literal dollar sign)",
                                      what, d, rep));
      group = d - '0';
      if (static_cast<size_t>(group) > groups_)
        return make_error(Errc::kConfig,
                          fmt::format("{}: no group {} in the pattern '{}', which has {}", what,
                                      group, pattern_, groups_));
      i += 1;
      // Java takes further digits while the number stays a valid group.
      while (i + 1 < rep.size() && rep[i + 1] >= '0' && rep[i + 1] <= '9') {
        int next = group * 10 + (rep[i + 1] - '0');
        if (static_cast<size_t>(next) > groups_) break;
        group = next;
        ++i;
      }
    }
    flush();
    r.parts.push_back({std::string(), group});
  }
  flush();
  return r;
}

size_t Regex::replace_all(std::string_view subject, const Replacement& r, std::string& out) const {
  subject = prepare(subject);
  size_t count = 0;
  size_t last = 0;  // end of the text already copied
  size_t pos = 0;
  while (pos <= subject.size()) {
    const size_t* ov = nullptr;
    int rc = match(subject, pos, 0, &ov);
    if (rc <= 0) break;
    size_t ms = ov[0], me = ov[1];
    out.append(subject.substr(last, ms - last));
    for (const auto& p : r.parts) {
      if (p.group < 0) {
        out += p.literal;
      } else if (p.group < rc && ov[2 * p.group] != PCRE2_UNSET) {
        out.append(subject.substr(ov[2 * p.group], ov[2 * p.group + 1] - ov[2 * p.group]));
      }
    }
    ++count;
    last = me;
    if (me == ms) {
      // An empty match: the next search starts one character further, as Java's find() does.
      if (me >= subject.size()) break;
      pos = me + utf8_len_at(subject, me);
    } else {
      pos = me;
    }
  }
  out.append(subject.substr(last));
  return count;
}

}  // namespace ingestor
