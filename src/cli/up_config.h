#pragma once
// The keys `ingestor up` reads beside its agent section: `store.*`, `relay.*`, `consumer.*` and
// `monitoring.port` (conf/pipeline.properties shows each one). up_keys() is the one list of them,
// with their kind, default, range and meaning; parse_up_config() validates a configuration
// against it. Pure: no files, no sockets, no environment.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/properties.h"

namespace ingestor::cli {

struct UpKey {
  enum class Kind {
    kText,      // any string
    kListen,    // HOST:PORT, port 0..65535 (0: any free port)
    kNumber,    // a whole number from min to max (Long.parseLong's syntax)
    kInternal,  // set by `up` itself (store.endpoint): known, never read from the file
  };
  std::string_view key;  // "consumer.workers"
  Kind kind = Kind::kText;
  std::string_view default_value;  // as text; an empty value in the file means this default
  int64_t min = 0, max = 0;        // kNumber
  std::string_view unit;           // kNumber, for messages: "bytes" (may be empty)
  std::string_view help;
};

// Every key, grouped by prefix in the order conf/pipeline.properties shows them.
std::span<const UpKey> up_keys();

struct Listen {
  std::string host;
  uint16_t port = 0;
};

// The validated settings, each one the file's value or its key's default.
struct UpConfig {
  Listen store_listen, relay_listen, consumer_listen;
  std::string store_region, store_bucket, store_access_key, store_secret_key;
  std::optional<uint64_t> store_min_free_space;  // bytes; unset: the store's default; 0: none
  std::string relay_secret;
  std::string relay_webhook_token;  // empty: `up` makes a random one each run
  size_t consumer_workers = 0;
  uint16_t monitoring_port = 0;  // 0: any free port
};

struct UpConfigProblems {
  // One line each, naming the key, the value and what is expected:
  //   consumer.workers = "abc": expected a whole number from 1 to 256
  std::vector<std::string> errors;
  // An unknown key under store., relay., consumer. or monitoring. (ignored), with the prefix's
  // known keys:
  //   unknown key consumer.worker (ignored); the consumer.* keys are: consumer.listen, ...
  std::vector<std::string> warnings;
};

// Reads and checks every key of up_keys() in `props` (after ${...} substitution). The returned
// config is meaningful only when `problems.errors` is empty; all errors are reported, not only
// the first.
UpConfig parse_up_config(const Properties& props, UpConfigProblems& problems);

}  // namespace ingestor::cli
