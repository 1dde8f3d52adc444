#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace ingestor::cli {
namespace {

using ::testing::HasSubstr;

// Parses `--n VALUE` into `out` through `v`: "" when accepted, else CLI11's message (which main()
// prints before it exits 2).
template <typename T>
std::string parse(T& out, const CLI::Validator& v, const std::string& value) {
  CLI::App app;
  app.add_option("--n", out)->transform(v);
  std::vector<std::string> args{value, "--n"};  // CLI11 takes them last first
  try {
    app.parse(args);
  } catch (const CLI::ValidationError& e) {
    return e.what();
  }
  return {};
}

TEST(WholeNumberTest, TakesTheBoundsAndTheConfigurationsSyntax) {
  size_t n = 0;
  EXPECT_EQ(parse(n, whole_number(1, kMaxThreads), "1"), "");
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(parse(n, whole_number(1, kMaxThreads), "256"), "");
  EXPECT_EQ(n, 256u);
  EXPECT_EQ(parse(n, whole_number(1, kMaxThreads), " +8 "), "");
  EXPECT_EQ(n, 8u);
  // Decimal, not CLI11's base 0 (which reads "010" as 8).
  EXPECT_EQ(parse(n, whole_number(1, kMaxThreads), "010"), "");
  EXPECT_EQ(n, 10u);
}

TEST(WholeNumberTest, RefusesWhatIsOutOfRangeOrNotAWholeNumberNamingTheFlagAndTheRange) {
  for (const std::string bad :
       {"0", "257", "-3", "-1", "abc", "4.5", "", "0x10", "1e2", "18446744073709551617"}) {
    size_t n = 7;
    EXPECT_EQ(parse(n, whole_number(1, kMaxThreads), bad),
              "--n: expected a whole number from 1 to 256, got '" + bad + "'");
    EXPECT_EQ(n, 7u) << bad;  // untouched: "-1" is not 2^64 - 1
  }
}

TEST(WholeNumberTest, UnitsAndOpenRanges) {
  int64_t ms = 0;
  EXPECT_EQ(parse(ms, whole_number(1, kMaxDelayMs, "milliseconds"), "86400000"), "");
  EXPECT_EQ(ms, 86'400'000);
  EXPECT_EQ(parse(ms, whole_number(1, kMaxDelayMs, "milliseconds"), "86400001"),
            "--n: expected a whole number of milliseconds from 1 to 86400000, got '86400001'");
  uint64_t bytes = 0;
  EXPECT_EQ(parse(bytes, whole_number(0, kNoMax, "bytes"), "9223372036854775807"), "");
  EXPECT_EQ(bytes, uint64_t{9223372036854775807u});
  EXPECT_EQ(parse(bytes, whole_number(0, kNoMax, "bytes"), "-1"),
            "--n: expected a whole number of bytes, 0 or more, got '-1'");
  // A range that stops at the type's end: no value wraps into an int.
  int attempts = 0;
  EXPECT_EQ(parse(attempts, whole_number(1, std::numeric_limits<int>::max()), "2147483647"), "");
  EXPECT_EQ(attempts, std::numeric_limits<int>::max());
  EXPECT_EQ(parse(attempts, whole_number(1, std::numeric_limits<int>::max()), "2147483648"),
            "--n: expected a whole number from 1 to 2147483647, got '2147483648'");
}

TEST(WholeNumberTest, HelpShowsTheRange) {
  CLI::App app;
  size_t n = 0;
  int64_t b = 0;
  app.add_option("--workers", n)->transform(whole_number(1, kMaxThreads));
  app.add_option("--bytes", b)->transform(whole_number(0, kNoMax, "bytes"));
  EXPECT_THAT(app.help(), HasSubstr("1..256"));
  EXPECT_THAT(app.help(), HasSubstr(">= 0"));
}

TEST(ListenAddressTest, TakesHostAndPortFrom0To65535) {
  for (const std::string good : {"127.0.0.1:0", "127.0.0.1:65535", "[::1]:9000", ":9200"}) {
    std::string l;
    CLI::App app;
    app.add_option("--listen", l)->check(listen_address());
    std::vector<std::string> args{good, "--listen"};
    EXPECT_NO_THROW(app.parse(args)) << good;
    EXPECT_EQ(l, good);
  }
  for (const std::string bad :
       {"localhost", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:90x", "127.0.0.1:", ""}) {
    std::string l;
    CLI::App app;
    app.add_option("--listen", l)->check(listen_address());
    std::vector<std::string> args{bad, "--listen"};
    try {
      app.parse(args);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const CLI::ValidationError& e) {
      EXPECT_EQ(std::string(e.what()),
                "--listen: expected HOST:PORT with a port from 0 to 65535, got '" + bad + "'");
    }
  }
}

}  // namespace
}  // namespace ingestor::cli
