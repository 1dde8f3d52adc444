#include "cli/up_config.h"

#include "cli/commands.h"
#include "core/config/spec.h"

namespace ingestor::cli {

namespace {

using Kind = UpKey::Kind;

// clang-format off
constexpr UpKey kKeys[] = {
    {"store.listen", Kind::kListen, "127.0.0.1:9000", 0, 0, "",
     "HOST:PORT of the S3 API (port 0: any free port)"},
    {"store.region", Kind::kText, "us-east-1", 0, 0, "", "region of the store"},
    {"store.bucket", Kind::kText, "ingestor", 0, 0, "",
     "bucket the agent writes to, created at start"},
    {"store.accessKey", Kind::kText, "", 0, 0, "",
     "access key the agent and the consumer sign with (empty: generated on the first run, kept "
     "in the data dir's credentials.json)"},
    {"store.secretKey", Kind::kText, "", 0, 0, "",
     "secret key for it (empty: generated, as the access key)"},
    {"store.minFreeSpace", Kind::kNumber, "", 0, kNoMax, "bytes",
     "refuse new data (507) when the disk would keep fewer free bytes; default the store's, "
     "64 MiB; 0: no floor"},
    {"store.endpoint", Kind::kInternal, "", 0, 0, "",
     "the store's URL once it listens, for ${store.endpoint} (set by up)"},
    {"relay.listen", Kind::kListen, "127.0.0.1:9100", 0, 0, "",
     "HOST:PORT of the relay's webhook endpoint"},
    {"relay.secret", Kind::kText, "", 0, 0, "",
     "secret the relay signs its POSTs to the consumer with (empty: generated, as the keys)"},
    {"relay.webhookToken", Kind::kText, "", 0, 0, "",
     "token the store's notifications carry to the relay (Authorization: Bearer); empty: a "
     "random one each run"},
    {"consumer.listen", Kind::kListen, "127.0.0.1:9200", 0, 0, "",
     "HOST:PORT of the consumer's endpoint"},
    {"consumer.workers", Kind::kNumber, "4", 1, kMaxThreads, "", "concurrent downloads"},
    {"monitoring.port", Kind::kNumber, "41414", 0, 65535, "",
     "port of the agent's /metrics on 127.0.0.1 (0: any free port)"},
};
// clang-format on

const UpKey* find(std::string_view key) {
  for (const auto& k : kKeys)
    if (k.key == key) return &k;
  return nullptr;
}

// "store." for "store.listen".
std::string_view prefix_of(std::string_view key) { return key.substr(0, key.find('.') + 1); }

std::string quoted(const std::string& key, const std::string& value) {
  return key + " = \"" + value + "\": ";
}

class Reader {
 public:
  Reader(const Properties& props, UpConfigProblems& problems)
      : props_(props), problems_(problems) {}

  // The file's value, else the default; an empty value counts as absent.
  std::string text(std::string_view key) const {
    const std::string* v = props_.get(key);
    return v && !v->empty() ? *v : std::string(find(key)->default_value);
  }

  Listen listen(std::string_view key) {
    Listen l;
    const std::string v = text(key);
    if (!split_listen(v, l.host, l.port)) {
      problems_.errors.push_back(quoted(std::string(key), v) + std::string(kExpectedListen));
    }
    return l;
  }

  // nullopt when the key is absent or empty and has no default, or when its value is bad (an
  // error is then reported).
  std::optional<int64_t> number(std::string_view key) {
    const UpKey& k = *find(key);
    const std::string v = text(key);
    if (v.empty()) return std::nullopt;
    auto n = parse_whole_number(v, k.min, k.max);
    if (!n)
      problems_.errors.push_back(quoted(std::string(key), v) +
                                 expected_whole_number(k.min, k.max, k.unit));
    return n;
  }

 private:
  const Properties& props_;
  UpConfigProblems& problems_;
};

}  // namespace

std::span<const UpKey> up_keys() { return kKeys; }

UpConfig parse_up_config(const Properties& props, UpConfigProblems& problems) {
  for (const auto& [key, value] : props.entries()) {
    const std::string_view prefix = prefix_of(key);
    if (prefix.empty() || find(key) != nullptr) continue;
    std::string known;
    for (const auto& k : kKeys) {
      if (prefix_of(k.key) != prefix || k.kind == Kind::kInternal) continue;
      known += (known.empty() ? "" : ", ") + std::string(k.key);
    }
    if (known.empty()) continue;  // not a prefix of ours (agent., pipeline., ...)
    problems.warnings.push_back("unknown key " + key + " (ignored); the " + std::string(prefix) +
                                "* keys are: " + known);
  }

  Reader r(props, problems);
  UpConfig c;
  c.store_listen = r.listen("store.listen");
  c.store_region = r.text("store.region");
  c.store_bucket = r.text("store.bucket");
  c.store_access_key = r.text("store.accessKey");
  c.store_secret_key = r.text("store.secretKey");
  if (auto n = r.number("store.minFreeSpace")) c.store_min_free_space = static_cast<uint64_t>(*n);
  c.relay_listen = r.listen("relay.listen");
  c.relay_secret = r.text("relay.secret");
  c.relay_webhook_token = r.text("relay.webhookToken");
  c.consumer_listen = r.listen("consumer.listen");
  c.consumer_workers = static_cast<size_t>(r.number("consumer.workers").value_or(0));
  c.monitoring_port = static_cast<uint16_t>(r.number("monitoring.port").value_or(0));
  return c;
}

}  // namespace ingestor::cli
