#pragma once
// UUIDInterceptor (Flume's `org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder`, alias
// `uuid` here): sets `headerName` (default "id") to `prefix` + a random (version 4) UUID in the
// canonical lower-case 36-character form; keeps an existing header when `preserveExisting` (default
// true). Random bits come from a per-thread generator seeded by the system's random device.

#include <string>

#include "core/config/spec.h"
#include "core/interceptor.h"

namespace ingestor {

const ComponentSpec& uuid_interceptor_spec();

// A random version-4 UUID, "b5755073-77a9-43c1-8fad-b7a586fc1b97".
std::string random_uuid();

class UuidInterceptor final : public Interceptor {
 public:
  explicit UuidInterceptor(const Settings& s);
  void intercept(Batch& events) override;

 private:
  std::string header_;
  std::string prefix_;
  bool preserve_;
};

}  // namespace ingestor
