#pragma once
// Regex: Java-style regular expressions (java.util.regex, as Flume's configurations are written)
// on PCRE2 with its JIT. Compiled once at configuration time; matching allocates nothing after
// a thread's first match.
//
// What differs from plain PCRE2, so that patterns written for Java behave as in Flume:
// - Java's POSIX-named classes `\p{Alpha}`, `\p{Lower}`, `\p{Digit}`, `\p{Punct}`... (and \P{..})
//   are rewritten to PCRE2's POSIX classes; Unicode classes (`\p{L}`, `\p{IsLatin}`...) pass
//   through.
// - Subjects are UTF-8. One that is not valid UTF-8 is matched as the text Java would see after
//   decoding it (each malformed sequence a U+FFFD), so `.` matches there as in Flume; group views
//   then point into a per-thread copy, valid until the thread's next match, and replace_all
//   writes that text (as Flume's search_replace re-encodes the decoded body).
// - `\d`, `\w`, `\s` are ASCII, as in Java without UNICODE_CHARACTER_CLASS.
// - Replacement strings use Java's Matcher.replaceAll syntax: `$n`, `${name}`, `\x` (x literal).
//   A bad reference is a configuration error here (Flume throws at event time).
//
// Thread-safety: a compiled Regex is immutable and may be used by many threads at once; each
// thread keeps its own match data (thread_local), so no lock is taken per match.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace ingestor {

class Regex {
 public:
  struct Options {
    bool case_insensitive = false;  // Java's Pattern.CASE_INSENSITIVE
  };

  // A capture group's range in the subject; nullopt when the group did not participate.
  using Group = std::optional<std::string_view>;

  // Compiles `pattern`; on a syntax error the message names the offset and PCRE2's reason, and
  // starts with `what` (e.g. "interceptors.i1.regex").
  [[nodiscard]] static Result<Regex> compile(std::string_view pattern, std::string_view what,
                                             Options opts);
  [[nodiscard]] static Result<Regex> compile(std::string_view pattern, std::string_view what) {
    return compile(pattern, what, Options{});
  }

  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  ~Regex();

  const std::string& pattern() const noexcept { return pattern_; }
  // Number of capture groups (not counting group 0).
  size_t group_count() const noexcept { return groups_; }
  // Group number of a named group, or -1.
  int group_number(std::string_view name) const;

  // Java's matcher().matches(): the whole subject matches.
  bool matches(std::string_view subject) const;
  // Java's matcher().find(): some part matches.
  bool find(std::string_view subject) const;
  // The first find(); on a match fills `groups` with group_count()+1 entries (group 0 first).
  bool find(std::string_view subject, std::vector<Group>& groups) const;

  // A parsed Java replacement string (Matcher.replaceAll), validated against this pattern.
  class Replacement {
   public:
    struct Part {
      std::string literal;  // used when group < 0
      int group = -1;
    };
    std::vector<Part> parts;
  };
  [[nodiscard]] Result<Replacement> parse_replacement(std::string_view replacement,
                                                      std::string_view what) const;
  // Matcher.replaceAll: every non-overlapping match of `subject` replaced. Appends to `out`.
  // Returns the number of replacements.
  size_t replace_all(std::string_view subject, const Replacement& r, std::string& out) const;

 private:
  Regex() = default;
  // `subject`, or its Java-decoded per-thread copy when it is not valid UTF-8.
  std::string_view prepare(std::string_view subject) const;
  // Runs one match from `start`; returns the number of ovector pairs set, 0 on no match.
  int match(std::string_view subject, size_t start, unsigned options, const size_t** ov) const;

  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*
  size_t groups_ = 0;
  bool utf_ = true;
};

// Rewrites Java-only syntax (\p{Alpha} and friends) into PCRE2 syntax. Exposed for tests.
std::string java_regex_to_pcre2(std::string_view java);

}  // namespace ingestor
