#include "agent/kafka/kafka_client.h"

#include <netdb.h>
#include <sys/socket.h>

#include <charconv>

#include "base/log.h"

namespace ingestor::kafka {
namespace {

// librdkafka's syslog levels -> ours. Messages carry broker names and broker error strings:
// escaped.
void log_cb(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  auto* component = static_cast<const std::string*>(rd_kafka_opaque(rk));
  const std::string who = component ? *component : std::string(rd_kafka_name(rk));
  const std::string msg = log::escape(buf);
  if (level <= 3)
    log::error("{}: librdkafka {}: {}", who, fac, msg);
  else if (level == 4)
    log::warn("{}: librdkafka {}: {}", who, fac, msg);
  else if (level <= 6)
    log::info("{}: librdkafka {}: {}", who, fac, msg);
  else
    log::debug("{}: librdkafka {}: {}", who, fac, msg);
}

// Errors librdkafka reports outside a request (all brokers down, fatal idempotence errors).
// Transport errors repeat while a broker is down: at most one line a second per process.
void error_cb(rd_kafka_t* rk, int err, const char* reason, void*) {
  static log::Throttle throttle;
  auto* component = static_cast<const std::string*>(rd_kafka_opaque(rk));
  const std::string who = component ? *component : std::string(rd_kafka_name(rk));
  const bool fatal = err == RD_KAFKA_RESP_ERR__FATAL;
  if (!fatal && !throttle.allow()) return;
  if (fatal) {
    char why[512];
    rd_kafka_fatal_error(rk, why, sizeof why);
    log::error("{}: fatal Kafka client error: {}", who, log::escape(why));
  } else {
    log::warn("{}: Kafka: {} ({})", who, log::escape(reason ? reason : ""),
              rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
  }
}

}  // namespace

Result<ConfPtr> make_conf(const std::vector<ClientProperty>& props, const std::string* component) {
  ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  for (const auto& p : props) {
    if (rd_kafka_conf_set(conf.get(), p.key.c_str(), p.value.c_str(), err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
      std::string who = p.from.empty() ? p.key : p.from;
      return make_error(Errc::kConfig, who + ": " + err);
    }
  }
  rd_kafka_conf_set_log_cb(conf.get(), log_cb);
  rd_kafka_conf_set_error_cb(conf.get(), error_cb);
  rd_kafka_conf_set_opaque(conf.get(), const_cast<std::string*>(component));
  return conf;
}

Result<HandlePtr> make_handle(rd_kafka_type_t type, ConfPtr conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof err);
  if (!rk) return make_error(Errc::kConfig, std::string("Kafka client: ") + err);
  conf.release();  // owned by the handle now
  return HandlePtr(rk);
}

Status check_client(const std::vector<ClientProperty>& props, rd_kafka_type_t type) {
  static const std::string kCheck = "kafka configuration check";
  auto conf = make_conf(props, &kCheck);
  if (!conf) return conf.error();
  // Nothing connects before the first request; a consumer without group.id is still a valid
  // handle. Quiet: this handle only checks the properties.
  char err[512];
  rd_kafka_conf_set((*conf).get(), "log_level", "0", err, sizeof err);
  auto h = make_handle(type, std::move(*conf));
  if (!h) return h.error();
  return {};
}

std::string partition_key(std::string_view topic, int32_t partition) {
  return std::to_string(partition) + "@" + std::string(topic);
}

bool parse_partition_key(std::string_view key, std::string& topic, int32_t& partition) {
  size_t at = key.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= key.size()) return false;
  auto [ptr, ec] = std::from_chars(key.data(), key.data() + at, partition);
  if (ec != std::errc() || ptr != key.data() + at || partition < 0) return false;
  topic = std::string(key.substr(at + 1));
  return true;
}

Status check_bootstrap_resolves(std::string_view servers) {
  std::string last;
  size_t start = 0;
  while (start <= servers.size()) {
    size_t comma = servers.find(',', start);
    std::string_view item = servers.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    start = comma == std::string_view::npos ? servers.size() + 1 : comma + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    // Optional "PLAINTEXT://" style prefix, then host:port ([v6]:port).
    if (auto s = item.find("://"); s != std::string_view::npos) item.remove_prefix(s + 3);
    std::string host(item), port = "9092";
    if (!item.empty() && item.front() == '[') {
      size_t close = item.find(']');
      host = std::string(item.substr(1, close == std::string_view::npos ? item.npos : close - 1));
      if (close != std::string_view::npos && close + 2 <= item.size() && item[close + 1] == ':')
        port = std::string(item.substr(close + 2));
    } else if (size_t c = item.rfind(':'); c != std::string_view::npos) {
      host = std::string(item.substr(0, c));
      port = std::string(item.substr(c + 1));
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
    if (res) freeaddrinfo(res);
    if (rc == 0) return {};
    last = host + ": " + gai_strerror(rc);
  }
  return make_error(Errc::kUnavailable, "no bootstrap server resolves (" + log::escape(last) + ")");
}

}  // namespace ingestor::kafka
