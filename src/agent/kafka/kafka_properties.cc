#include "agent/kafka/kafka_properties.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>

#include "base/log.h"
#include "base/strings.h"

namespace ingestor::kafka {
namespace {

struct Rename {
  std::string_view java, rdkafka;
};
// Same meaning, different name (kafka.md §2 rows 7, 29, 37, 40).
constexpr Rename kRenames[] = {
    {"max.request.size", "message.max.bytes"},
    {"fetch.max.wait.ms", "fetch.wait.max.ms"},
    {"metadata.max.age.ms", "topic.metadata.refresh.interval.ms"},
    {"send.buffer.bytes", "socket.send.buffer.bytes"},
    {"receive.buffer.bytes", "socket.receive.buffer.bytes"},
};

struct Dropped {
  std::string_view java, why;
};
// Java-only keys with nothing to configure in librdkafka (kafka.md §2 rows 16, 18, 19, 27, 42).
constexpr Dropped kDropped[] = {
    {"key.serializer", "librdkafka sends keys as bytes (the key header's UTF-8)"},
    {"value.serializer", "librdkafka sends values as bytes"},
    {"key.deserializer", "librdkafka hands keys over as bytes"},
    {"value.deserializer", "librdkafka hands values over as bytes"},
    {"max.block.ms", "librdkafka never blocks a send; a full queue is a retryable error"},
    {"max.poll.records", "the component's batchSize bounds a batch"},
    {"client.dns.lookup", "not in librdkafka"},
    {"default.api.timeout.ms", "not in librdkafka"},
    {"exclude.internal.topics", "not in librdkafka"},
    {"interceptor.classes", "Java interceptors cannot run here"},
    {"ssl.protocol", "librdkafka uses OpenSSL's protocol defaults"},
    {"ssl.enabled.protocols", "librdkafka uses OpenSSL's protocol defaults"},
    {"ssl.truststore.type", "use ssl.ca.location (PEM) instead of a truststore"},
    {"ssl.truststore.password", "use ssl.ca.location (PEM) instead of a truststore"},
};

// "a, b ,c" -> {"a", "b", "c"} (Java's comma lists; empty items dropped).
std::vector<std::string_view> split_commas(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    size_t c = s.find(',');
    std::string_view item = s.substr(0, c);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front())))
      item.remove_prefix(1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back())))
      item.remove_suffix(1);
    if (!item.empty()) out.push_back(item);
    if (c == std::string_view::npos) break;
    s.remove_prefix(c + 1);
  }
  return out;
}

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && ascii_iequals(s.substr(s.size() - suffix.size()), suffix);
}

Error refuse(std::string_view prefix, std::string_view key, std::string_view what) {
  return make_error(Errc::kConfig,
                    std::string(prefix) + std::string(key) + ": " + std::string(what));
}

std::string jaas_advice(std::string_view prefix, std::string_view value) {
  const std::string p(prefix);
  if (value.find("Krb5LoginModule") != std::string_view::npos)
    return "Java JAAS configuration is not supported by librdkafka: for Kerberos set " + p +
           "sasl.mechanism = GSSAPI, " + p + "sasl.kerberos.keytab (keyTab), " + p +
           "sasl.kerberos.principal (principal) and " + p +
           "sasl.kerberos.service.name (serviceName)";
  if (value.find("OAuthBearerLoginModule") != std::string_view::npos)
    return "Java JAAS configuration is not supported by librdkafka: for OAUTHBEARER set " + p +
           "sasl.oauthbearer.config (unsecured tokens) or " + p +
           "sasl.oauthbearer.method = oidc with " + p +
           "sasl.oauthbearer.client.id, .client.secret, .scope and .token.endpoint.url";
  return "Java JAAS configuration is not supported by librdkafka: set " + p + "sasl.username and " +
         p +
         "sasl.password (the username and password of the PlainLoginModule/ScramLoginModule "
         "line) with " +
         p + "sasl.mechanism = PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512";
}

// Java class names of partition.assignment.strategy -> librdkafka names.
Result<std::string> assignment_strategy(std::string_view prefix, std::string_view value) {
  std::string out;
  for (std::string_view item : split_commas(value)) {
    std::string_view name =
        item.substr(item.rfind('.') == std::string_view::npos ? 0 : item.rfind('.') + 1);
    std::string_view mapped;
    if (ascii_iequals(name, "RangeAssignor") || ascii_iequals(name, "range"))
      mapped = "range";
    else if (ascii_iequals(name, "RoundRobinAssignor") || ascii_iequals(name, "roundrobin"))
      mapped = "roundrobin";
    else if (ascii_iequals(name, "CooperativeStickyAssignor") || ascii_iequals(name, "cooperative-sticky"))
      mapped = "cooperative-sticky";
    else
      return refuse(prefix, "partition.assignment.strategy",
                    "'" + log::escape(item) +
                        "' has no librdkafka equivalent; use range, "
                        "roundrobin or cooperative-sticky");
    if (!out.empty()) out += ',';
    out += mapped;
  }
  return out;
}

