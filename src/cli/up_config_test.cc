#include "cli/up_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace ingestor::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Properties props(std::vector<std::pair<std::string, std::string>> kv) {
  Properties p;
  for (auto& [k, v] : kv) p.set(k, v);
  return p;
}

// The errors of one configuration (the warnings must be none).
std::vector<std::string> errors_of(std::vector<std::pair<std::string, std::string>> kv) {
  UpConfigProblems problems;
  parse_up_config(props(std::move(kv)), problems);
  EXPECT_THAT(problems.warnings, IsEmpty());
  return problems.errors;
}

TEST(UpConfigTest, DefaultsWhenNothingIsSet) {
  UpConfigProblems problems;
  const UpConfig c = parse_up_config(Properties{}, problems);
  EXPECT_THAT(problems.errors, IsEmpty());
  EXPECT_THAT(problems.warnings, IsEmpty());
  EXPECT_EQ(c.store_listen.host, "127.0.0.1");
  EXPECT_EQ(c.store_listen.port, 9000);
  EXPECT_EQ(c.relay_listen.port, 9100);
  EXPECT_EQ(c.consumer_listen.port, 9200);
  EXPECT_EQ(c.store_bucket, "ingestor");
  EXPECT_EQ(c.store_region, "us-east-1");
  // No fixed keys: `up` generates them (cli/up_credentials.h).
  EXPECT_EQ(c.store_access_key, "");
  EXPECT_EQ(c.store_secret_key, "");
  EXPECT_FALSE(c.store_min_free_space.has_value());  // the store's own default applies
  EXPECT_EQ(c.relay_secret, "");
  EXPECT_EQ(c.consumer_workers, 4u);
  EXPECT_EQ(c.monitoring_port, 41414);
}

TEST(UpConfigTest, ValuesGivenAreRead) {
  UpConfigProblems problems;
  const UpConfig c = parse_up_config(props({{"store.listen", "[::1]:0"},
                                            {"store.minFreeSpace", "1152921504606846976"},
                                            {"relay.secret", "s3cret"},
                                            {"consumer.workers", " +8 "},
                                            {"monitoring.port", "0"}}),
                                     problems);
  EXPECT_THAT(problems.errors, IsEmpty());
  EXPECT_EQ(c.store_listen.host, "::1");
  EXPECT_EQ(c.store_listen.port, 0);
  EXPECT_EQ(c.store_min_free_space, 1ull << 60);
  EXPECT_EQ(c.relay_secret, "s3cret");
  EXPECT_EQ(c.consumer_workers, 8u);
  EXPECT_EQ(c.monitoring_port, 0);
  // An empty value means the default, as before these keys were validated.
  EXPECT_EQ(parse_up_config(props({{"consumer.workers", ""}}), problems).consumer_workers, 4u);
  EXPECT_EQ(*parse_up_config(props({{"store.minFreeSpace", "0"}}), problems).store_min_free_space,
            0u);
  EXPECT_THAT(problems.errors, IsEmpty());
}

TEST(UpConfigTest, BadNumbersNameTheKeyTheValueAndTheRange) {
  EXPECT_THAT(errors_of({{"consumer.workers", "abc"}}),
              ElementsAre("consumer.workers = \"abc\": expected a whole number from 1 to 256"));
  EXPECT_THAT(errors_of({{"consumer.workers", "0"}}),
              ElementsAre("consumer.workers = \"0\": expected a whole number from 1 to 256"));
  EXPECT_THAT(errors_of({{"consumer.workers", "257"}}),
              ElementsAre("consumer.workers = \"257\": expected a whole number from 1 to 256"));
  EXPECT_THAT(errors_of({{"consumer.workers", "4.5"}}),
              ElementsAre("consumer.workers = \"4.5\": expected a whole number from 1 to 256"));
  EXPECT_THAT(errors_of({{"monitoring.port", "99999"}}),
              ElementsAre("monitoring.port = \"99999\": expected a whole number from 0 to 65535"));
  EXPECT_THAT(errors_of({{"monitoring.port", "-1"}}),
              ElementsAre("monitoring.port = \"-1\": expected a whole number from 0 to 65535"));
  EXPECT_THAT(errors_of({{"store.minFreeSpace", "64MB"}}),
              ElementsAre("store.minFreeSpace = \"64MB\": expected a whole number of bytes, 0 or "
                          "more"));
  EXPECT_THAT(errors_of({{"store.minFreeSpace", "-1"}}),
              ElementsAre("store.minFreeSpace = \"-1\": expected a whole number of bytes, 0 or "
                          "more"));
  // Past 64 bits: refused, not wrapped.
  EXPECT_THAT(errors_of({{"store.minFreeSpace", "18446744073709551616"}}),
              ElementsAre("store.minFreeSpace = \"18446744073709551616\": expected a whole number "
                          "of bytes, 0 or more"));
}

TEST(UpConfigTest, BadListenAddressesNameTheKey) {
  EXPECT_THAT(
      errors_of({{"relay.listen", "localhost"}}),
      ElementsAre("relay.listen = \"localhost\": expected HOST:PORT with a port from 0 to 65535"));
  EXPECT_THAT(errors_of({{"store.listen", "127.0.0.1:70000"}}),
              ElementsAre("store.listen = \"127.0.0.1:70000\": expected HOST:PORT with a port "
                          "from 0 to 65535"));
}

TEST(UpConfigTest, EveryErrorIsReportedNotOnlyTheFirst) {
  EXPECT_EQ(errors_of({{"consumer.workers", "x"}, {"monitoring.port", "y"}, {"store.listen", "z"}})
                .size(),
            3u);
}

TEST(UpConfigTest, UnknownKeysUnderOurPrefixesWarnWithTheKnownKeys) {
  UpConfigProblems problems;
  const UpConfig c = parse_up_config(props({{"consumer.worker", "8"},
                                            {"store.minFreeSpce", "0"},
                                            {"store.endpoint", "http://x"},
                                            {"monitoring.prot", "0"},
                                            {"agent.sources", "r1"},
                                            {"pipeline.dataDir", "/d"},
                                            {"plain", "1"}}),
                                     problems);
  EXPECT_THAT(problems.errors, IsEmpty());
  EXPECT_THAT(problems.warnings,
              ElementsAre("unknown key consumer.worker (ignored); the consumer.* keys are: "
                          "consumer.listen, consumer.workers",
                          "unknown key store.minFreeSpce (ignored); the store.* keys are: "
                          "store.listen, store.region, store.bucket, store.accessKey, "
                          "store.secretKey, store.minFreeSpace",
                          "unknown key monitoring.prot (ignored); the monitoring.* keys are: "
                          "monitoring.port"));
  EXPECT_EQ(c.consumer_workers, 4u);  // the misspelt key changed nothing
  EXPECT_FALSE(c.store_min_free_space.has_value());
}

TEST(UpConfigTest, TheTableListsEachKeyOnceWithADefaultThatParses) {
  std::vector<std::string_view> seen;
  for (const UpKey& k : up_keys()) {
    EXPECT_THAT(seen, ::testing::Not(::testing::Contains(k.key)));
    seen.push_back(k.key);
    EXPECT_FALSE(k.help.empty()) << k.key;
  }
  // Every default, given explicitly, reads back without an error.
  Properties p;
  for (const UpKey& k : up_keys())
    if (!k.default_value.empty()) p.set(std::string(k.key), std::string(k.default_value));
  UpConfigProblems problems;
  parse_up_config(p, problems);
  EXPECT_THAT(problems.errors, IsEmpty());
  EXPECT_THAT(problems.warnings, IsEmpty());
}

}  // namespace
}  // namespace ingestor::cli
