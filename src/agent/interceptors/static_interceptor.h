#pragma once
// StaticInterceptor (`static`): sets header `key` (default "key") to `value` (default "value");
// `preserveExisting` defaults to true, as in Flume.

#include <string>

#include "core/config/spec.h"
#include "core/interceptor.h"

namespace ingestor {

const ComponentSpec& static_interceptor_spec();

class StaticInterceptor final : public Interceptor {
 public:
  explicit StaticInterceptor(const Settings& s);
  void intercept(Batch& events) override;

 private:
  std::string key_;
  std::string value_;
  bool preserve_;
};

}  // namespace ingestor