Result<std::string> partitioner(std::string_view prefix, std::string_view value) {
  std::string_view name =
      value.substr(value.rfind('.') == std::string_view::npos ? 0 : value.rfind('.') + 1);
  if (ascii_iequals(name, "DefaultPartitioner")) return std::string("murmur2_random");
  if (ascii_iequals(name, "UniformStickyPartitioner")) return std::string("random");
  return refuse(prefix, "partitioner.class",
                "Java partitioner '" + log::escape(value) + "' cannot run here; use " +
                    std::string(prefix) +
                    "partitioner = murmur2_random (the Java default), murmur2, consistent_random, "
                    "consistent, random, fnv1a or fnv1a_random");
}

}  // namespace

Result<TranslatedProperties> translate_java_properties(
    const std::vector<std::pair<std::string, std::string>>& given, ClientRole role,
    std::string_view prefix) {
  TranslatedProperties out;
  const std::string p(prefix);
  std::string protocol;
  for (const auto& [k, v] : given)
    if (k == "security.protocol") protocol = v;
  const bool tls = ascii_iequals(protocol, "SSL") || ascii_iequals(protocol, "SASL_SSL");

  for (const auto& [key, value] : given) {
    const std::string from = p + key;
    auto add = [&](std::string k, std::string v) {
      out.props.push_back({std::move(k), std::move(v), from});
    };
    if (auto r = std::find_if(std::begin(kRenames), std::end(kRenames),
                              [&](const Rename& x) { return x.java == key; });
        r != std::end(kRenames)) {
      add(std::string(r->rdkafka), value);
      continue;
    }
    if (auto d = std::find_if(std::begin(kDropped), std::end(kDropped),
                              [&](const Dropped& x) { return x.java == key; });
        d != std::end(kDropped)) {
      out.warnings.push_back(from + " is ignored: " + std::string(d->why));
      continue;
    }
    if (key == "sasl.jaas.config") return refuse(prefix, key, jaas_advice(prefix, value));
    if (key == "ssl.truststore.location")
      return refuse(prefix, key,
                    "Java truststores are not supported by librdkafka; set " + p +
                        "ssl.ca.location to a PEM file (or directory) of the CA certificates, or " +
                        p + "ssl.ca.pem to the PEM text");
    if ((key == "ssl.keystore.type" && ascii_iequals(value, "JKS")) ||
        (key == "ssl.keystore.location" && ends_with_ci(value, ".jks")))
      return refuse(prefix, key,
                    "JKS keystores are not supported by librdkafka; convert it to PKCS#12 "
                    "(keytool -importkeystore -srckeystore x.jks -destkeystore x.p12 "
                    "-deststoretype PKCS12) for " +
                        p + "ssl.keystore.location, or use " + p + "ssl.certificate.location and " +
                        p + "ssl.key.location (PEM)");
    if (key == "ssl.keystore.type") {  // PKCS12: what librdkafka reads anyway
      out.warnings.push_back(from + " is ignored: librdkafka reads PKCS#12 keystores");
      continue;
    }
    if (key == "ssl.disableTLSHostnameVerification") {  // Flume's own key (FLUME-3315)
      if (tls && ascii_iequals(value, "true")) add("ssl.endpoint.identification.algorithm", "none");
      continue;
    }
    if (key == "ssl.endpoint.identification.algorithm" && value.empty()) {
      add(key, "none");
      continue;
    }
    if (key == "buffer.memory") {
      int64_t bytes = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), bytes);
      if (ec != std::errc() || ptr != value.data() + value.size() || bytes <= 0)
        return refuse(prefix, key, "expected a number of bytes, got '" + log::escape(value) + "'");
      add("queue.buffering.max.kbytes", std::to_string(std::max<int64_t>(1, bytes / 1024)));
      continue;
    }
    if (key == "request.timeout.ms" && role == ClientRole::kConsumer) {
      add("socket.timeout.ms", value);  // the Java consumer's client-side request timeout
      continue;
    }
    if (key == "auto.offset.reset" && ascii_iequals(value, "none")) {
      add(key, "error");  // librdkafka's name for "fail when there is no committed offset"
      continue;
    }
    if (key == "partition.assignment.strategy") {
      auto s = assignment_strategy(prefix, value);
      if (!s) return s.error();
      add(key, *s);
      continue;
    }
    if (key == "partitioner.class") {
      auto s = partitioner(prefix, value);
      if (!s) return s.error();
      add("partitioner", *s);
      continue;
    }
    add(key, value);
  }
  return out;
}

void set_default(std::vector<ClientProperty>& props, std::string key, std::string value) {
  if (find(props, key)) return;
  props.insert(props.begin(), {std::move(key), std::move(value), {}});
}

void force(std::vector<ClientProperty>& props, std::string key, std::string value) {
  std::erase_if(props, [&](const ClientProperty& c) { return c.key == key; });
  props.push_back({std::move(key), std::move(value), {}});
}

const std::string* find(const std::vector<ClientProperty>& props, std::string_view key) {
  for (auto it = props.rbegin(); it != props.rend(); ++it)
    if (it->key == key) return &it->value;
  return nullptr;
}

}  // namespace ingestor::kafka
