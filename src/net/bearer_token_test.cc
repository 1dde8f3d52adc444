#include "net/bearer_token.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace ingestor::net {
namespace {

const std::string kToken = "0123456789abcdef-token";

TEST(BearerToken, Problems) {
  EXPECT_EQ(bearer_token_problem(kToken), "");
  EXPECT_EQ(bearer_token_problem(""), "is empty");
  EXPECT_NE(bearer_token_problem("short").find("at least 16"), std::string::npos);
  EXPECT_NE(bearer_token_problem("0123456789abcdef ghij").find("offset 16"), std::string::npos);
  EXPECT_NE(bearer_token_problem("0123456789abcdef\n").find("not visible ASCII"),
            std::string::npos);
  EXPECT_NE(bearer_token_problem(std::string(5000, 'a')).find("longer"), std::string::npos);
  EXPECT_NE(bearer_token_problem("0123456789abcdef\xc3\xa9").find("not visible ASCII"),
            std::string::npos);
}

TEST(BearerToken, Authorized) {
  std::string h = "Bearer " + kToken;
  EXPECT_TRUE(bearer_authorized(&h, kToken));
  h = "bearer  " + kToken;
  EXPECT_TRUE(bearer_authorized(&h, kToken));
  EXPECT_FALSE(bearer_authorized(nullptr, kToken));
  for (std::string bad : {std::string("Bearer"), std::string("Bearer "), "Basic " + kToken, kToken,
                          "Bearer " + kToken + "x", "Bearer " + kToken.substr(1),
                          "Bearer x" + kToken, std::string("Bearer other-token-of-16")}) {
    EXPECT_FALSE(bearer_authorized(&bad, kToken)) << bad;
  }
  h = "Bearer ";
  EXPECT_FALSE(bearer_authorized(&h, ""));  // no token configured: nothing matches
  EXPECT_EQ(bearer_authorization(kToken), "Bearer " + kToken);
}

TEST(BearerToken, NewTokensAreAcceptableAndDiffer) {
  auto a = new_bearer_token(), b = new_bearer_token();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 64u);
  EXPECT_EQ(bearer_token_problem(*a), "");
  EXPECT_NE(*a, *b);
}

TEST(BearerToken, LoadFromFileOrEnvironment) {
  char dir[] = "/tmp/bearer-token-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string file = std::string(dir) + "/token";
  std::ofstream(file) << kToken << "\n";
  ::unsetenv("BEARER_TOKEN_TEST");
  auto t = load_bearer_token("--token-file", file, "BEARER_TOKEN_TEST");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(*t, kToken);
  // Neither: no token.
  t = load_bearer_token("--token-file", "", "BEARER_TOKEN_TEST");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, "");
  // The variable, set but empty or short: refused, naming it.
  ::setenv("BEARER_TOKEN_TEST", "", 1);
  t = load_bearer_token("--token-file", "", "BEARER_TOKEN_TEST");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, Errc::kConfig);
  EXPECT_EQ(t.error().message, "BEARER_TOKEN_TEST: the token is empty");
  ::setenv("BEARER_TOKEN_TEST", (kToken + "\n").c_str(), 1);
  t = load_bearer_token("--token-file", "", "BEARER_TOKEN_TEST");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, kToken);
  // The file wins over the variable.
  ::setenv("BEARER_TOKEN_TEST", "another-token-0123456789", 1);
  t = load_bearer_token("--token-file", file, "BEARER_TOKEN_TEST");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, kToken);
  ::unsetenv("BEARER_TOKEN_TEST");
  // An empty or missing file.
  std::ofstream(file, std::ios::trunc) << "\n";
  t = load_bearer_token("--token-file", file, nullptr);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().message, "--token-file '" + file + "': the token is empty");
  t = load_bearer_token("--token-file", file + ".missing", nullptr);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("--token-file '" + file + ".missing': "), std::string::npos);
  ::unlink(file.c_str());
  ::rmdir(dir);
}

}  // namespace
}  // namespace ingestor::net
