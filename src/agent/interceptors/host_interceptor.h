#pragma once
// HostInterceptor (`host`): sets `hostHeader` (default "host") to this host's IP address
// (`useIP` true, the default) or its canonical host name; `preserveExisting` (false).
// The address is resolved once, at construction.

#include <string>

#include "core/config/spec.h"
#include "core/interceptor.h"

namespace ingestor {

const ComponentSpec& host_interceptor_spec();

// This host's name, canonical name (FQDN) and first non-loopback IPv4 address (or 127.0.0.1):
// also used by the S3 sink's %[localhost], %[FQDN] and %[IP] escapes.
struct HostFacts {
  std::string hostname;
  std::string fqdn;
  std::string ip;
};
const HostFacts& host_facts();

class HostInterceptor final : public Interceptor {
 public:
  explicit HostInterceptor(const Settings& s);
  void intercept(Batch& events) override;

 private:
  std::string header_;
  std::string value_;
  bool preserve_;
};

}  // namespace ingestor
