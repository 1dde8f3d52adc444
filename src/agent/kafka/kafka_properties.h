#pragma once
// Java Kafka client properties, as Flume users write them under `kafka.producer.` and
// `kafka.consumer.`, translated to librdkafka 2.0.2's (shared reference kafka.md §1.6 and §2).
//
// librdkafka refuses names it does not know (the Java client only warns), so every Java-only key is
// translated, dropped with a warning (nothing to configure: serializers, max.block.ms, ...), or
// refused with a message naming the librdkafka keys to use instead (JKS stores, sasl.jaas.config).
// Everything else (security.protocol, sasl.*, ssl.* with PEM/PKCS#12 files, librdkafka's own keys)
// passes through unchanged and is checked by librdkafka itself when the component is built
// (kafka_client.h: make_conf), so a typo stops the agent at start naming the key.
//
// Pure functions: no librdkafka handle is created here.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace ingestor::kafka {

enum class ClientRole { kProducer, kConsumer };

// One librdkafka property. `from` is the key as the user wrote it
// ("kafka.producer.max.request.size"), empty for a value the component sets itself, so messages can
// name the user's key.
struct ClientProperty {
  std::string key;
  std::string value;
  std::string from;
  bool operator==(const ClientProperty&) const = default;
};

struct TranslatedProperties {
  std::vector<ClientProperty> props;  // in the order given (later ones win in librdkafka)
  std::vector<std::string> warnings;  // one line each, to log once at configure time
};

// Translates `given` (key -> value with the prefix removed, e.g. {"acks", "all"}) for a producer
// or a consumer. `prefix` ("kafka.producer.") is used in messages and in ClientProperty::from.
// Values are never copied into messages for keys that hold secrets (sasl.jaas.config, *password*).
// Errors (Errc::kConfig) name the key and the librdkafka replacement.
[[nodiscard]] Result<TranslatedProperties> translate_java_properties(
    const std::vector<std::pair<std::string, std::string>>& given, ClientRole role,
    std::string_view prefix);

// Sets `key` to `value` in `props` unless the user gave it (a component default, e.g. the sink's
// partitioner), appended at the front so a user's value still wins.
void set_default(std::vector<ClientProperty>& props, std::string key, std::string value);
// Sets `key` to `value`, replacing any value the user gave (what Flume forces: bootstrap.servers,
// group.id, enable.auto.commit=false).
void force(std::vector<ClientProperty>& props, std::string key, std::string value);
// The value of `key` (the last one given), or nullptr.
const std::string* find(const std::vector<ClientProperty>& props, std::string_view key);

}  // namespace ingestor::kafka
