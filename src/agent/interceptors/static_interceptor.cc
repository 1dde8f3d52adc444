#include "agent/interceptors/static_interceptor.h"

namespace ingestor {

const ComponentSpec& static_interceptor_spec() {
  static const ComponentSpec spec{
      "interceptor",
      "static",
      "org.apache.flume.interceptor.StaticInterceptor$Builder",
      "Adds a fixed header.",
      {
          {"key", KeyType::kString, "key", false, "Header name"},
          {"value", KeyType::kString, "value", false, "Header value"},
          {"preserveExisting", KeyType::kBool, "true", false, "Keep a value already there"},
      }};
  return spec;
}

StaticInterceptor::StaticInterceptor(const Settings& s)
    : key_(s.str("key")), value_(s.str("value")), preserve_(s.boolean("preserveExisting")) {}

void StaticInterceptor::intercept(Batch& events) {
  for (Event& e : events) {
    if (preserve_) {
      e.headers.set_if_absent(key_, value_);
    } else {
      e.headers.set(key_, value_);
    }
  }
}

}  // namespace ingestor
