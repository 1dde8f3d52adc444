#pragma once
// Invariant checks for fuzz targets (`*_fuzz.cc`, see fuzz/README.md). A failed check prints what
// failed and aborts, which both libFuzzer and the regression replay (fuzz/replay_main.cc) report
// as a crash with the input that caused it. Unlike assert(), the check stays in release builds:
// the replay runs in the normal RelWithDebInfo build.
//
// Only for fuzz targets: production code reports bad input with Result, never by aborting.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace ingestor::fuzz {

[[noreturn]] inline void check_failed(const char* what, const char* file, int line,
                                      const std::string& detail = {}) {
  std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s%s%s\n", file, line, what,
               detail.empty() ? "" : ": ", detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// Inputs that carry a short parameter before the payload: the text up to the first '\n' (empty
// when there is none) is returned and removed from `in`.
inline std::string_view take_first_line(std::string_view& in) {
  const size_t nl = in.find('\n');
  if (nl == std::string_view::npos) return {};
  std::string_view line = in.substr(0, nl);
  in.remove_prefix(nl + 1);
  return line;
}

}  // namespace ingestor::fuzz

// INGESTOR_FUZZ_CHECK(cond) or INGESTOR_FUZZ_CHECK(cond, detail): `detail` is a std::string
// expression evaluated only when the check fails.
#define INGESTOR_FUZZ_CHECK(cond, ...)                                                      \
  do {                                                                                      \
    if (!(cond))                                                                            \
      ::ingestor::fuzz::check_failed(#cond, __FILE__, __LINE__ __VA_OPT__(, ) __VA_ARGS__); \
  } while (0)
