// Fuzz target `kafka_properties` (fuzz/README.md): Java Kafka client properties as a Flume user
// writes them under kafka.producer. / kafka.consumer. (one "key=value" per line), translated for
// librdkafka (kafka_properties.h) as a producer and as a consumer.
//
// Invariants:
//  - translation fails only with Errc::kConfig, and its message never holds the value of a
//    sasl.jaas.config or *password* key (secrets stay out of logs);
//  - what translates carries the user's key in `from`, and no Java-only key survives under its
//    Java name (key.serializer, sasl.jaas.config, ssl.truststore.location, max.request.size...);
//  - librdkafka's own check of the result never crashes;
//  - each value, read as kafka.topics.regex, translates to "^(...)$" that POSIX regcomp accepts,
//    or is refused with Errc::kConfig.
#include <regex.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/kafka/kafka_client.h"
#include "agent/kafka/kafka_consumer.h"
#include "agent/kafka/kafka_properties.h"
#include "base/fuzz_check.h"

using namespace ingestor;
using namespace ingestor::kafka;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::pair<std::string, std::string>> given;
  while (!in.empty() && given.size() < 64) {
    size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    given.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  for (ClientRole role : {ClientRole::kProducer, ClientRole::kConsumer}) {
    auto t = translate_java_properties(given, role, "kafka.producer.");
    if (!t) {
      INGESTOR_FUZZ_CHECK(t.error().code == Errc::kConfig);
      for (const auto& [k, v] : given)
        if ((k == "sasl.jaas.config" || k.find("password") != std::string::npos) && v.size() >= 8)
          INGESTOR_FUZZ_CHECK(t.error().message.find(v) == std::string::npos);
      continue;
    }
    for (const auto& p : t->props) {
      INGESTOR_FUZZ_CHECK(p.from.rfind("kafka.producer.", 0) == 0);
      for (std::string_view java :
           {"key.serializer", "value.deserializer", "sasl.jaas.config", "ssl.truststore.location",
            "max.request.size", "partitioner.class", "ssl.disableTLSHostnameVerification"})
        INGESTOR_FUZZ_CHECK(p.key != java);
    }
    (void)make_conf(t->props, nullptr);
  }
  for (const auto& [k, v] : given) {
    auto re = java_regex_to_posix(v);
    if (!re) {
      INGESTOR_FUZZ_CHECK(re.error().code == Errc::kConfig);
      continue;
    }
    INGESTOR_FUZZ_CHECK(re->rfind("^(", 0) == 0 && re->size() >= 4 &&
                        re->compare(re->size() - 2, 2, ")$") == 0);
    regex_t compiled;
    if (regcomp(&compiled, re->c_str(), REG_EXTENDED | REG_NOSUB) == 0) regfree(&compiled);
  }
  return 0;
}
