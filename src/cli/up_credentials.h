#pragma once
// The secrets of `ingestor up`, generated on the first run instead of shipped: the store's access
// and secret key (the agent and the consumer sign with them) and the relay's shared secret. They
// live in DATA_DIR/credentials.json, mode 0600, a flat JSON object keyed by the configuration key
// each one fills:
//   {"store.accessKey": "...", "store.secretKey": "...", "relay.secret": "..."}
// and are reused by every later run on that data dir. A key set (non-empty) in the configuration
// wins over the file.
//
// Adding a secret: one row in up_generated_secrets() (up_credentials.cc) naming its configuration
// key (an up_keys() key, cli/up_config.cc, with an empty default); the next run adds the missing
// field to an existing file, and `up` reads it like any other key (UpConfig).

#include <map>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "core/config/properties.h"

namespace ingestor::cli {

struct GeneratedSecret {
  std::string_view key;     // configuration key it fills: "relay.secret"
  std::string_view prefix;  // fixed start of the value ("" for none)
  size_t random_bytes;      // of randomness, written as lowercase hex after the prefix
};

// Every secret `up` generates.
std::span<const GeneratedSecret> up_generated_secrets();

// The credentials file of a data dir: "DATA/credentials.json".
std::string credentials_path(const std::string& data_dir);

// Reads `path` (creating it, or adding what it lacks, with fresh random values; written mode 0600
// through a temporary file and a rename); a file readable by others is made 0600 again. Returns
// key -> value for every row of up_generated_secrets(). Errors name the file: "cannot read
// ingestor-data/credentials.json: ...", "ingestor-data/credentials.json: not a JSON object of
// strings".
[[nodiscard]] Result<std::map<std::string, std::string>> load_or_create_credentials(
    const std::string& path);

// Sets in `props` each generated key that the configuration leaves empty (or unset) to its value
// in `creds`; returns how many it set.
size_t apply_credentials(Properties& props, const std::map<std::string, std::string>& creds);

}  // namespace ingestor::cli
