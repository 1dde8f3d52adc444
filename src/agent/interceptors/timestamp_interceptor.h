#pragma once
// TimestampInterceptor (`timestamp`): sets `headerName` (default "timestamp") to the current time
// in epoch milliseconds; keeps an existing value when `preserveExisting` is true (default false).
// One clock read per batch.

#include <string>

#include "core/config/spec.h"
#include "core/interceptor.h"

namespace ingestor {

const ComponentSpec& timestamp_interceptor_spec();

class TimestampInterceptor final : public Interceptor {
 public:
  explicit TimestampInterceptor(const Settings& s);
  void intercept(Batch& events) override;

 private:
  std::string header_;
  bool preserve_;
};

}  // namespace ingestor
